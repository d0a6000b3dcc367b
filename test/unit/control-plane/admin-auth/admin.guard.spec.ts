import type { IncomingMessage } from 'node:http';
import { Reflector } from '@nestjs/core';
import type { ExecutionContext } from '@nestjs/common';
import { AdminAuthenticator } from '../../../../src/control-plane/admin-auth/admin-authenticator';
import { ADMIN_RIGHTS, ADMIN_ROUTE, type AdminRouteKey } from '../../../../src/control-plane/admin-auth/admin-rights';
import { AdminGuard, authorize } from '../../../../src/control-plane/admin-auth/admin.guard';
import type { Principal } from '../../../../src/control-plane/admin-auth/principal';
import { loadConfig } from '../../../../src/config/config.loader';
import { MemoryStore } from '../../../../src/store/memory/memory.store';
import { hashApiKey } from '../../../../src/tenants/api-key';
import { fakeHttpContext, fakeRequest } from '../../../support/fake-execution-context';
import { gatewayErrorOf } from '../../../support/gateway-error';

const TOKEN = 'admin-token-0123456789abcdef';
const SAT = 'sat_viewer-token-of-acme-0123456789';
const store = new MemoryStore();
const authenticator = new AdminAuthenticator(loadConfig({ ADMIN_TOKEN: TOKEN }), store);

beforeAll(async () => {
  await store.addToken({ tokenId: 'tok_1', tenantId: 'acme', hash: hashApiKey(SAT), role: 'viewer', name: null, createdAt: new Date().toISOString(), expiresAt: null });
});

/** A guard whose handler names `route`, for a request carrying `token` and URL parameter `id`. */
function run(token: string | string[] | undefined, route: AdminRouteKey | undefined, id?: string): Promise<boolean> {
  const reflector = new Reflector();
  const handler = () => undefined;
  if (route !== undefined) Reflect.defineMetadata(ADMIN_ROUTE, route, handler);
  const req = { ...fakeRequest({ originalUrl: '/admin/x', headers: token === undefined ? {} : { 'x-admin-token': token } }), params: id === undefined ? {} : { id } };
  const context = { ...fakeHttpContext(req), getHandler: () => handler } as unknown as ExecutionContext;
  return new AdminGuard(authenticator, reflector).canActivate(context);
}

describe('AdminGuard', () => {
  it('passes the operator token on any route, even one that names no route', async () => {
    await expect(run(TOKEN, 'DELETE /admin/tenants/:id', 'globex')).resolves.toBe(true);
    await expect(run(TOKEN, undefined)).resolves.toBe(true);
  });

  it.each([
    ['no X-Admin-Token', undefined],
    ['an empty token', ''],
    ['a wrong token of the same length', TOKEN.slice(0, -1) + 'X'],
    ['a token with the right prefix, longer', `${TOKEN}0`],
    ['a prefix of the token', TOKEN.slice(0, -1)],
    ['the token in another case', TOKEN.toUpperCase()],
    ['the token with surrounding spaces', ` ${TOKEN} `],
    ['a repeated header (an array), even of the right token', [TOKEN, TOKEN]],
    ['an unknown sat_ token', 'sat_unknown-0123456789'],
  ])('answers 401 invalid_admin_token for %s', async (_label, token) => {
    const err = await gatewayErrorOf(() => run(token, 'GET /admin/tenants'));
    expect([err.status, err.code]).toEqual([401, 'invalid_admin_token']);
  });

  it("lets a tenant token use its role's routes for its own tenant only", async () => {
    await expect(run(SAT, 'GET /admin/tenants/:id', 'acme')).resolves.toBe(true);
    expect((await gatewayErrorOf(() => run(SAT, 'GET /admin/tenants/:id', 'globex'))).code).toBe('tenant_not_found');
    expect((await gatewayErrorOf(() => run(SAT, 'POST /admin/tenants/:id/keys', 'acme'))).code).toBe('forbidden');
    expect((await gatewayErrorOf(() => run(SAT, 'POST /admin/tenants/:id/keys', 'globex'))).code).toBe('forbidden');
    // A handler that names no route is the operator's only: closed by default.
    expect((await gatewayErrorOf(() => run(SAT, undefined))).code).toBe('forbidden');
  });

  it('authenticator: an expired tenant token is nobody', async () => {
    const expired = 'sat_expired-token-0123456789';
    await store.addToken({ tokenId: 'tok_2', tenantId: 'acme', hash: hashApiKey(expired), role: 'admin', name: null, createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() - 1000).toISOString() });
    await expect(authenticator.authenticate(fakeRequest({ headers: { 'x-admin-token': expired } }) as unknown as IncomingMessage)).resolves.toBeNull();
  });

  it('refuses to be built without a resolved token', () => {
    const unresolved = loadConfig({});
    expect(() => new AdminAuthenticator(unresolved, store)).toThrow(/ADMIN_TOKEN/);
  });
});

describe('ADMIN_RIGHTS (SPEC §12)', () => {
  const viewer = ['GET /admin/tenants/:id', 'GET /admin/tenants/:id/keys', 'GET /admin/routes', 'GET /admin/tenants', 'POST /admin/explain', 'GET /admin/audit', 'GET /admin/openapi.json'];
  const admin = [...viewer, 'POST /admin/tenants/:id/keys', 'PATCH /admin/tenants/:id/keys/:keyId', 'DELETE /admin/tenants/:id/keys/:keyId', 'GET /admin/tenants/:id/tokens'];

  it.each(Object.keys(ADMIN_RIGHTS) as AdminRouteKey[])('%s: viewer, admin, metrics token as SPEC §12 and §17 list', (route) => {
    const allowed = (principal: Principal): boolean => {
      try {
        authorize(principal, route, undefined);
        return true;
      } catch {
        return false;
      }
    };
    const tenant = (role: 'admin' | 'viewer'): Principal => ({ kind: 'tenant', tenantId: 'acme', tokenId: 'tok_1', role });
    expect({
      viewer: allowed(tenant('viewer')),
      admin: allowed(tenant('admin')),
      metrics: allowed({ kind: 'metrics' }),
      operator: allowed({ kind: 'operator' }),
    }).toEqual({ viewer: viewer.includes(route), admin: admin.includes(route), metrics: route === 'GET /metrics', operator: true });
  });
});
