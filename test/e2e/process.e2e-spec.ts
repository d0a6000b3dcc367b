import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connects,
  exitWithin,
  killAll,
  requireBuild,
  spawnGateway as spawnProcess,
  startListening as startProcess,
  stop,
  tenantWithKey as createTenantWithKey,
  type GatewayProcess,
} from '../support/gateway-process';
import { freePort, sleep, waitFor } from '../support/redis-server';
import { call } from '../support/http-call';
import { startUpstream, type Upstream } from '../support/upstream';

/**
 * The built gateway as production runs it (`node dist/main.js`, SPEC §2), as a child process with a
 * controlled environment: configuration errors (§9), a newcomer's first run (§2), logs (§8) and
 * SIGTERM draining (§10). `npm test` builds dist/ first (pretest).
 */

const ADMIN_TOKEN = 'process-admin-token-0123456789abcdef';
const CATEGORIES = ['auth', 'policy', 'request', 'admin', 'system'];

/** A working directory of our own, so a developer's .env in the repository never leaks into these runs. */
let cwd: string;

const spawnGateway = (env: Record<string, string> = {}): Promise<GatewayProcess> => spawnProcess(env, { cwd });
const startListening = (env: Record<string, string> = {}): Promise<GatewayProcess> => startProcess(env, { cwd });

/** A raw HTTP/1.1 connection, to pipeline requests on one socket; collects the response status lines. */
function rawConnection(port: number): { send(text: string): void; text(): string; statuses(): number[]; closed(ms: number): Promise<void> } {
  const socket = connect({ port, host: '127.0.0.1' });
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((done) => socket.once('close', () => done()));
  return {
    send: (text) => socket.write(text),
    text: () => received,
    statuses: () => [...received.matchAll(/(?:^|\r\n)HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1])),
    closed: async (ms) => {
      const timer = setTimeout(() => socket.destroy(new Error('raw connection still open')), ms);
      await closed;
      clearTimeout(timer);
    },
  };
}

/** Creates a tenant routed to the upstream (all paths allowed) and returns a new API key for it. */
const tenantWithKey = (child: GatewayProcess, id: string, upstream: Upstream, token = ADMIN_TOKEN): Promise<string> =>
  createTenantWithKey(child.url, token, id, upstream);

/** Every stdout line is a JSON object with a SPEC §8 category. */
function expectJsonLogLines(child: GatewayProcess): void {
  const lines = child.lines();
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new Error(`stdout line is not JSON: ${line}`);
    }
    expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)).toBe(true);
    const category = (parsed as Record<string, unknown>).category;
    if (typeof category !== 'string' || !CATEGORIES.includes(category)) {
      throw new Error(`stdout line without a SPEC §8 category: ${line}`);
    }
  }
}

beforeAll(() => {
  requireBuild();
  cwd = mkdtempSync(join(tmpdir(), 'gw-process-'));
});

// Every child this file started, by its own PID; SIGKILL is enough for a process that outlived its test.
afterEach(killAll);

afterAll(() => {
  rmSync(cwd, { recursive: true, force: true });
});

/** The one `fatal` line a process that refuses to start writes; every stdout line must be JSON. */
function fatalLine(child: GatewayProcess): Record<string, unknown> {
  expectJsonLogLines(child);
  const fatal = child.logs().filter((l) => l.level === 'fatal');
  expect(fatal).toHaveLength(1);
  expect(fatal[0].category).toBe('system');
  return fatal[0];
}

/** The variables a fatal configuration line names, in its `problems` and in its message. */
function namedVariables(line: Record<string, unknown>): string[] {
  const variables = (line.problems as { variable: string; message: string }[]).map((p) => p.variable);
  for (const variable of variables) expect(String(line.msg)).toContain(variable);
  return variables;
}

