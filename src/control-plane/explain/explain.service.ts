import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../config/config.types';
import { GatewayError, invalidApiKey, tenantNotFound } from '../../errors/gateway-error';
import { bodyLimitOf } from '../../policy/body-limit';
import type { Decision } from '../../policy/decision';
import { forwardRefusal } from '../../policy/forward-refusal';
import { PolicyPipeline } from '../../policy/pipeline';
import { requestRefusal } from '../../policy/request-refusal';
import { upstreamPrefix } from '../../policy/upstream-url';
import type { Tenant } from '../../tenants/tenant.model';
import type { ExplainRequest } from './explain-request';
import type { Explanation, ExplainStep } from './explanation.schema';

/**
 * Naming a tenant that does not exist is a mistake in the question (404), not a decision the data
 * plane could take; every other GatewayError a step throws is that step's refusal.
 */
function isRefusal(err: unknown): err is GatewayError {
  return err instanceof GatewayError && err.code !== 'tenant_not_found';
}

/**
 * What the data plane would decide for a request: the same policy pipeline, step by step, in peek
 * mode (the bucket is looked at, never taken from), stopping at the same first refusal, then the
 * proxy's own refusals. It never calls the upstream. The API key and the token are inputs only: no
 * step shows them.
 */
@Injectable()
export class ExplainService {
  constructor(
    @Inject(PolicyPipeline) private readonly pipeline: PolicyPipeline,
    @Inject(GATEWAY_CONFIG) private readonly config: Pick<GatewayConfig, 'maxBodyBytes'>,
  ) {}

  /**
   * `scope`: the tenant a tenant-scoped token holds (SPEC §12). Another tenant named by id does not
   * exist for it (404), and another tenant's API key answers as an unknown key would.
   */
  async explain(input: ExplainRequest, scope: string | null = null): Promise<Explanation> {
    const steps: ExplainStep[] = [];
    const answer: Explanation = { decision: 'allow', status: 200, code: null, steps };
    if (scope !== null && input.tenantId !== undefined && input.tenantId !== scope) throw tenantNotFound(input.tenantId);
    const decision = decisionOf(input);
    // What the edge refuses before any step (SPEC §18): shown as a `request` step, only when it refuses.
    const host = decision.headers.host;
    const early = requestRefusal(decision.method, typeof host === 'string' ? ['host', host] : []);
    if (early !== null) {
      steps.push({ step: 'request', ok: false, code: early.code, detail: early.detail });
      return refused(answer, early);
    }
    for (const step of this.pipeline.steps) {
      try {
        await step.run(decision, 'peek');
        if (outOfScope(decision, scope)) throw invalidApiKey();
      } catch (err) {
        if (!isRefusal(err)) throw err;
        if (outOfScope(decision, scope)) {
          steps.push({ step: step.name, ok: false, code: 'invalid_api_key', detail: invalidApiKey().detail });
          return refused(answer, invalidApiKey());
        }
        steps.push({ step: step.name, ok: false, code: err.code, detail: err.detail, ...step.showsRefusal?.(decision, err) });
        return refused(answer, err);
      }
      steps.push({ step: step.name, ok: true, ...step.shows(decision) });
      if (answer.upstreamUrl === undefined && decision.tenant !== undefined) answer.upstreamUrl = upstreamUrlOf(decision.tenant, decision).href;
    }

    // The proxy: a declared body over the limit is refused first, then only a path that reaches the
    // upstream unchanged is forwarded (a body that grows past the limit while streaming cannot be known here).
    const tenant = decision.tenant!;
    const { forwardPath } = upstreamUrlOf(tenant, decision);
    const contentLength = decision.headers['content-length'];
    const refusal = forwardRefusal(bodyLimitOf(tenant, this.config.maxBodyBytes), typeof contentLength === 'string' ? contentLength : undefined, forwardPath);
    if (refusal !== null) {
      steps.push({ step: 'proxy', ok: false, code: refusal.code, detail: refusal.detail });
      return refused(answer, refusal);
    }
    steps.push({ step: 'proxy', ok: true, upstreamUrl: answer.upstreamUrl });
    return answer;
  }
}

/** The key resolved to a tenant the asking token does not hold. */
function outOfScope(decision: Decision, scope: string | null): boolean {
  return scope !== null && decision.tenantId !== undefined && decision.tenantId !== scope;
}

/** The question as the data plane would see the request: the key arrives as its header. */
function decisionOf(input: ExplainRequest): Decision {
  const headers: Record<string, string> = { ...input.headers };
  delete headers['x-api-key'];
  if (input.apiKey !== undefined) headers['x-api-key'] = input.apiKey;
  return {
    method: input.method,
    target: '/api' + input.path,
    headers,
    ...(input.tenantId !== undefined && { namedTenantId: input.tenantId }),
  };
}

/** The path the proxy would send (the upstream's prefix + the normalized path), and the whole URL. */
function upstreamUrlOf(tenant: Tenant, decision: Decision): { forwardPath: string; href: string } {
  const base = new URL(tenant.upstreamBaseUrl);
  const forwardPath = upstreamPrefix(base) + decision.path!;
  return { forwardPath, href: base.origin + forwardPath + decision.query! };
}

function refused(answer: Explanation, error: GatewayError): Explanation {
  answer.decision = 'deny';
  answer.status = error.status;
  answer.code = error.code;
  return answer;
}
