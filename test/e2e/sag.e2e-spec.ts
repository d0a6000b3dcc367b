import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { gatewayPerStore, planLines, ROOT, SAG, sag, SAG_STORES, spawnGateway, type GatewayProcess } from '../support/sag-process';
import { freePort } from '../support/redis-server';

/*
 * `sag` (SPEC §16), the built bin, against the built gateway in a child process, on the in-memory
 * store and on a real redis-server: apply and diff with their plans, prune, dry runs, YAML and JSON,
 * the tenants/keys/explain commands, table and JSON output, exit codes, and the errors a person meets.
 */

const ADMIN_TOKEN = 'sag-admin-token-0123456789abcdef';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const KEY_A = 'acme-live-key-0000000000000001';
const KEY_A2 = 'acme-live-key-0000000000000002';
const HASHED = 'beta-key-held-elsewhere-000000000003';

const tenant = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: `Tenant ${id}`,
  upstreamBaseUrl: `http://127.0.0.1:9/${id}`,
  allowedRoutes: [{ path: '/v1/users', methods: ['GET'] }],
  ...extra,
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sag-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : name.endsWith('.json') ? JSON.stringify(content) : toYaml(content));
  return path;
}

describe.each(SAG_STORES)('sag against the built gateway on %s', (store, runnable) => {
  const { env } = gatewayPerStore(store, runnable, ADMIN_TOKEN, () => dir);
  const run = (...args: string[]) => sag(args, env(), dir);

  const it_ = runnable ? it : it.skip; // skipped only when redis-server cannot be started here (REDIS_URL alone)

  it_('apply creates tenants and keys from YAML, then a second run changes nothing', async () => {
    const yaml = file('tenants.yaml', {
      tenants: [
        { ...tenant('acme'), apiKeys: [KEY_A] },
        { ...tenant('beta'), apiKeyHashes: [sha256(HASHED).toUpperCase()] },
      ],
    });
    const first = await run('apply', '-f', yaml);
    expect([first.code, first.stderr]).toEqual([0, '']);
    expect(planLines(first)).toEqual([
      '+ tenant acme create',
      '+ tenant beta create',
      `+ key acme …${sha256(KEY_A).slice(-4)} create`,
      `+ key beta …${sha256(HASHED).slice(-4)} create`,
    ]);
    expect(first.stdout).toContain('Applied 4 change(s).');
    expect(first.stdout + first.stderr).not.toContain(KEY_A);

    const second = await run('apply', '-f', yaml);
    expect(second.code).toBe(0);
    expect(planLines(second).every((l) => l.startsWith('= '))).toBe(true);
    expect(planLines(second)).toHaveLength(4);
    expect(second.stdout).toContain('No changes.');
    const diff = await run('diff', '-f', yaml);
    expect([diff.code, diff.stdout]).toEqual([0, expect.stringContaining('In sync.')]);

    // The key the file named works on the data plane, as explain shows.
    const explained = await run('explain', '--api-key', KEY_A, 'GET', '/v1/users/1');
    expect([explained.code, explained.stderr]).toEqual([0, '']);
    expect(explained.stdout).toMatch(/^allow 200 -> http:\/\/127\.0\.0\.1:9\/acme\/v1\/users\/1$/m);
    expect(explained.stdout).not.toContain(KEY_A);
  });

  it_('diff shows pending changes (exit 3); --dry-run changes nothing; apply --prune updates, deletes and revokes', async () => {
    const extra = await run('keys', 'create', 'acme', '--output', 'json');
    expect(extra.code).toBe(0);
    const extraKey = JSON.parse(extra.stdout) as { keyId: string; apiKey: string; fingerprint: string };
    const json = file('tenants.json', { tenants: [{ ...tenant('acme', { upstreamBaseUrl: 'http://127.0.0.1:9/v2', disabled: true }), apiKeys: [KEY_A, KEY_A2] }] });

    const diff = await run('diff', '-f', json);
    expect(diff.code).toBe(3);
    expect(planLines(diff)).toEqual([
      '~ tenant acme update: disabled, upstreamBaseUrl',
      expect.stringMatching(new RegExp(`^= key acme …${sha256(KEY_A).slice(-4)} unchanged \\(\\S+\\)$`)),
      `+ key acme …${sha256(KEY_A2).slice(-4)} create`,
    ]);
    const pruneDiff = await run('diff', '-f', json, '--prune', '--output', 'json');
    expect(pruneDiff.code).toBe(3);
    const plan = JSON.parse(pruneDiff.stdout);
    expect(plan.tenants).toEqual([
      { action: 'update', id: 'acme', fields: ['disabled', 'upstreamBaseUrl'] },
      { action: 'delete', id: 'beta', fields: [] },
    ]);
    expect(plan.keys).toEqual(expect.arrayContaining([{ action: 'revoke', tenantId: 'acme', fingerprint: extraKey.fingerprint, keyId: extraKey.keyId, fields: [] }]));
    expect(plan.changes).toBe(4);
    expect(pruneDiff.stdout).not.toMatch(/[0-9a-f]{64}/);

    const dry = await run('apply', '-f', json, '--prune', '--dry-run');
    expect([dry.code, dry.stdout]).toEqual([0, expect.stringContaining('Dry run: nothing applied.')]);
    expect((await run('diff', '-f', json, '--prune')).code).toBe(3);

    const applied = await run('apply', '-f', json, '--prune');
    expect([applied.code, applied.stderr]).toEqual([0, '']);
    expect(applied.stdout).toContain('Applied 4 change(s).');
    const after = await run('diff', '-f', json, '--prune');
    expect([after.code, after.stdout]).toEqual([0, expect.stringContaining('In sync.')]);

    const tenants = await run('tenants', 'list');
    expect(tenants.stdout).toMatch(/^acme\s+Tenant acme\s+http:\/\/127\.0\.0\.1:9\/v2\s+1\s+disabled$/m);
    expect(tenants.stdout).not.toMatch(/^beta/m);
    const keys = await run('keys', 'list', 'acme', '-o', 'json');
    expect((JSON.parse(keys.stdout) as { keys: { keyId: string }[] }).keys.map((k) => k.keyId)).not.toContain(extraKey.keyId);
    expect(JSON.parse(keys.stdout).keys).toHaveLength(2);
  });

  it_('tenants get/delete, keys create/list/revoke, explain by tenant: tables by default, JSON on request', async () => {
    expect((await run('apply', '-f', file('one.json', { tenants: [tenant('gamma')] }))).code).toBe(0);
    const got = await run('tenants', 'get', 'gamma');
    expect(got.stdout).toMatch(/^FIELD\s+VALUE$/m);
    expect(got.stdout).toMatch(/^upstreamBaseUrl\s+http:\/\/127\.0\.0\.1:9\/gamma$/m);
    expect(JSON.parse((await run('tenants', 'get', 'gamma', '--output', 'json')).stdout)).toEqual(tenant('gamma'));

    const created = await run('keys', 'create', 'gamma');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^apiKey\s+sgw_\S+$/m);
    expect(created.stderr).toContain('shown this once');
    const keyId = /^keyId\s+(\S+)$/m.exec(created.stdout)![1];
    expect((await run('keys', 'list', 'gamma')).stdout).toMatch(new RegExp(`^${keyId}\\s+-\\s+[0-9a-f]{4}\\s+active\\s+-\\s+\\S+\\s+never$`, 'm'));

    const explained = await run('explain', '--tenant', 'gamma', 'POST', '/v1/users');
    expect(explained.stdout).toMatch(/^route\s+NO\s+code=route_not_allowed/m);
    expect(explained.stdout).toMatch(/^deny 403 route_not_allowed/m);

    expect((await run('keys', 'revoke', 'gamma', keyId)).stdout).toBe(`revoked key ${keyId} of tenant gamma\n`);
    expect((await run('tenants', 'delete', 'gamma')).stdout).toBe('deleted tenant gamma\n');
    const gone = await run('tenants', 'get', 'gamma');
    expect([gone.code, gone.stdout]).toEqual([1, '']);
    expect(gone.stderr).toBe('sag: GET /admin/tenants/gamma: Not Found: Tenant "gamma" does not exist. (tenant_not_found)\n');
  });

  it_('reports a long apply on stderr as it goes', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `bulk-key-${String(i).padStart(24, '0')}`);
    const r = await run('apply', '-f', file('bulk.json', { tenants: [{ ...tenant('bulk'), apiKeys: keys }] }));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('applying 10/13\napplying 13/13\n');
  });

  it_('a refused change stops the apply, with the problem and what was applied', async () => {
    const r = await run('apply', '-f', file('taken.json', { tenants: [{ ...tenant('delta'), apiKeyHashes: [sha256(KEY_A)] }] }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sag: applied 1 of 2 changes; stopped at \+ key delta …\w{4}: POST \/admin\/tenants\/delta\/keys: Conflict: This key is already registered\. \(key_exists\)$/m);
  });
});