describe('configuration errors stop the process, naming the variable (SPEC §9)', () => {
  it('PORT=abc exits 1 with one JSON fatal line naming PORT, and starts nothing', async () => {
    const child = await spawnGateway({ PORT: 'abc' });
    const exit = await exitWithin(child, 10_000);
    expect(exit.code).toBe(1);
    const fatal = fatalLine(child);
    expect(namedVariables(fatal)).toEqual(['PORT']);
    expect(fatal.problems).toEqual([{ variable: 'PORT', message: expect.stringContaining('integer') as string }]);
    // Nothing was started: no other line (the server logs "gateway started" once it listens), nothing on stderr.
    expect(child.lines()).toHaveLength(1);
    expect(child.stderr()).toBe('');
  });

  it('names every bad variable at once', async () => {
    const child = await spawnGateway({ PORT: 'abc', LOG_LEVEL: 'loud' });
    const exit = await exitWithin(child, 10_000);
    expect(exit.code).toBe(1);
    expect(namedVariables(fatalLine(child)).sort()).toEqual(['LOG_LEVEL', 'PORT']);
    expect(child.stdout()).not.toMatch(/gateway started/);
  });

  it('says why even at LOG_LEVEL=silent', async () => {
    const child = await spawnGateway({ PORT: 'abc', LOG_LEVEL: 'silent' });
    expect((await exitWithin(child, 10_000)).code).toBe(1);
    expect(namedVariables(fatalLine(child))).toEqual(['PORT']);
  });

  it('a bad value on a valid port never listens on it, not even briefly', async () => {
    const child = await spawnGateway({ LOG_LEVEL: 'loud', ADMIN_TOKEN });
    // Probe the port over and over for as long as the process lives.
    let accepted = 0;
    let probing = true;
    const probes = (async () => {
      while (probing) {
        if (await connects(child.port)) accepted++;
        await sleep(10);
      }
    })();
    const exit = await exitWithin(child, 10_000).finally(() => (probing = false));
    await probes;
    expect(exit.code).toBe(1);
    expect(namedVariables(fatalLine(child))).toEqual(['LOG_LEVEL']);
    expect(accepted).toBe(0);
  });

  it('a port already in use exits non-zero with the reason, promptly', async () => {
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    try {
      const taken = (blocker.address() as AddressInfo).port;
      const child = await spawnGateway({ PORT: String(taken), ADMIN_TOKEN });
      const exit = await exitWithin(child, 15_000);
      expect(exit.code).toBe(1);
      const fatal = fatalLine(child);
      expect(fatal.msg).toBe('gateway failed to start');
      expect(String(fatal.reason)).toMatch(/EADDRINUSE|in use/i);
      expect(child.stderr()).toBe('');
    } finally {
      await new Promise<void>((done) => blocker.close(() => done()));
    }
  });

  it('an invalid TENANTS_FILE exits non-zero naming TENANTS_FILE, and so does a missing one', async () => {
    const invalid = join(cwd, 'tenants-invalid.json');
    writeFileSync(invalid, JSON.stringify({ tenants: [{ id: 'acme', upstreamBaseUrl: 'ftp://nope', allowedRoutes: [] }] }));
    const bad = await spawnGateway({ TENANTS_FILE: invalid, ADMIN_TOKEN });
    const badExit = await exitWithin(bad, 15_000);
    expect(badExit.code).toBe(1);
    const badLine = fatalLine(bad);
    expect(namedVariables(badLine)).toEqual(['TENANTS_FILE']);
    expect(JSON.stringify(badLine.problems)).toContain('tenants[0].upstreamBaseUrl');
    expect(bad.stdout()).not.toMatch(/gateway started/);

    const missing = await spawnGateway({ TENANTS_FILE: join(cwd, 'no-such-file.json'), ADMIN_TOKEN });
    const missingExit = await exitWithin(missing, 15_000);
    expect(missingExit.code).toBe(1);
    expect(namedVariables(fatalLine(missing))).toEqual(['TENANTS_FILE']);
  });

  it('a variable that looks like one of ours (REDIS_ULR) is a warning naming the one it probably meant', async () => {
    const child = await startListening({ ADMIN_TOKEN, REDIS_ULR: 'redis://127.0.0.1:6379/0' });
    await waitFor(() => child.logs().some((l) => l.msg === 'gateway started'), 5000, 'the gateway to start');
    const warnings = child.logs().filter((l) => l.level === 'warn' && l.variable === 'REDIS_ULR');
    expect(warnings).toEqual([
      expect.objectContaining({ category: 'system', suggestion: 'REDIS_URL', msg: expect.stringContaining('REDIS_URL') as string }),
    ]);
    // The value is not repeated, and REDIS_URL was not read from it: the embedded store serves.
    expect(child.stdout()).not.toContain('redis://127.0.0.1:6379/0');
    expect(child.logs().find((l) => l.msg === 'gateway started')).toMatchObject({ store: 'memory' });
    expect((await stop(child)).code).toBe(0);
  });
});

