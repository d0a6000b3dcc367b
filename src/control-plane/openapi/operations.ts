import * as z from 'zod';
import { ProblemSchema, ValidationIssueSchema } from '../../errors/problem.schema';
import { AuditEntrySchema } from '../audit/audit-entry.schema';
import { EXPLAIN_OPERATIONS } from '../explain/explain.openapi';
import { HEALTH_OPERATIONS } from '../health/health.openapi';
import { KEY_OPERATIONS } from '../keys/keys.openapi';
import { METRICS_OPERATIONS } from '../metrics/metrics.openapi';
import { ROUTE_OPERATIONS } from '../routes/routes.openapi';
import { TENANT_OPERATIONS } from '../tenants/tenants.openapi';
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

/** Every route of the control plane, one entry each, declared beside its controller. */
export const OPERATIONS: readonly Operation[] = [
  ...TENANT_OPERATIONS,
  ...KEY_OPERATIONS,
  ...ROUTE_OPERATIONS,
  ...EXPLAIN_OPERATIONS,
  ...HEALTH_OPERATIONS,
  ...METRICS_OPERATIONS,
  ...OPENAPI_OPERATIONS,
];

/** Always in the document: the problem shape every error follows, and the audit entry. */
const ALWAYS = [component('Problem', ProblemSchema), component('ValidationIssue', ValidationIssueSchema), component('AuditEntry', AuditEntrySchema)];

const INFO: DocumentInfo = {
  title: 'Secure API Gateway control plane',
  version: '1.0.0',
  description:
    'Tenants, API keys, explain, health and metrics of the gateway. Every route but /healthz and /readyz needs the X-Admin-Token header. ' +
    'Bodies are JSON (at most 1 MiB); every error is RFC 9457 problem JSON with a stable `code`.',
  tags: [
    { name: 'tenants', description: 'Tenants: upstream, allowed routes, JWT settings, rate limit' },
    { name: 'keys', description: "A tenant's API keys (stored as their SHA-256 only)" },
    { name: 'routes', description: 'What every tenant allows' },
    { name: 'explain', description: 'Why a request would be allowed or denied' },
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
