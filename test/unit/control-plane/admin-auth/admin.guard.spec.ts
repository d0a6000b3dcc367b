import type { IncomingMessage } from 'node:http';
import { AdminGuard } from '../../../../src/control-plane/admin-auth/admin.guard';
import { loadConfig } from '../../../../src/config/config.loader';
import { fakeHttpContext, fakeRequest } from '../../../support/fake-execution-context';
import { gatewayErrorOf } from '../../../support/gateway-error';

const TOKEN = 'admin-token-0123456789abcdef';
const guard = new AdminGuard(loadConfig({ ADMIN_TOKEN: TOKEN }));

function withToken(token?: string | string[]) {
  return fakeHttpContext(
    fakeRequest({ originalUrl: '/admin/tenants', headers: token === undefined ? {} : { 'x-admin-token': token } }),
  );
}

describe('AdminGuard', () => {
  it('passes the right token', () => {
    expect(guard.canActivate(withToken(TOKEN))).toBe(true);
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
  ])('answers 401 invalid_admin_token for %s', async (_label, token) => {
    const err = await gatewayErrorOf(() => guard.canActivate(withToken(token)));
    expect(err.status).toBe(401);
    expect(err.code).toBe('invalid_admin_token');
  });

  it('accepts() answers the same question without throwing, for callers that must decide before the guard runs', () => {
    expect(guard.accepts(fakeRequest({ headers: { 'x-admin-token': TOKEN } }) as unknown as IncomingMessage)).toBe(true);
    expect(guard.accepts(fakeRequest({ headers: { 'x-admin-token': `${TOKEN}0` } }) as unknown as IncomingMessage)).toBe(false);
    expect(guard.accepts(fakeRequest({ headers: { 'x-admin-token': [TOKEN] } }) as unknown as IncomingMessage)).toBe(false);
    expect(guard.accepts(fakeRequest() as unknown as IncomingMessage)).toBe(false);
  });

  it('does not accept the API key header in place of the admin token', async () => {
    const ctx = fakeHttpContext(fakeRequest({ headers: { 'x-api-key': TOKEN } }));
    expect((await gatewayErrorOf(() => guard.canActivate(ctx))).code).toBe('invalid_admin_token');
  });

  it('refuses to be built without a resolved token', () => {
    const unresolved = loadConfig({});
    expect(unresolved.adminToken).toBeNull();
    expect(() => new AdminGuard(unresolved)).toThrow(/ADMIN_TOKEN/);
    expect(() => new AdminGuard({ ...unresolved, adminToken: '' })).toThrow(/ADMIN_TOKEN/);
  });
});
