import * as z from 'zod';
import { ValidationIssueSchema } from '../../errors/problem.schema';
import { tenantSchema } from '../../tenants/tenant.schema';
import { component, type Operation } from '../openapi/operation';

/** The tenant as stored and answered; the same schema validates the bodies of POST and PUT. */
const TenantSchema = tenantSchema({ jwksAllowHttp: false }).meta({
  description:
    'A tenant. Unknown fields are refused. jwksUri must be https: unless its host is loopback or the gateway runs with JWKS_ALLOW_HTTP=true.',
});

export const Tenant = component('Tenant', TenantSchema);

/** PUT may leave `id` out: the URL names the tenant. */
const TenantReplacement = component('TenantReplacement', TenantSchema, (schema) => ({
  ...schema,
  required: (schema.required as string[]).filter((field) => field !== 'id'),
  description: 'A tenant; `id` may be left out (the URL names it) and must equal the URL\'s when given.',
}));

const TenantListing = component(
  'TenantListing',
  z.strictObject({
    tenants: z.array(TenantSchema),
    invalidTenants: z
      .array(z.strictObject({ id: z.string(), errors: z.array(ValidationIssueSchema) }))
      .meta({ description: 'Stored tenants that fail validation (written by hand): never served, listed to be fixed.' }),
  }),
);

/** RFC 7396: any members of a tenant; null removes one. The result is validated as a whole tenant. */
const TenantPatch = component(
  'TenantPatch',
  z.record(z.string(), z.unknown()).meta({
    description: 'An RFC 7396 merge patch of the tenant: members to set, null to remove one (back to its default). The patched tenant is validated as a whole; id cannot change.',
  }),
);

const ID = { id: 'The tenant id.' };

export const TENANT_OPERATIONS: readonly Operation[] = [
  {
    method: 'get',
    path: '/admin/tenants',
    operationId: 'listTenants',
    tag: 'tenants',
    summary: 'Every tenant, those written straight into the store included',
    responses: { 200: { description: 'The tenants', body: TenantListing } },
    usesStore: true,
  },
  {
    method: 'post',
    path: '/admin/tenants',
    operationId: 'createTenant',
    tag: 'tenants',
    summary: 'Create a tenant',
    body: { component: Tenant },
    responses: { 201: { description: 'Created; the tenant as stored (normalised)', body: Tenant } },
    errors: ['invalid_tenant', 'tenant_exists'],
    usesStore: true,
  },
  {
    method: 'get',
    path: '/admin/tenants/{id}',
    operationId: 'getTenant',
    tag: 'tenants',
    summary: 'One tenant',
    params: ID,
    responses: { 200: { description: 'The tenant', body: Tenant } },
    errors: ['tenant_not_found', 'tenant_misconfigured'],
    usesStore: true,
  },
  {
    method: 'put',
    path: '/admin/tenants/{id}',
    operationId: 'replaceTenant',
    tag: 'tenants',
    summary: 'Replace a tenant, or create it',
    params: ID,
    body: { component: TenantReplacement },
    responses: {
      200: { description: 'Replaced', body: Tenant },
      201: { description: 'Created', body: Tenant },
    },
    errors: ['invalid_tenant'],
    usesStore: true,
  },
  {
    method: 'patch',
    path: '/admin/tenants/{id}',
    operationId: 'patchTenant',
    tag: 'tenants',
    summary: 'Change some fields of a tenant (merge patch)',
    params: ID,
    body: { component: TenantPatch, contentTypes: ['application/merge-patch+json', 'application/json'] },
    responses: { 200: { description: 'The tenant as it now is', body: Tenant } },
    errors: ['invalid_tenant', 'tenant_not_found'],
    usesStore: true,
  },
  {
    method: 'delete',
    path: '/admin/tenants/{id}',
    operationId: 'deleteTenant',
    tag: 'tenants',
    summary: 'Delete a tenant, its key mappings and its rate-limit bucket',
    params: ID,
    responses: { 204: { description: 'Deleted' } },
    errors: ['tenant_not_found'],
    usesStore: true,
  },
];
