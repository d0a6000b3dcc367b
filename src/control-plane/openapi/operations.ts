import * as z from 'zod';
import { ProblemSchema, ValidationIssueSchema } from '../../errors/problem.schema';
import { ADMIN_RIGHTS, type AdminRouteKey } from '../admin-auth/admin-rights';
import { AUDIT_OPERATIONS } from '../audit/audit.openapi';
import { EXPLAIN_OPERATIONS } from '../explain/explain.openapi';
import { HEALTH_OPERATIONS } from '../health/health.openapi';
import { KEY_OPERATIONS } from '../keys/keys.openapi';
import { METRICS_OPERATIONS } from '../metrics/metrics.openapi';
import { ROUTE_OPERATIONS } from '../routes/routes.openapi';
import { TENANT_OPERATIONS } from '../tenants/tenants.openapi';
import { TOKEN_OPERATIONS } from '../tokens/tokens.openapi';
import { buildOpenApiDocument, type DocumentInfo } from './openapi.document';
import { component, type JsonObject, type Operation } from './operation';

const OpenApiDocument = component(
  'OpenApiDocument',
  z.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) }),
);

const OPENAPI_OPERATIONS: readonly Operation[] = [
  {
    method: 'get',
    path: '/admin/openapi.json',
    operationId: 'openApiDocument',
    tag: 'openapi',
    summary: 'This document',
    responses: { 200: { description: 'The OpenAPI 3.1 description of the control plane', body: OpenApiDocument } },
  },
];

/**
 * A route that some role of tenant-scoped token may not use answers such a token 403 forbidden
 * (SPEC §12): documented from ADMIN_RIGHTS, the table the guard decides with.
 */
function withRights(op: Operation): Operation {
  if (op.auth === 'none') return op;
  const route = `${op.method.toUpperCase()} ${op.path.replace(/\{(\w+)\}/g, ':$1')}` as AdminRouteKey;
  const roles = ADMIN_RIGHTS[route] as readonly string[] | undefined;
  if (roles === undefined) throw new Error(`${route} has no row in ADMIN_RIGHTS`);
  return roles.length === 2 ? op : { ...op, errors: [...(op.errors ?? []), 'forbidden'] };
}

/** Every route of the control plane, one entry each, declared beside its controller. */
export const OPERATIONS: readonly Operation[] = ([
  ...TENANT_OPERATIONS,
  ...KEY_OPERATIONS,
  ...TOKEN_OPERATIONS,
  ...ROUTE_OPERATIONS,
  ...EXPLAIN_OPERATIONS,
  ...AUDIT_OPERATIONS,
  ...HEALTH_OPERATIONS,
  ...METRICS_OPERATIONS,
  ...OPENAPI_OPERATIONS,
] as const).map(withRights);

/** Always in the document: the problem shape every error follows. */
const ALWAYS = [component('Problem', ProblemSchema), component('ValidationIssue', ValidationIssueSchema)];

const INFO: DocumentInfo = {
  title: 'Secure API Gateway control plane',
  version: '1.0.0',
  description:
    'Tenants, API keys, tenant-scoped tokens, explain, audit, health and metrics of the gateway. Every route but /healthz and /readyz needs the X-Admin-Token header. ' +
    'Bodies are JSON (at most 1 MiB); every error is RFC 9457 problem JSON with a stable `code`.',
  tags: [
    { name: 'tenants', description: 'Tenants: upstream, allowed routes, JWT settings, rate limit' },
    { name: 'keys', description: "A tenant's API keys (stored as their SHA-256 only)" },
    { name: 'tokens', description: "Admin tokens scoped to one tenant, role admin or viewer" },
    { name: 'routes', description: 'What every tenant allows' },
    { name: 'explain', description: 'Why a request would be allowed or denied' },
    { name: 'audit', description: 'The tamper-evident log of every control-plane mutation' },
    { name: 'health', description: 'Liveness, readiness and the control plane health' },
    { name: 'metrics', description: 'Prometheus metrics' },
    { name: 'openapi', description: 'This description' },
  ],
};

let built: JsonObject | undefined;

/** The document, built once per process. */
export function openApiDocument(): JsonObject {
  return (built ??= buildOpenApiDocument(OPERATIONS, ALWAYS, INFO));
}

/** The document as committed in docs/openapi.json: two-space JSON and a final newline. */
export function openApiText(): string {
  return JSON.stringify(openApiDocument(), null, 2) + '\n';
}
