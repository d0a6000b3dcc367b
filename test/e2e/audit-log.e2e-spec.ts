import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { startGateway, type TestGateway } from '../support/gateway';
import { startRedis, waitFor, type RedisHandle } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';
import { admin, expectProblem, sha256Hex, waitReady, type Reply } from './helpers/e2e-http';

/**
 * SPEC §14 end to end: the tamper-evident audit log on a real redis-server of our own (the tests
 * rewrite gw:{audit}:* by hand, so it must not be shared), written by two replicas at once, tampered
 * with straight in Redis, trimmed at AUDIT_MAX_ENTRIES; and the same contract on the embedded store.
 */

const RUN = randomBytes(3).toString('hex');
const id = (name: string): string => `au-${name}-${RUN}`;
const ENTRIES = 'gw:{audit}:entries';
const HEAD = 'gw:{audit}:head';
const ZEROS = '0'.repeat(64);

let redis: RedisHandle;
let raw: Redis;
let upstream: Upstream;
let a: TestGateway;
let b: TestGateway;
const secrets: string[] = [];

async function ok(reply: Promise<Reply>, status: number): Promise<Reply> {
  const r = await reply;
  expect([r.status, r.text.slice(0, 300)]).toEqual([status, r.text.slice(0, 300)]);
  return r;
}

const tenantBody = (tenantId: string) => ({ id: tenantId, upstreamBaseUrl: `${upstream.url}/svc`, allowedRoutes: [{ path: '/' }] });
const verify = async (gw: TestGateway) => (await ok(admin(gw, 'GET', '/admin/audit/verify'), 200)).json;

/** Every entry, read through the API page by page. */
async function allEntries(gw: TestGateway, token?: string, query = ''): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let after = 0;
  for (let page = 0; page < 100; page++) {
    const reply = await ok(admin(gw, 'GET', `/admin/audit?afterSeq=${after}&limit=7${query}`, undefined, token), 200);
    out.push(...reply.json.entries);
    if (reply.json.nextAfterSeq === null) return out;
    after = reply.json.nextAfterSeq;
  }
  throw new Error('more than 100 pages');
}

/** SPEC §14's hash, computed here independently of the gateway's code. */
function specHash(entry: Record<string, unknown>): string {
  const { seq, time, actor, action, tenantId, target, requestId, prevHash } = entry;
  const text = `${String(prevHash)}\n${JSON.stringify({ seq, time, actor, action, tenantId, target, requestId, prevHash })}`;
  return createHash('sha256').update(text).digest('hex');
}

beforeAll(async () => {
  redis = await startRedis({ ownServer: true });
  raw = redis.client();
  upstream = await startUpstream();
  a = await startGateway({ REDIS_URL: redis.url });
  b = await startGateway({ REDIS_URL: redis.url });
  await Promise.all([waitReady(a), waitReady(b)]);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await upstream?.close();
  await redis?.stop();
});

