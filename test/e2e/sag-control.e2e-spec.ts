import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { gatewayPerStore, planLines, sag, SAG_STORES, type SagResult } from '../support/sag-process';

/*
 * `sag` over the rest of the control plane (SPEC §12-§14, §16): key fields and PATCH, tenant tokens,
 * the audit log and its verification, keys with fields in the tenants file, and sag driven by a
 * tenant-scoped token; the built bin against the built gateway, on the in-memory store and on Redis.
 */

const ADMIN_TOKEN = 'sag-control-admin-token-0123456789';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const KEY = 'omega-file-key-00000000000000001';
const LATER = new Date(Date.now() + 86_400_000).toISOString();

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sag-control-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const tenant = (id: string) => ({ id, name: `Tenant ${id}`, upstreamBaseUrl: `http://127.0.0.1:9/${id}`, allowedRoutes: [{ path: '/v1/users', methods: ['GET'] }] });
const parse = <T>(r: SagResult): T => {
  expect([r.code, r.stderr]).toEqual([0, expect.not.stringContaining('sag:')]);
  return JSON.parse(r.stdout) as T;
};

interface KeyView {
  keyId: string;
  name: string | null;
  disabled: boolean;
  expired: boolean;
  expiresAt: string | null;
  rateLimit: { windowSeconds: number; maxRequests: number } | null;
  fingerprint: string;
}

