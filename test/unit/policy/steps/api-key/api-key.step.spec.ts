import pino from 'pino';
import { ApiKeyStep } from '../../../../../src/policy/steps/api-key/api-key.step';
import { MemoryStore } from '../../../../../src/store/memory/memory.store';
import { StoreUnavailableError, type KeyLookup } from '../../../../../src/store/store.port';
import { hashApiKey } from '../../../../../src/tenants/api-key';
import { TenantResolver } from '../../../../../src/tenants/tenant-resolver';
import { TenantRepository } from '../../../../../src/tenants/tenant.repository';
import { decisionFor } from '../../../../support/decision';
import { gatewayErrorOf } from '../../../../support/gateway-error';

const silent = pino({ level: 'silent' });

/** The embedded store, made to fail on demand as the Redis adapter does when Redis is down. */
class FaultyStore extends MemoryStore {
  down = false;

  override async lookupKey(hash: string): Promise<KeyLookup | null> {
    if (this.down) throw new StoreUnavailableError();
    return super.lookupKey(hash);
  }
}

let store: FaultyStore;
let step: ApiKeyStep;

async function addTenant(id: string, extra: Record<string, unknown>, apiKey: string): Promise<void> {
  await store.putTenant(id, JSON.stringify({ id, upstreamBaseUrl: 'http://upstream.test', allowedRoutes: [{ path: '/' }], ...extra }));
  await store.addKey(id, { keyId: `key_${id}`, hash: hashApiKey(apiKey), createdAt: new Date().toISOString(), expiresAt: null });
}

beforeEach(async () => {
  store = new FaultyStore();
  const resolver = new TenantResolver(store, new TenantRepository(store, silent, { jwksAllowHttp: false }), silent, {
    ttlMs: 5_000,
  });
  step = new ApiKeyStep(resolver);
  await addTenant('acme', { name: 'ACME Corp' }, 'acme-key');
  await addTenant('dormant', { disabled: true }, 'dormant-key');
});

function requestWithKey(apiKey?: string | string[]) {
  return decisionFor({ target: '/api/v1/users', headers: apiKey === undefined ? {} : { 'x-api-key': apiKey } });
}

describe('ApiKeyStep', () => {
  it('attaches the tenant of a good key, and its id for logs and metrics, to the decision', async () => {
    const req = requestWithKey('acme-key');

    await expect(step.run(req)).resolves.toBeUndefined();

    expect(req.tenant).toMatchObject({ id: 'acme', name: 'ACME Corp' });
    expect(req.tenantId).toBe('acme');
  });

  it.each([
    ['no X-API-Key header', undefined],
    ['an empty X-API-Key', ''],
    ['a repeated X-API-Key', ['acme-key', 'acme-key']],
  ])('answers 401 missing_api_key for %s', async (_label, apiKey) => {
    const req = requestWithKey(apiKey);
    const err = await gatewayErrorOf(() => step.run(req));
    expect(err.status).toBe(401);
    expect(err.code).toBe('missing_api_key');
    expect(req.tenant).toBeUndefined();
  });

  it.each(['unknown-key', 'acme-key ', 'ACME-KEY'])('answers 401 invalid_api_key for the unknown key %j', async (apiKey) => {
    const req = requestWithKey(apiKey);
    const err = await gatewayErrorOf(() => step.run(req));
    expect(err.status).toBe(401);
    expect(err.code).toBe('invalid_api_key');
    expect(req.tenant).toBeUndefined();
    expect(req.tenantId).toBeUndefined();
  });

  it('answers 403 tenant_disabled for a disabled tenant, with the tenant known to logs and metrics', async () => {
    const req = requestWithKey('dormant-key');
    const err = await gatewayErrorOf(() => step.run(req));
    expect(err.status).toBe(403);
    expect(err.code).toBe('tenant_disabled');
    expect(req.tenant?.id).toBe('dormant');
  });

  it('lets a 503 state_unavailable through when the store is down and nothing is cached', async () => {
    store.down = true;
    const req = requestWithKey('acme-key');
    const err = await gatewayErrorOf(() => step.run(req));
    expect(err.status).toBe(503);
    expect(err.code).toBe('state_unavailable');
    expect(req.tenant).toBeUndefined();
  });
});