describe('appends from two replicas at once', () => {
  it('give a gap-free chain that verifies, each entry as SPEC §14 describes', async () => {
    const tenantIds = Array.from({ length: 12 }, (_, i) => id(`t${i}`));
    // Twelve creations and twelve keys, sent to both replicas at the same time.
    await Promise.all(tenantIds.map((t, i) => ok(admin(i % 2 === 0 ? a : b, 'POST', '/admin/tenants', tenantBody(t)), 201)));
    const keys = await Promise.all(tenantIds.map((t, i) => ok(admin(i % 2 === 0 ? b : a, 'POST', `/admin/tenants/${t}/keys`, {}), 201)));
    for (const k of keys) secrets.push(k.json.apiKey as string);

    const entries = await allEntries(a);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(entries[0].prevHash).toBe(ZEROS);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      expect(Object.keys(e)).toEqual(['seq', 'time', 'actor', 'action', 'tenantId', 'target', 'requestId', 'prevHash', 'hash']);
      expect(e.hash).toBe(specHash(e));
      if (i > 0) expect(e.prevHash).toBe(entries[i - 1].hash);
      expect(e.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(e.actor).toBe('operator');
    }
    const keyEntries = entries.filter((e) => e.action === 'key_create');
    expect(keyEntries.map((e) => e.target).sort()).toEqual(keys.map((k) => k.json.keyId).sort());
    expect(entries.filter((e) => e.action === 'tenant_create').every((e) => e.target === null)).toBe(true);

    const verdict = await verify(b);
    expect(verdict).toEqual({ ok: true, entries: 24, firstSeq: 1, lastSeq: 24, head: entries[23].hash });

    // The admin line of each mutation carries its entry's seq.
    const seqs = [...a.logs, ...b.logs].filter((l) => l.category === 'admin').map((l) => l.seq);
    expect([...seqs].sort((x, y) => Number(x) - Number(y))).toEqual(entries.map((e) => e.seq));
  });

  it('never holds a key, a token or a hash of one', async () => {
    const tenantId = id('secret');
    await ok(admin(a, 'POST', '/admin/tenants', tenantBody(tenantId)), 201);
    const token = await ok(admin(a, 'POST', `/admin/tenants/${tenantId}/tokens`, { role: 'admin' }), 201);
    secrets.push(token.json.token as string);
    const key = await ok(admin(a, 'POST', `/admin/tenants/${tenantId}/keys`, {}, token.json.token as string), 201);
    secrets.push(key.json.apiKey as string);
    const text = JSON.stringify(await raw.hgetall(ENTRIES));
    for (const secret of [...secrets, a.config.adminToken!]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(sha256Hex(secret));
    }
    const entries = await allEntries(a);
    expect(entries.at(-1)).toMatchObject({ action: 'key_create', actor: `tenant:${tenantId}/${token.json.tokenId}`, target: key.json.keyId });
    expect(entries.at(-2)).toMatchObject({ action: 'token_create', tenantId, target: token.json.tokenId });
  });

  it("shows a tenant token its own tenant's entries only", async () => {
    const tenantId = id('scoped');
    await ok(admin(a, 'POST', '/admin/tenants', tenantBody(tenantId)), 201);
    const viewer = await ok(admin(a, 'POST', `/admin/tenants/${tenantId}/tokens`, { role: 'viewer' }), 201);
    const seen = await allEntries(b, viewer.json.token as string);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.every((e) => e.tenantId === tenantId)).toBe(true);
    expect(await allEntries(a, undefined, `&tenantId=${tenantId}`)).toEqual(seen);
    expectProblem(await admin(b, 'GET', `/admin/audit?tenantId=${id('t0')}`, undefined, viewer.json.token as string), 404, 'tenant_not_found');
    expectProblem(await admin(b, 'GET', '/admin/audit/verify', undefined, viewer.json.token as string), 403, 'forbidden');
    expectProblem(await admin(b, 'GET', '/admin/audit?limit=1001&afterSeq=-1&x=1'), 400, 'invalid_request');
  });
});

describe('tampering straight in Redis', () => {
  /** Runs `tamper`, checks verify names `badSeq`, then restores the log exactly. */
  async function expectFound(tamper: (entries: Record<string, string>) => Promise<void>, badSeq: (last: number) => number): Promise<void> {
    const saved = await raw.hgetall(ENTRIES);
    const head = await raw.hgetall(HEAD);
    expect((await verify(a)).ok).toBe(true);
    try {
      await tamper(saved);
      const verdict = await verify(a);
      expect(verdict).toEqual({ ok: false, firstBadSeq: badSeq(Number(head.seq)), reason: expect.any(String) });
    } finally {
      await raw.del(ENTRIES);
      await raw.hset(ENTRIES, saved);
      await raw.hset(HEAD, head);
    }
    expect((await verify(a)).ok).toBe(true);
  }

  const edit = (json: string, change: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(json), ...change });

  it('finds an edited entry', async () => {
    await expectFound((e) => raw.hset(ENTRIES, '5', edit(e['5'], { action: 'tenant_update' })).then(() => undefined), () => 5);
  });

  it('finds an edited entry whose hash was recomputed to match', async () => {
    await expectFound(async (e) => {
      const changed = { ...JSON.parse(e['7']), actor: 'someone-else' };
      changed.hash = specHash(changed);
      await raw.hset(ENTRIES, '7', JSON.stringify(changed));
    }, () => 7);
  });

  it('finds a deleted entry', async () => {
    await expectFound((e) => raw.hdel(ENTRIES, '9').then(() => void e), () => 9);
  });

  it('finds two entries swapped', async () => {
    await expectFound(async (e) => {
      await raw.hset(ENTRIES, '3', e['4'], '4', e['3']);
    }, () => 3);
  });

  it('finds the newest entry removed, the head being kept apart', async () => {
    await expectFound((e) => raw.hdel(ENTRIES, String(Object.keys(e).length)).then(() => undefined), (last) => last);
  });
});