describe.each(SAG_STORES)('sag over keys, tokens and the audit log on %s', (store, runnable) => {
  const { env, redis } = gatewayPerStore(store, runnable, ADMIN_TOKEN, () => dir);
  const run = (...args: string[]) => sag(args, env(), dir);
  const as = (token: string, ...args: string[]) => sag(args, { ...env(), SAG_ADMIN_TOKEN: token }, dir);

  beforeAll(async () => {
    if (!runnable) return;
    writeFileSync(join(dir, 'one.json'), JSON.stringify({ tenants: [tenant('acme'), tenant('beta')] }));
    expect((await run('apply', '-f', join(dir, 'one.json'))).code).toBe(0);
  }, 30_000);

  const it_ = runnable ? it : it.skip; // skipped only when redis-server cannot be started here (REDIS_URL alone)

  it_('keys create with name, rate limit and expiry; keys list shows them; keys update changes and clears them', async () => {
    const created = parse<KeyView & { apiKey: string }>(await run('keys', 'create', 'acme', '--name', 'ci robot', '--rate-limit', '60:5', '--expires-at', LATER, '-o', 'json'));
    expect(created).toMatchObject({ name: 'ci robot', rateLimit: { windowSeconds: 60, maxRequests: 5 }, expiresAt: LATER, disabled: false, expired: false });

    const table = await run('keys', 'list', 'acme');
    expect(table.stdout).toMatch(/^KEY ID\s+NAME\s+FINGERPRINT\s+STATE\s+RATE LIMIT\s+CREATED\s+EXPIRES$/m);
    expect(table.stdout).toMatch(new RegExp(`^${created.keyId}\\s+ci robot\\s+${created.fingerprint}\\s+active\\s+5/60s\\s+\\S+\\s+${LATER}$`, 'm'));

    const updated = parse<KeyView>(await run('keys', 'update', 'acme', created.keyId, '--disable', '--no-rate-limit', '--name', 'renamed', '-o', 'json'));
    expect(updated).toMatchObject({ keyId: created.keyId, name: 'renamed', rateLimit: null, disabled: true, expiresAt: LATER });
    expect((await run('explain', '--api-key', created.apiKey, 'GET', '/v1/users')).stdout).toMatch(/^deny 403 key_disabled$/m);
    expect((await run('keys', 'list', 'acme')).stdout).toMatch(new RegExp(`^${created.keyId}\\s+renamed\\s+\\w{4}\\s+disabled\\s+-\\s`, 'm'));

    const again = await run('keys', 'update', 'acme', created.keyId, '--enable', '--no-expiry', '--no-name');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^disabled\s+false$/m);
    expect(again.stdout).toMatch(/^expiresAt\s+-$/m);
    expect((await run('explain', '--api-key', created.apiKey, 'GET', '/v1/users')).stdout).toMatch(/^allow 200/m);

    const refused = await run('keys', 'update', 'acme', created.keyId, '--expires-at', '2001-01-01T00:00:00Z');
    expect([refused.code, refused.stdout]).toEqual([1, '']);
    expect(refused.stderr).toMatch(/^sag: PATCH \/admin\/tenants\/acme\/keys\/\S+: .*\(invalid_request\)\n {2}expiresAt: must be in the future\n$/);
    const unknown = await run('keys', 'update', 'acme', 'key_nope', '--disable');
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringContaining('(key_not_found)')]);
  });

  it_('tokens create prints the token once; a tenant token drives sag within its rights, 403 outside them; revoke ends it', async () => {
    const viewer = await run('tokens', 'create', 'acme', '--role', 'viewer', '--name', 'dashboards');
    expect(viewer.code).toBe(0);
    const viewerToken = /^token: (sat_\S+)$/m.exec(viewer.stdout)![1];
    expect(viewer.stdout).toMatch(/^role\s+viewer$/m);
    expect(viewer.stderr).toContain('shown this once');
    const admin = parse<{ tokenId: string; token: string; role: string }>(await run('tokens', 'create', 'acme', '--role', 'admin', '--expires-at', LATER, '-o', 'json'));
    expect(admin).toMatchObject({ role: 'admin', expiresAt: LATER, token: expect.stringMatching(/^sat_/) });

    const listed = await run('tokens', 'list', 'acme');
    expect(listed.stdout).toMatch(/^TOKEN ID\s+ROLE\s+NAME\s+STATE\s+CREATED\s+EXPIRES$/m);
    expect(listed.stdout).toMatch(/^\S+\s+viewer\s+dashboards\s+active\s/m);
    expect(listed.stdout).not.toContain('sat_');

    // The viewer reads its own tenant; it may not write, nor see another tenant.
    expect((await as(viewerToken, 'tenants', 'list')).stdout).toMatch(/^acme\s/m);
    expect((await as(viewerToken, 'tenants', 'list')).stdout).not.toMatch(/^beta\s/m);
    expect((await as(viewerToken, 'keys', 'list', 'acme')).code).toBe(0);
    const write = await as(viewerToken, 'keys', 'create', 'acme');
    expect(write.code).toBe(1);
    expect(write.stderr).toMatch(/^sag: POST \/admin\/tenants\/acme\/keys: Forbidden: .*\(forbidden\)\n {2}the token's role may not do this/);
    expect((await as(viewerToken, 'keys', 'list', 'beta')).stderr).toContain('(tenant_not_found)');

    // The tenant admin manages its keys and lists its tokens; issuing tokens and verifying the log stay the operator's.
    const key = parse<KeyView>(await as(admin.token, 'keys', 'create', 'acme', '--name', 'by team', '-o', 'json'));
    expect(parse<KeyView>(await as(admin.token, 'keys', 'update', 'acme', key.keyId, '--rate-limit', '1:3', '-o', 'json')).rateLimit).toEqual({ windowSeconds: 1, maxRequests: 3 });
    expect((await as(admin.token, 'tokens', 'list', 'acme')).code).toBe(0);
    expect((await as(admin.token, 'tokens', 'create', 'acme', '--role', 'viewer')).stderr).toContain('(forbidden)');
    expect((await as(admin.token, 'audit', 'verify')).stderr).toContain('(forbidden)');
    const own = parse<{ entries: { tenantId: string; actor: string }[] }>(await as(admin.token, 'audit', '--all', '-o', 'json'));
    expect(own.entries.length).toBeGreaterThan(0);
    expect(own.entries.every((e) => e.tenantId === 'acme')).toBe(true);
    expect(own.entries.at(-1)!.actor).toBe(`tenant:acme/${admin.tokenId}`);
    expect((await as(admin.token, 'keys', 'revoke', 'acme', key.keyId)).code).toBe(0);

    expect((await run('tokens', 'revoke', 'acme', admin.tokenId)).stdout).toBe(`revoked token ${admin.tokenId} of tenant acme\n`);
    const revoked = await as(admin.token, 'keys', 'list', 'acme');
    expect([revoked.code, revoked.stderr]).toEqual([1, expect.stringContaining('(invalid_admin_token)')]);
  });

  it_('apply manages key fields from the file with PATCH; a second run is all unchanged', async () => {
    const path = join(dir, `keys-${store.length}.yaml`);
    const write = (fields: Record<string, unknown>) =>
      writeFileSync(path, toYaml({ tenants: [{ ...tenant('omega'), apiKeys: [{ key: KEY, ...fields }] }] }));
    write({ name: 'file key', rateLimit: { windowSeconds: 10, maxRequests: 2 }, disabled: true });
    const first = await run('apply', '-f', path);
    expect([first.code, first.stderr]).toEqual([0, '']);
    expect(planLines(first)).toEqual(['+ tenant omega create', `+ key omega …${sha256(KEY).slice(-4)} create: disabled, name, rateLimit`]);
    const [live] = parse<{ keys: KeyView[] }>(await run('keys', 'list', 'omega', '-o', 'json')).keys;
    expect(live).toMatchObject({ name: 'file key', rateLimit: { windowSeconds: 10, maxRequests: 2 }, disabled: true });
    expect(planLines(await run('apply', '-f', path))).toEqual(['= tenant omega unchanged', `= key omega …${sha256(KEY).slice(-4)} unchanged (${live.keyId})`]);

    write({ name: 'renamed', rateLimit: { windowSeconds: 10, maxRequests: 4 }, disabled: true, expiresAt: LATER });
    const diff = await run('diff', '-f', path);
    expect(diff.code).toBe(3);
    expect(planLines(diff)).toContain(`~ key omega …${sha256(KEY).slice(-4)} update: name, rateLimit, expiresAt (${live.keyId})`);
    expect(parse<{ keys: unknown[] }>(await run('diff', '-f', path, '-o', 'json').then((r) => ({ ...r, code: 0 }))).keys).toEqual([
      { action: 'update', tenantId: 'omega', fingerprint: live.fingerprint, keyId: live.keyId, fields: ['name', 'rateLimit', 'expiresAt'] },
    ]);
    expect((await run('apply', '-f', path)).stdout).toContain('Applied 1 change(s).');
    expect(parse<{ keys: KeyView[] }>(await run('keys', 'list', 'omega', '-o', 'json')).keys[0]).toMatchObject({ keyId: live.keyId, name: 'renamed', expiresAt: LATER, rateLimit: { maxRequests: 4 } });
    const second = await run('diff', '-f', path);
    expect([second.code, planLines(second).every((l) => l.startsWith('= '))]).toEqual([0, true]);
  });

  it_('audit pages through the log (--all follows nextAfterSeq) and verify answers ok', async () => {
    const all = parse<{ entries: { seq: number }[]; nextAfterSeq: null }>(await run('audit', '--all', '--limit', '2', '-o', 'json'));
    expect(all.entries.length).toBeGreaterThan(4);
    expect(all.entries.map((e) => e.seq)).toEqual(all.entries.map((_, i) => i + 1));
    expect(all.nextAfterSeq).toBeNull();

    const page = await run('audit', '--limit', '2', '--after', '1');
    expect(page.stdout).toMatch(/^SEQ\s+TIME\s+ACTOR\s+ACTION\s+TENANT\s+TARGET\s+REQUEST ID$/m);
    expect(page.stdout).toMatch(/^2\s+\S+\s+operator\s+tenant_create\s+beta\s+-\s+\S+$/m);
    expect(page.stdout).toMatch(/^more: sag audit --after 3$/m);
    expect(parse<{ entries: { tenantId: string }[] }>(await run('audit', 'list', '--tenant', 'omega', '-o', 'json')).entries.every((e) => e.tenantId === 'omega')).toBe(true);

    const ok = await run('audit', 'verify');
    expect([ok.code, ok.stdout]).toEqual([0, expect.stringMatching(new RegExp(`^ok: ${all.entries.length} entries \\(seq 1 to ${all.entries.length}\\), head [0-9a-f]{64}\\n$`))]);
    const bad = await run('audit', '--limit', '0');
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('--limit must be a whole number from 1 to 1000')]);
  });

  // Tampering needs the store from outside the gateway: Redis only (the in-memory store lives in the gateway's process).
  const itRedis = runnable && store.includes('redis') ? it : it.skip;
  itRedis('audit verify exits 1 with the first bad seq when an entry was changed in the store', async () => {
    const raw = redis()!.client();
    const saved = await raw.hget('gw:{audit}:entries', '2');
    const entry = JSON.parse(saved!) as Record<string, unknown>;
    await raw.hset('gw:{audit}:entries', '2', JSON.stringify({ ...entry, action: 'tenant_delete' }));
    try {
      const r = await run('audit', 'verify');
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^NOT OK: first bad seq 2: /);
      expect(r.stderr).toBe('sag: the audit log does not verify: first bad seq 2\n');
      const json = await run('audit', 'verify', '-o', 'json');
      expect([json.code, JSON.parse(json.stdout)]).toEqual([1, expect.objectContaining({ ok: false, firstBadSeq: 2 })]);
    } finally {
      await raw.hset('gw:{audit}:entries', '2', saved!);
    }
    expect((await run('audit', 'verify')).code).toBe(0);
  });
});

describe('sag usage errors of the key, token and audit commands', () => {
  const cases: [string[], RegExp][] = [
    [['keys', 'update', 'acme', 'k1'], /^sag: nothing to change: give at least one option/],
    [['keys', 'update', 'acme', 'k1', '--name', 'a', '--no-name'], /^sag: give at most one of --name and --no-name/],
    [['keys', 'update', 'acme', 'k1', '--disable', '--enable'], /^sag: give at most one of --disable and --enable/],
    [['keys', 'create', 'acme', '--rate-limit', '60'], /^sag: --rate-limit "60" must be WINDOW_SECONDS:MAX_REQUESTS/],
    [['tokens', 'create', 'acme'], /^sag: --role admin or --role viewer is required/],
    [['tokens', 'create', 'acme', '--role', 'root'], /^sag: --role admin or --role viewer is required/],
    [['audit', '--after=-1'], /^sag: --after must be a whole number/],
  ];
  it.each(cases)('sag %j exits 2', async (args, message) => {
    const r = await sag(args, { SAG_URL: 'http://127.0.0.1:9', SAG_ADMIN_TOKEN: ADMIN_TOKEN }, dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
