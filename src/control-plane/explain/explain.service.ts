import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../config/config.types';
import {
  GatewayError,
  invalidApiKey,
  missingApiKey,
  routeNotAllowed,
  tenantDisabled,
  tenantNotFound,
} from '../../errors/gateway-error';
import { JwtVerifier } from '../../policy/steps/jwt/jwt-verifier';
import { bodyLimitOf } from '../../policy/body-limit';
import { forwardRefusal } from '../../policy/forward-refusal';
import { jwtRequirement } from '../../policy/steps/route/jwt-rule';
import { normalizePath } from '../../policy/steps/path/path-normalizer';
import { matchRoute } from '../../policy/steps/route/route-matcher';
import { upstreamPrefix } from '../../policy/upstream-url';
import { denialOf, RateLimiter } from '../../policy/steps/rate-limit/rate-limiter';
import type { ServedTenant } from '../../tenants/tenant.repository';
import { TenantResolver } from '../../tenants/tenant-resolver';
import type { ExplainRequest } from './explain-request';

export type ExplainStep = { step: string; ok: boolean } & Record<string, unknown>;

/** The answer of POST /admin/explain (SPEC §6.1). */
export interface Explanation {
  decision: 'allow' | 'deny';
  /** 200 when the request would be proxied (the upstream then answers), else the gateway's own status. */
  status: number;
  code: string | null;
  steps: ExplainStep[];
  /** Where the request would go, once the tenant and path are known. */
  upstreamUrl?: string;
}

/** Carries a denial out of a step: the step's entry is already recorded. */
class Denied extends Error {
  constructor(readonly error: GatewayError) {
    super(error.code);
  }
}

/** Records a step's denial and stops the explanation there. */
type Deny = (step: string, error: GatewayError, extra?: Record<string, unknown>) => never;

/** Runs a step's check: a GatewayError it throws (e.g. 503 state_unavailable) is the data plane's answer too. */
async function orDeny<T>(step: string, check: () => T | Promise<T>, deny: Deny, extra?: Record<string, unknown>): Promise<T> {
  try {
    return await check();
  } catch (err) {
    if (err instanceof GatewayError) deny(step, err, extra);
    throw err;
  }
}

/**
 * What the data plane would decide for a request, step by step, with the very functions its guards
 * use (path normalizer, tenant resolver, route matcher, JWT verifier, rate limiter), in the same
 * order and stopping at the same first denial. It never calls the upstream and never takes a token
 * (the bucket is only looked at). The API key and the token are inputs only: no step echoes them.
 */
@Injectable()
export class ExplainService {
  constructor(
    @Inject(TenantResolver) private readonly resolver: TenantResolver,
    @Inject(JwtVerifier) private readonly jwt: JwtVerifier,
    @Inject(RateLimiter) private readonly limiter: RateLimiter,
    @Inject(GATEWAY_CONFIG) private readonly config: Pick<GatewayConfig, 'maxBodyBytes'>,
  ) {}

  async explain(input: ExplainRequest): Promise<Explanation> {
    const steps: ExplainStep[] = [];
    const answer: Explanation = { decision: 'allow', status: 200, code: null, steps };
    try {
      await this.run(input, answer);
    } catch (err) {
      if (!(err instanceof Denied)) throw err;
      answer.decision = 'deny';
      answer.status = err.error.status;
      answer.code = err.error.code;
    }
    return answer;
  }

  private async run(input: ExplainRequest, answer: Explanation): Promise<void> {
    const { steps } = answer;
    const deny: Deny = (step, error, extra = {}) => {
      steps.push({ step, ok: false, code: error.code, detail: error.detail, ...extra });
      throw new Denied(error);
    };

    // 1. Path (SPEC §5.1).
    const q = input.path.indexOf('?');
    const rawPath = q === -1 ? input.path : input.path.slice(0, q);
    const query = q === -1 ? '' : input.path.slice(q);
    const path = await orDeny('path', () => normalizePath(rawPath), deny);
    steps.push({ step: 'path', ok: true, normalized: path });

    // 2. API key -> tenant (or the tenant named directly).
    const served = await this.tenantStep(input, steps, deny);
    const tenant = served.tenant;
    const base = new URL(tenant.upstreamBaseUrl);
    const forwardPath = upstreamPrefix(base) + path;
    answer.upstreamUrl = base.origin + forwardPath + query;

    // 3. Route.
    const match = matchRoute(served.routes, path, input.method);
    if (match.route === null || !match.methodAllowed) {
      deny('route', routeNotAllowed(input.method, path), match.route === null ? {} : { route: match.route.path, methodAllowed: false });
    }
    const route = match.route;
    const requirement = jwtRequirement(tenant, route);
    steps.push({ step: 'route', ok: true, route: route.path, methods: route.methods ?? null, jwtRequired: requirement.required, jwtSource: requirement.source });

    // 4. JWT, when the route requires one.
    if (requirement.required) {
      const verified = await orDeny('jwt', () => this.jwt.verify(tenant, input.headers.authorization), deny, { required: true });
      steps.push({ step: 'jwt', ok: true, required: true, subject: verified.subject ?? null });
    } else {
      steps.push({ step: 'jwt', ok: true, required: false });
    }

    // 5. Rate limit: a look at the bucket, never a take.
    const level = await this.limiter.peek(tenant);
    const levelFields = {
      limit: level.limit,
      remaining: level.remaining,
      resetSeconds: level.resetSeconds,
      ...(level.storeFailed && { storeAnswered: false }),
    };
    const refused = denialOf(level);
    if (refused !== null) deny('rate_limit', refused, { ...levelFields, retryAfterSeconds: level.retryAfterSeconds });
    steps.push({ step: 'rate_limit', ok: true, ...levelFields });

    // 6. Proxy: a declared body over the limit is refused first, then only a path that reaches the
    // upstream unchanged is forwarded (a body that grows past the limit while streaming cannot be known here).
    const refusal = forwardRefusal(bodyLimitOf(tenant, this.config.maxBodyBytes), input.headers['content-length'], forwardPath);
    if (refusal !== null) deny('proxy', refusal);
    steps.push({ step: 'proxy', ok: true, upstreamUrl: answer.upstreamUrl });
  }

  private async tenantStep(
    input: ExplainRequest,
    steps: ExplainStep[],
    deny: Deny,
  ): Promise<ServedTenant> {
    let served: ServedTenant | null;
    if (input.tenantId !== undefined) {
      // Naming a tenant that does not exist is a mistake in the question, not a data-plane decision.
      served = await orDeny('api_key', () => this.resolver.resolveTenant(input.tenantId!), deny);
      if (served === null) throw tenantNotFound(input.tenantId);
    } else {
      if (input.apiKey === undefined || input.apiKey === '') deny('api_key', missingApiKey());
      served = await orDeny('api_key', () => this.resolver.resolveApiKey(input.apiKey!), deny);
      if (served === null) deny('api_key', invalidApiKey());
    }
    const tenant = served.tenant;
    if (tenant.disabled === true) deny('api_key', tenantDisabled(), { tenantId: tenant.id });
    steps.push({ step: 'api_key', ok: true, tenantId: tenant.id, ...(input.tenantId !== undefined && { keyChecked: false }) });
    return served;
  }
}