describe('the built gateway (node dist/main.js)', () => {
  let upstream: Upstream;

  beforeAll(async () => {
    upstream = await startUpstream();
  });

  afterAll(async () => {
    await upstream.close();
  });

  it("a newcomer's first run, without Redis: warns about the in-memory store, serves admin and proxies", async () => {
    const child = await startListening({ ADMIN_TOKEN });

    // The warning is a JSON system line (pino writes asynchronously: give it a moment).
    await waitFor(
      () => child.logs().some((l) => l.level === 'warn' && l.category === 'system' && /in-memory/i.test(String(l.msg))),
      5000,
      'the in-memory store warning on stdout',
    );

    expect((await call(child.url, '/healthz')).status).toBe(200);
    expect((await call(child.url, '/readyz')).status).toBe(200);
    const key = await tenantWithKey(child, 'newcomer', upstream);
    const proxied = await call(child.url, '/api/v1/hello?x=1', { headers: { 'x-api-key': key } });
    expect(proxied.status).toBe(200);
    expect(proxied.json).toMatchObject({ method: 'GET', url: '/newcomer/v1/hello?x=1' });
    expect((proxied.json!.headers as Record<string, unknown>)['x-tenant-id']).toBe('newcomer');
    expect((proxied.json!.headers as Record<string, unknown>)['x-api-key']).toBeUndefined();

    // Without a key, with a wrong one, and with a wrong admin token: denied.
    expect((await call(child.url, '/api/v1/hello')).status).toBe(401);
    expect((await call(child.url, '/api/v1/hello', { headers: { 'x-api-key': 'sk_wrong_key_0123456789' } })).status).toBe(401);
    expect((await call(child.url, '/admin/tenants', { headers: { 'x-admin-token': 'not-the-token-0123456789' } })).status).toBe(401);

    expect((await stop(child)).code).toBe(0);
  });

  it('ADMIN_PORT: the control plane on its own listener, logged at start; SIGTERM closes both and exits 0', async () => {
    const adminPort = await freePort();
    const child = await startListening({ ADMIN_TOKEN, ADMIN_PORT: String(adminPort), LOG_LEVEL: 'info' });
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    await waitFor(() => child.logs().some((l) => l.msg === 'gateway started'), 5000, 'the start line');
    expect(child.logs().find((l) => l.msg === 'gateway started')).toMatchObject({ adminHost: '127.0.0.1', adminPort });

    const headers = { 'x-admin-token': ADMIN_TOKEN };
    const tenant = { id: 'split', upstreamBaseUrl: `${upstream.url}/split`, allowedRoutes: [{ path: '/' }] };
    expect((await call(adminUrl, '/admin/tenants', { method: 'POST', headers, body: tenant })).status).toBe(201);
    expect((await call(child.url, '/admin/tenants', { headers })).status).toBe(404);
    const key = await call(adminUrl, '/admin/tenants/split/keys', { method: 'POST', headers, body: {} });
    expect((await call(child.url, '/api/x', { headers: { 'x-api-key': key.json!.apiKey as string } })).status).toBe(200);
    expect((await call(adminUrl, '/metrics', { headers })).status).toBe(200);

    expect((await stop(child)).code).toBe(0);
    expect(await connects(adminPort)).toBe(false);
  });

  it('without ADMIN_TOKEN, logs a generated token once; it works, an empty or wrong one does not', async () => {
    const child = await startListening({});
    let token = '';
    await waitFor(
      () => {
        const line = child.logs().find((l) => l.category === 'system' && /ADMIN_TOKEN/.test(String(l.msg)));
        const candidates = Object.entries(line ?? {}).filter(
          ([field, value]) => !['msg', 'level', 'time', 'category'].includes(field) && typeof value === 'string',
        );
        token = (candidates.find(([, value]) => /^\S{16,}$/.test(value as string))?.[1] as string | undefined) ?? '';
        return token !== '';
      },
      5000,
      'a system log line carrying the generated ADMIN_TOKEN',
    );
    expect(token.length).toBeGreaterThanOrEqual(16);

    expect((await call(child.url, '/admin/tenants', { headers: { 'x-admin-token': token } })).status).toBe(200);
    // No header, an empty one, and near misses.
    const attempts: Record<string, string>[] = [
      {},
      { 'x-admin-token': '' },
      { 'x-admin-token': `${token}x` },
      { 'x-admin-token': token.slice(1) },
    ];
    for (const headers of attempts) {
      const denied = await call(child.url, '/admin/tenants', { headers });
      expect({ status: denied.status, code: denied.json?.code }).toEqual({ status: 401, code: 'invalid_admin_token' });
    }

    expect((await stop(child)).code).toBe(0);
    // Logged once, and only in that one line.
    expect(child.stdout().split(token).length - 1).toBe(1);
    expect(child.stderr()).not.toContain(token);
  });

  it('every stdout line is JSON with a SPEC §8 category, across start, requests, denials, admin and shutdown', async () => {
    const child = await startListening({ ADMIN_TOKEN, LOG_LEVEL: 'trace' });
    const key = await tenantWithKey(child, 'logs', upstream);
    await call(child.url, '/api/ok', { headers: { 'x-api-key': key } });
    await call(child.url, '/api/ok');
    await call(child.url, '/api/ok', { headers: { 'x-api-key': 'sk_wrong_key_0123456789' } });
    await call(child.url, '/api/a/%2F/b', { headers: { 'x-api-key': key } });
    await call(child.url, '/admin/tenants', { headers: { 'x-admin-token': 'wrong-token-0123456789' } });
    await call(child.url, '/admin/tenants/nope', { headers: { 'x-admin-token': ADMIN_TOKEN } });
    await call(child.url, '/admin/tenants', { method: 'POST', headers: { 'x-admin-token': ADMIN_TOKEN }, body: { id: '' } });
    await call(child.url, '/no-such-route');
    await call(child.url, '/readyz');
    expect((await stop(child)).code).toBe(0);

    expectJsonLogLines(child);
    const logs = child.logs();
    // Shutdown was logged too, and every request ended with one request line.
    expect(logs.some((l) => l.category === 'system' && l.signal === 'SIGTERM')).toBe(true);
    expect(logs.filter((l) => l.category === 'request').length).toBeGreaterThanOrEqual(11);
    // Denials carry decision/reason under auth or policy.
    expect(logs.some((l) => l.category === 'auth' && l.decision === 'deny' && l.reason === 'missing_api_key')).toBe(true);
    expect(logs.some((l) => l.category === 'policy' && l.decision === 'deny' && l.reason === 'bad_path')).toBe(true);
  });

  it('a graceful exit loses no buffered log line: every request answered before SIGTERM has its request line', async () => {
    const child = await startListening({ ADMIN_TOKEN });
    const key = await tenantWithKey(child, 'flush', upstream);
    const total = 400;
    let sent = 0;
    // 20 clients in parallel, so log lines pile up in the asynchronous stdout buffer.
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (sent < total) {
          const n = sent++;
          // 200 or, past the default rate limit, 429: either way answered, and logged.
          expect([200, 429]).toContain((await call(child.url, `/api/flush/${n}`, { headers: { 'x-api-key': key } })).status);
        }
      }),
    );
    // Signalled right after the last answer, while its lines may still be buffered.
    expect((await stop(child, 10_000)).code).toBe(0);
    const paths = new Set(child.logs().filter((l) => l.category === 'request' && typeof l.path === 'string' && l.path.startsWith('/api/flush/')).map((l) => l.path));
    expect(paths.size).toBe(total);
  });

  it('SIGTERM: readiness drops at once, the in-flight request completes, then exit 0', async () => {
    const graceMs = 5000;
    const child = await startListening({ ADMIN_TOKEN, SHUTDOWN_GRACE_MS: String(graceMs) });
    const key = await tenantWithKey(child, 'drain', upstream);

    const startedAt = Date.now();
    const inflight = call(child.url, '/api/slow/1500', { headers: { 'x-api-key': key } });
    inflight.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    // A second in-flight request on a raw connection, to ask /readyz on that same (busy, so kept) connection later.
    const raw = rawConnection(child.port);
    raw.send(`GET /api/slow/1400 HTTP/1.1\r\nHost: gateway\r\nX-API-Key: ${key}\r\n\r\n`);
    await waitFor(
      () => ['/drain/slow/1500', '/drain/slow/1400'].every((url) => upstream.received.some((r) => r.url === url)),
      2000,
      'both slow requests upstream',
    );
    await sleep(Math.max(0, startedAt + 200 - Date.now()));
    const signalledAt = Date.now();
    child.proc.kill('SIGTERM');

    // A signal is asynchronous: a request racing it may still be answered 200. Once the process has taken the
    // signal (its log line, bounded), /readyz must no longer say ready.
    await waitFor(() => child.logs().some((l) => l.category === 'system' && l.signal === 'SIGTERM'), 1000, 'SIGTERM logged');
    // On a new connection: 503, or the listener is closed already.
    const readiness = await call(child.url, '/readyz', { timeoutMs: 2000 }).then(
      (reply) => String(reply.status),
      (err: NodeJS.ErrnoException) => err.code ?? err.message,
    );
    expect(['503', 'ECONNREFUSED', 'ECONNRESET']).toContain(readiness);
    // The connection still busy with an in-flight request gets its answer, with `Connection: close` (SPEC §11):
    // the request pipelined behind it is left for the client to send elsewhere.
    raw.send('GET /readyz HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n');
    await raw.closed(5000);
    expect(raw.statuses()).toEqual([200]);
    expect(raw.text().toLowerCase()).toContain('\r\nconnection: close\r\n');

    const reply = await inflight;
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ url: '/drain/slow/1500' });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1500);

    const exit = await exitWithin(child, graceMs + 3000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    // It exits once drained, not at the end of the grace period.
    expect(exit.at - signalledAt).toBeLessThan(graceMs);
    expect(upstream.aborted).not.toContain('/drain/slow/1500');
    expectJsonLogLines(child);
  });

  it('SIGTERM: a request still running after SHUTDOWN_GRACE_MS is cut, and the process exits 0', async () => {
    const graceMs = 300;
    const child = await startListening({ ADMIN_TOKEN, SHUTDOWN_GRACE_MS: String(graceMs) });
    const key = await tenantWithKey(child, 'cut', upstream);

    const startedAt = Date.now();
    const slow = call(child.url, '/api/slow/5000', { headers: { 'x-api-key': key }, timeoutMs: 10_000 }).then(
      (reply) => `status ${reply.status}`,
      (err: NodeJS.ErrnoException) => err.code ?? err.message,
    );
    await waitFor(() => upstream.received.some((r) => r.url === '/cut/slow/5000'), 2000, 'the slow request upstream');
    await sleep(Math.max(0, startedAt + 200 - Date.now()));
    const signalledAt = Date.now();
    child.proc.kill('SIGTERM');

    const exit = await exitWithin(child, graceMs + 4000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    const took = exit.at - signalledAt;
    expect(took).toBeGreaterThanOrEqual(graceMs - 50);
    expect(took).toBeLessThan(graceMs + 3000);

    // The client's request was cut (no 200 after 5 s), and the gateway aborted its upstream request.
    const outcome = await slow;
    expect(outcome).not.toBe('status 200');
    expect(Date.now() - startedAt).toBeLessThan(5000);
    await waitFor(() => upstream.aborted.includes('/cut/slow/5000'), 2000, 'the upstream request to be aborted');
    expectJsonLogLines(child);
  });

  it('SIGTERM still exits 0 when nothing reads its stdout any more (a log pipe that went away)', async () => {
    const child = await startListening({ ADMIN_TOKEN });
    // Close our end of the pipe: every later log write fails with EPIPE.
    child.proc.stdout?.destroy();
    for (let i = 0; i < 5; i++) expect((await call(child.url, '/healthz', { timeoutMs: 2000 })).status).toBe(200);
    const exit = await stop(child, 5000);
    expect(exit).toMatchObject({ code: 0, signal: null });
  });

  it('with Redis unreachable from the start, the process stays up, not ready, answers 503, and stops cleanly', async () => {
    const deadPort = await freePort();
    const child = await startListening({ ADMIN_TOKEN, REDIS_URL: `redis://127.0.0.1:${deadPort}` });
    // Several reconnect attempts later (each one an ioredis error event), it is still alive.
    await sleep(1500);
    expect(child.exit).toBeNull();
    expect((await call(child.url, '/healthz')).status).toBe(200);
    expect((await call(child.url, '/readyz', { timeoutMs: 3000 })).status).toBe(503);
    const denied = await call(child.url, '/api/x', { headers: { 'x-api-key': 'sk_some_key_0123456789abcdef' }, timeoutMs: 3000 });
    expect({ status: denied.status, code: denied.json?.code }).toEqual({ status: 503, code: 'state_unavailable' });
    expect(child.exit).toBeNull();

    const signalledAt = Date.now();
    const exit = await stop(child, 5000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(3000);
    expectJsonLogLines(child);
    expect(child.stderr()).toBe('');
  });

  it('writes no secret to its output: API key, admin token, query strings', async () => {
    const child = await startListening({ ADMIN_TOKEN, LOG_LEVEL: 'trace' });
    const key = await tenantWithKey(child, 'secrets', upstream);
    const querySecret = 'SECRET-query-value-5f0e2c';
    const bearer = 'eyJhbGciOiJSUzI1NiJ9.SECRET-bearer.sig';

    expect((await call(child.url, `/api/v1/data?token=${querySecret}`, { headers: { 'x-api-key': key } })).status).toBe(200);
    await call(child.url, `/api/v1/data?token=${querySecret}`, { headers: { 'x-api-key': key, authorization: `Bearer ${bearer}` } });
    await call(child.url, `/api/a/%2F?token=${querySecret}`, { headers: { 'x-api-key': key } });
    await call(child.url, `/api/v1/data?token=${querySecret}`, { headers: { 'x-api-key': `${key}-wrong` } });
    await call(child.url, `/admin/tenants?token=${querySecret}`, { headers: { 'x-admin-token': ADMIN_TOKEN } });
    await call(child.url, `/admin/tenants/secrets/keys?token=${querySecret}`, { headers: { 'x-admin-token': ADMIN_TOKEN } });
    await call(child.url, '/admin/tenants', { headers: { 'x-admin-token': `${ADMIN_TOKEN}-wrong` } });
    await call(child.url, `/nowhere?token=${querySecret}`, { headers: { cookie: `session=${querySecret}` } });
    expect((await stop(child)).code).toBe(0);

    const output = child.stdout() + child.stderr();
    expect(child.lines().length).toBeGreaterThan(5);
    for (const secret of [key, ADMIN_TOKEN, querySecret, bearer]) expect(output).not.toContain(secret);
    // The requests were logged, with their path and without the query.
    expect(child.logs().some((l) => l.category === 'request' && l.path === '/api/v1/data' && l.status === 200)).toBe(true);
  });
});
