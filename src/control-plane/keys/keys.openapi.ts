import { CreatedKeySchema, KeyCreateSchema, KeyListSchema, KeyMetadataSchema, KeyPatchSchema } from '../../tenants/key.schema';
import { component, type Operation } from '../openapi/operation';

const KeyCreate = component('KeyCreate', KeyCreateSchema.meta({
  description: 'Leave the body out for a generated key that never expires. sha256 registers an existing key by its hash instead; expiresAt must be in the future.',
}));
const CreatedKey = component('CreatedKey', CreatedKeySchema);
const KeyList = component('KeyList', KeyListSchema);
const KeyMetadata = component('KeyMetadata', KeyMetadataSchema);
const KeyPatch = component('KeyPatch', KeyPatchSchema.meta({ description: 'Absent fields are left as they are; null clears name, rateLimit or expiresAt.' }));

export const KEY_OPERATIONS: readonly Operation[] = [
  {
    method: 'post',
    path: '/admin/tenants/{id}/keys',
    operationId: 'createKey',
    tag: 'keys',
    summary: 'Create an API key, or register an existing one by its SHA-256',
    params: { id: 'The tenant id.' },
    body: { component: KeyCreate, required: false },
    responses: { 201: { description: 'Created; apiKey is shown only here', body: CreatedKey } },
    errors: ['invalid_request', 'tenant_not_found', 'key_exists'],
    usesStore: true,
  },
  {
    method: 'get',
    path: '/admin/tenants/{id}/keys',
    operationId: 'listKeys',
    tag: 'keys',
    summary: "A tenant's keys, by their metadata (never the keys or their hashes)",
    params: { id: 'The tenant id.' },
    responses: { 200: { description: 'The keys', body: KeyList } },
    errors: ['tenant_not_found'],
    usesStore: true,
  },
  {
    method: 'patch',
    path: '/admin/tenants/{id}/keys/{keyId}',
    operationId: 'updateKey',
    tag: 'keys',
    summary: "Rename a key, set or clear its own rate limit or expiry, suspend or re-enable it",
    params: { id: 'The tenant id.', keyId: 'The key id.' },
    body: { component: KeyPatch },
    responses: { 200: { description: 'The key as it now is', body: KeyMetadata } },
    errors: ['invalid_request', 'tenant_not_found', 'key_not_found'],
    usesStore: true,
  },
  {
    method: 'delete',
    path: '/admin/tenants/{id}/keys/{keyId}',
    operationId: 'revokeKey',
    tag: 'keys',
    summary: 'Revoke a key: it stops working on every replica within a second',
    params: { id: 'The tenant id.', keyId: 'The key id.' },
    responses: { 204: { description: 'Revoked' } },
    errors: ['tenant_not_found', 'key_not_found'],
    usesStore: true,
  },
];
