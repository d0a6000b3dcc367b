import { PathStep } from '../../../../../src/policy/steps/path/path.step';
import { decisionFor } from '../../../../support/decision';
import { gatewayErrorOf } from '../../../../support/gateway-error';

const step = new PathStep();

function pass(originalUrl: string) {
  const decision = decisionFor({ target: originalUrl });
  expect(step.run(decision)).toBeUndefined();
  return decision;
}

describe('PathStep', () => {
  it('stores the path after /api and the query string in the decision', () => {
    const ctx = pass('/api/v1/users/42?expand=orders&limit=10');
    expect(ctx.path).toBe('/v1/users/42');
    expect(ctx.query).toBe('?expand=orders&limit=10');
  });

  it('stores an empty query when there is none', () => {
    expect(pass('/api/v1/users').query).toBe('');
  });

  it('stores the normalized path (dot segments, repeated slashes, encoded unreserved characters)', () => {
    expect(pass('/api/v1//users/./a/../42').path).toBe('/v1/users/42');
    expect(pass('/api/v1/%7Ealice/%41').path).toBe('/v1/~alice/A');
  });

  it('keeps the query string exactly as sent, not normalized', () => {
    const ctx = pass('/api/v1/search?q=%2F..%2Fadmin&x=a//b');
    expect(ctx.path).toBe('/v1/search');
    expect(ctx.query).toBe('?q=%2F..%2Fadmin&x=a//b');
  });

  it.each([
    ['/api', '/'],
    ['/api/', '/'],
    ['/api?x=1', '/'],
  ])('maps %s to the root path', (url, path) => {
    expect(pass(url).path).toBe(path);
  });

  it.each(['/apix/v1/users', '/api-v1/users', '/v1/users', '/API/v1/users', '/admin/tenants', '/', '/ap'])(
    'refuses %s, which is not under /api, with 400 bad_path',
    async (originalUrl) => {
      const decision = decisionFor({ target: originalUrl });
      const err = await gatewayErrorOf(() => step.run(decision));
      expect(err.status).toBe(400);
      expect(err.code).toBe('bad_path');
      expect(decision.path).toBeUndefined();
    },
  );

  it.each([
    '/api/..',
    '/api/../admin/tenants',
    '/api/v1/../../etc/passwd',
    '/api/%2e%2e/admin',
    '/api/v1/%2E%2E/%2e%2e/x',
    '/api/v1/..%2Fadmin',
    '/api/v1%5C..%5Cadmin',
    '/api/v1\\..\\admin',
    '/api/v1/%00',
    '/api/v1/%zz',
  ])('refuses the traversal or forbidden path %s with 400 bad_path', async (originalUrl) => {
    const decision = decisionFor({ target: originalUrl });
    const err = await gatewayErrorOf(() => step.run(decision));
    expect(err.status).toBe(400);
    expect(err.code).toBe('bad_path');
    expect(decision.path).toBeUndefined();
  });
});
