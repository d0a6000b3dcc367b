import { CreatedTokenSchema, TokenCreateSchema, TokenListSchema } from '../../tenants/key.schema';
import { component, type Operation } from '../openapi/operation';

const TokenCreate = component('TokenCreate', TokenCreateSchema.meta({ description: 'role is admin or viewer; expiresAt must be in the future.' }));
const CreatedToken = component('CreatedToken', CreatedTokenSchema);
const TokenList = component('TokenList', TokenListSchema);

export const TOKEN_OPERATIONS: readonly Operation[] = [
  {
    method: 'post',
    path: '/admin/tenants/{id}/tokens',
    operationId: 'createToken',
    tag: 'tokens',
    summary: 'Issue an admin token scoped to the tenant (operator only)',
    params: { id: 'The tenant id.' },
    body: { component: TokenCreate },
    responses: { 201: { description: 'Issued; token is shown only here', body: CreatedToken } },
    errors: ['invalid_request', 'tenant_not_found'],
    usesStore: true,
  },
  {
    method: 'get',
    path: '/admin/tenants/{id}/tokens',
    operationId: 'listTokens',
    tag: 'tokens',
    summary: "The tenant's admin tokens, by their metadata (never the tokens or their hashes)",
    params: { id: 'The tenant id.' },
    responses: { 200: { description: 'The tokens', body: TokenList } },
    errors: ['tenant_not_found'],
    usesStore: true,
  },
  {
    method: 'delete',
    path: '/admin/tenants/{id}/tokens/{tokenId}',
    operationId: 'revokeToken',
    tag: 'tokens',
    summary: 'Revoke a token: it stops working on every replica at once (operator only)',
    params: { id: 'The tenant id.', tokenId: 'The token id.' },
    responses: { 204: { description: 'Revoked' } },
    errors: ['tenant_not_found', 'token_not_found'],
    usesStore: true,
  },
];