describe('AUDIT_MAX_ENTRIES', () => {
  it('trims the oldest entries, and what is kept still verifies from the oldest one kept', async () => {
    const small = await startGateway({ AUDIT_MAX_ENTRIES: '5' });
    try {
      for (let i = 0; i < 8; i++) await ok(admin(small, 'POST', '/admin/tenants', tenantBody(id(`trim${i}`))), 201);
      const entries = await allEntries(small);
      expect(entries.map((e) => e.seq)).toEqual([4, 5, 6, 7, 8]);
      expect(await verify(small)).toEqual({ ok: true, entries: 5, firstSeq: 4, lastSeq: 8, head: entries[4].hash });
    } finally {
      await small.close();
    }
  });

  it('trims on Redis too', async () => {
    const own = await startRedis({ ownServer: true });
    const trimmed = await startGateway({ REDIS_URL: own.url, AUDIT_MAX_ENTRIES: '3' });
    try {
      await waitReady(trimmed);
      for (let i = 0; i < 6; i++) await ok(admin(trimmed, 'POST', '/admin/tenants', tenantBody(id(`rtrim${i}`))), 201);
      const client = own.client();
      expect(Object.keys(await client.hgetall(ENTRIES)).sort()).toEqual(['4', '5', '6']);
      expect(await verify(trimmed)).toMatchObject({ ok: true, entries: 3, firstSeq: 4, lastSeq: 6 });
    } finally {
      await trimmed.close();
      await own.stop();
    }
  });
});

describe('the embedded store', () => {
  it('keeps the same chain and verifies it', async () => {
    const mem = await startGateway({});
    try {
      const tenantId = id('mem');
      await ok(admin(mem, 'POST', '/admin/tenants', tenantBody(tenantId)), 201);
      const key = await ok(admin(mem, 'POST', `/admin/tenants/${tenantId}/keys`, {}), 201);
      await ok(admin(mem, 'PATCH', `/admin/tenants/${tenantId}/keys/${key.json.keyId}`, { disabled: true }), 200);
      await ok(admin(mem, 'DELETE', `/admin/tenants/${tenantId}`), 204);
      const entries = await allEntries(mem);
      expect(entries.map((e) => [e.seq, e.action])).toEqual([
        [1, 'tenant_create'],
        [2, 'key_create'],
        [3, 'key_update'],
        [4, 'tenant_delete'],
      ]);
      for (const e of entries) expect(e.hash).toBe(specHash(e));
      expect(await verify(mem)).toEqual({ ok: true, entries: 4, firstSeq: 1, lastSeq: 4, head: entries[3].hash });
      await waitFor(() => mem.logs.some((l) => l.action === 'tenant_delete' && l.seq === 4), 1000, 'seq in the admin line');
    } finally {
      await mem.close();
    }
  });

  it('verifies an empty log', async () => {
    const mem = await startGateway({});
    try {
      expect(await verify(mem)).toEqual({ ok: true, entries: 0, firstSeq: null, lastSeq: null, head: ZEROS });
      expect((await ok(admin(mem, 'GET', '/admin/audit'), 200)).json).toEqual({ entries: [], nextAfterSeq: null });
    } finally {
      await mem.close();
    }
  });
});