describe('the sag bin', () => {
  it('is the built CLI, an executable node script, built by npm run build, which npm ci (prepare) and npm test run', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.bin).toEqual({ sag: 'dist/cli/sag.js' });
    expect(resolve(ROOT, pkg.bin.sag)).toBe(SAG);
    expect(readFileSync(SAG, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    // npx runs the bin itself: a rebuilt file must stay executable, so every build goes through npm run build.
    expect((statSync(SAG).mode & 0o111).toString(8)).toBe('111');
    expect(pkg.scripts.prepare).toBe('npm run build');
    expect(pkg.scripts.pretest).toContain('npm run build');
  });
});

describe('sag errors', () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await spawnGateway({ ADMIN_TOKEN }, dir);
  }, 30_000);
  afterAll(async () => {
    await gw?.stop();
  });
  const env = () => ({ SAG_URL: gw.url, SAG_ADMIN_TOKEN: ADMIN_TOKEN });

  it('a bad file: every problem with its path, exit 1, nothing applied, no key repeated', async () => {
    const bad = file('bad.yaml', { tenants: [{ id: 'ok', upstreamBaseUrl: 'ftp://x', allowedRoutes: [{ path: 'v1' }], apiKeys: ['short'], typo: 1 }] });
    const r = await sag(['apply', '-f', bad], env(), dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`sag: ${bad} is not a valid tenants file`);
    for (const path of ['tenants[0].upstreamBaseUrl:', 'tenants[0].allowedRoutes[0].path:', 'tenants[0].apiKeys[0]:', 'tenants[0].typo: unknown field']) {
      expect(r.stderr).toContain(`  ${path}`);
    }
    expect(r.stderr).not.toContain('short');
    expect(JSON.parse((await sag(['tenants', 'list', '-o', 'json'], env(), dir)).stdout).tenants).toEqual([]);

    const syntax = await sag(['diff', '-f', file('syntax.yaml', 'tenants:\n  - id: [a\n    apiKeys: [secret-key-000000000000]\n')], env(), dir);
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toMatch(/is not valid YAML\n {2}line \d+, column \d+: /);
    expect(syntax.stderr).not.toContain('secret-key');

    const json = await sag(['diff', '-f', file('syntax.json', '{"tenants": [')], env(), dir);
    expect([json.code, json.stderr]).toEqual([1, expect.stringContaining('(root): not valid JSON')]);
    const missing = await sag(['diff', '-f', join(dir, 'nope.json')], env(), dir);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('cannot read')]);
  });

  it('an unreachable gateway and a wrong token: exit 1 with what to check', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const down = await sag(['tenants', 'list'], { SAG_URL: url, SAG_ADMIN_TOKEN: ADMIN_TOKEN }, dir);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`sag: cannot reach the gateway at ${url}: connect ECONNREFUSED 127.0.0.1:${new URL(url).port}\n  set SAG_URL or --url to the gateway's address\n`);

    const wrong = await sag(['tenants', 'list', '--url', gw.url, '--token', 'not-the-token'], {}, dir);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(
      "sag: GET /admin/tenants: Unauthorized: A valid X-Admin-Token header is required. (invalid_admin_token)\n  check SAG_ADMIN_TOKEN or --token: it must be the gateway's ADMIN_TOKEN, or a tenant token (sat_...) that is neither expired nor revoked\n",
    );
  });

  it('usage errors exit 2 with the usage; --help exits 0', async () => {
    const cases: [string[], RegExp][] = [
      [[], /^usage: sag COMMAND/],
      [['frobnicate'], /^sag: unknown command: frobnicate/],
      [['apply'], /^sag: -f FILE is required\n\nusage: sag apply -f FILE/],
      [['tenants', 'get'], /^sag: expected ID/],
      [['diff', '-f', 'x', '--bogus'], /^sag: Unknown option '--bogus'/],
      [['tenants', 'list', '-o', 'xml'], /^sag: --output must be table or json/],
      [['explain', 'GET', '/'], /^sag: give exactly one of --api-key or --tenant/],
    ];
    for (const [args, message] of cases) {
      const r = await sag(args, env(), dir);
      expect([args, r.code]).toEqual([args, 2]);
      expect([args, r.stderr + r.stdout]).toEqual([args, expect.stringMatching(message)]);
    }
    const noToken = await sag(['tenants', 'list'], { SAG_URL: gw.url }, dir);
    expect([noToken.code, noToken.stderr]).toEqual([2, expect.stringContaining('no admin token: set SAG_ADMIN_TOKEN or pass --token')]);
    const help = await sag(['apply', '--help'], {}, dir);
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('--prune')]);
  });
});
