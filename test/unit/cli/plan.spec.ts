import { changeCount, changedFields, changedKeyFields, makePlan, summary, type LiveState } from '../../../src/cli/plan';
import type { KeyView } from '../../../src/tenants/key.schema';
import type { Tenant } from '../../../src/tenants/tenant.model';

const tenant = (id: string, extra: Partial<Tenant> = {}): Tenant => ({ id, upstreamBaseUrl: `http://u/${id}`, allowedRoutes: [{ path: '/v1' }], ...extra });
const hash = (last4: string) => 'a'.repeat(60) + last4;
const key = (keyId: string, fingerprint: string): KeyView => ({
  keyId,
  name: null,
  fingerprint,
  createdAt: '2030-01-01T00:00:00.000Z',
  expiresAt: null,
  expired: false,
  disabled: false,
  rateLimit: null,
});
const live = (tenants: Tenant[], keys: Record<string, KeyView[]> = {}, invalid: string[] = []): LiveState => ({
  tenants,
  invalidTenantIds: invalid,
  keys: new Map(Object.entries(keys)),
});

describe('sag plan', () => {
  it('compares tenants field by field, whatever the order of members', () => {
    const a = tenant('a', { rateLimit: { windowSeconds: 1, maxRequests: 2 } });
    const b = { ...tenant('a'), rateLimit: { maxRequests: 2, windowSeconds: 1 } } as Tenant;
    expect(changedFields(a, b)).toEqual([]);
    expect(changedFields(a, tenant('a', { disabled: true }))).toEqual(['disabled', 'rateLimit']);
  });

  it('creates, updates and leaves alone tenants; deletes the others only with prune', () => {
    const desired = [
      { tenant: tenant('new'), keyHashes: [] },
      { tenant: tenant('same'), keyHashes: [] },
      { tenant: tenant('changed', { name: 'N' }), keyHashes: [] },
      { tenant: tenant('broken'), keyHashes: [] },
    ];
    const state = live([tenant('same'), tenant('changed'), tenant('extra')], {}, ['broken', 'junk']);
    const plan = makePlan(desired, state, false);
    expect(plan.tenants.map((t) => [t.action, t.id, t.fields])).toEqual([
      ['create', 'new', []],
      ['unchanged', 'same', []],
      ['update', 'changed', ['name']],
      ['update', 'broken', ['(stored tenant is invalid)']],
    ]);
    const pruned = makePlan(desired, state, true);
    expect(pruned.tenants.filter((t) => t.action === 'delete').map((t) => t.id)).toEqual(['extra', 'junk']);
    expect(changeCount(pruned)).toBe(5);
    expect(summary(pruned)).toBe('tenants: 1 to create, 1 unchanged, 2 to update, 2 to delete; keys: none');
  });

  it('matches keys by the fingerprint of their hash; revokes the rest only with prune; one live key matches one hash', () => {
    const desired = [{ tenant: tenant('t'), keyHashes: [hash('1111'), hash('2222'), 'b'.repeat(60) + '1111'] }];
    const state = live([tenant('t')], { t: [key('k1', '1111'), key('k9', '9999')] });
    expect(makePlan(desired, state, false).keys.map((k) => [k.action, k.fingerprint, k.keyId ?? k.hash])).toEqual([
      ['unchanged', '1111', 'k1'],
      ['create', '2222', hash('2222')],
      ['create', '1111', 'b'.repeat(60) + '1111'],
    ]);
    expect(makePlan(desired, state, true).keys.filter((k) => k.action === 'revoke').map((k) => k.keyId)).toEqual(['k9']);
  });

  it('compares only the key fields FILE gives: a field left out is not managed; instants compare as instants', () => {
    const liveKey = { ...key('k1', '1111'), name: 'ci', rateLimit: { windowSeconds: 60, maxRequests: 5 }, expiresAt: '2030-01-01T00:00:00.000Z' };
    expect(changedKeyFields(liveKey, {})).toEqual([]);
    expect(changedKeyFields(liveKey, { name: 'ci', rateLimit: { maxRequests: 5, windowSeconds: 60 }, expiresAt: '2030-01-01T01:00:00+01:00', disabled: false })).toEqual([]);
    expect(changedKeyFields(liveKey, { name: 'robot', rateLimit: { windowSeconds: 60, maxRequests: 6 }, disabled: true, expiresAt: '2031-01-01T00:00:00.000Z' })).toEqual([
      'name',
      'rateLimit',
      'disabled',
      'expiresAt',
    ]);
    expect(changedKeyFields({ ...liveKey, expiresAt: null }, { expiresAt: '2030-01-01T00:00:00.000Z' })).toEqual(['expiresAt']);
  });

  it('updates a matched key whose fields differ with a patch of those fields only; a new key carries its fields', () => {
    const desired = [
      {
        tenant: tenant('t'),
        keyHashes: [hash('1111'), hash('2222')],
        keyFields: new Map([
          [hash('1111'), { name: 'renamed', disabled: false }],
          [hash('2222'), { name: 'new', disabled: true }],
        ]),
      },
    ];
    const plan = makePlan(desired, live([tenant('t')], { t: [{ ...key('k1', '1111'), name: 'old' }] }), false);
    expect(plan.keys.map(({ action, keyId, fields, set }) => ({ action, keyId, fields, set }))).toEqual([
      { action: 'update', keyId: 'k1', fields: ['name'], set: { name: 'renamed' } },
      { action: 'create', keyId: undefined, fields: ['disabled', 'name'], set: { name: 'new', disabled: true } },
    ]);
    expect(summary(plan)).toBe('tenants: 1 unchanged; keys: 1 to update, 1 to create');
    expect(changeCount(plan)).toBe(2);
  });
});
