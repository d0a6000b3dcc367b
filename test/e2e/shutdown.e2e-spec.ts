import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { call } from '../support/http-call';
import {
  connects,
  exitWithin,
  generatedToken,
  killAll,
  MAIN,
  REPO,
  requireBuild,
  spawnGateway,
  startListening,
  stop,
  tenantWithKey,
  untilListening,
} from '../support/gateway-process';
import { waitFor } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';

/**
 * SPEC §11 "behind a load balancer": SHUTDOWN_DELAY_MS keeps serving while /readyz says 503, then the
 * listener closes with `Connection: close` and idle keep-alive connections closed, and the grace
 * period counts from the end of the delay. Also how an operator starts and stops it: `npm start`
 * hands signals to the gateway and does not rebuild, and a generated admin token is always shown.
 */

const ADMIN_TOKEN = 'shutdown-admin-token-0123456789abcdef';

/** A raw keep-alive HTTP/1.1 connection: the full text received, and when it closed. */
function rawConnection(port: number) {
  const socket = connect({ port, host: '127.0.0.1' });
  let received = '';
  let closedAt: number | null = null;
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  socket.once('close', () => (closedAt = Date.now()));
  return {
    send: (text: string) => socket.write(text),
    text: () => received,
    /** The head (status line and headers, lower-cased) of each response received so far. */
    heads: () => received.split('\r\n\r\n').filter((part) => part.startsWith('HTTP/1.1 ')).map((head) => head.toLowerCase()),
    closedAt: () => closedAt,
  };
}

let upstream: Upstream;

beforeAll(async () => {
  requireBuild();
  upstream = await startUpstream();
});

afterEach(killAll);

afterAll(async () => {
  await upstream.close();
});

describe('SHUTDOWN_DELAY_MS (SPEC §11)', () => {
  it('after SIGTERM: /readyz 503 at once, still serving for the delay, then the listener closes, Connection: close, idle connections closed, grace from the end of the delay, exit 0', async () => {
    const delayMs = 1500;
    const graceMs = 2000;
    const child = await startListening({ ADMIN_TOKEN, SHUTDOWN_DELAY_MS: String(delayMs), SHUTDOWN_GRACE_MS: String(graceMs) });
    const key = await tenantWithKey(child.url, ADMIN_TOKEN, 'delay', upstream);

    // An idle keep-alive connection (one request answered, kept open), as a load balancer keeps them.
    const idle = rawConnection(child.port);
    idle.send('GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n');
    await waitFor(() => idle.heads().length === 1, 2000, 'the first answer on the idle connection');
    expect(idle.heads()[0]).toContain('connection: keep-alive');

    const signalledAt = Date.now();
    child.proc.kill('SIGTERM');
    await waitFor(() => child.logs().some((l) => l.signal === 'SIGTERM'), 1000, 'SIGTERM logged');

    // During the delay: not ready, but new connections are accepted and served.
    const readiness = await call(child.url, '/readyz', { timeoutMs: 2000 });
    expect(readiness.status).toBe(503);
    const served = await call(child.url, '/api/during-delay', { headers: { 'x-api-key': key } });
    expect(served.status).toBe(200);
    // A request that will still be running when the listener closes, and past SHUTDOWN_GRACE_MS counted
    // from the signal (it ends about 2800 ms after it): it must complete, since the grace starts after the delay.
    const busy = rawConnection(child.port);
    busy.send(`GET /api/slow/2600 HTTP/1.1\r\nHost: gateway\r\nX-API-Key: ${key}\r\n\r\n`);
    await waitFor(() => upstream.received.some((r) => r.url === '/delay/slow/2600'), 2000, 'the slow request upstream');
    expect(Date.now() - signalledAt).toBeLessThan(delayMs);
    expect(child.exit).toBeNull();

    // After the delay: the listener refuses new connections, and the idle one is closed by the gateway.
    await waitFor(async () => !(await connects(child.port)), delayMs + 2000, 'the listener to close', 25);
    const refusedAt = Date.now();
    expect(refusedAt - signalledAt).toBeGreaterThanOrEqual(delayMs - 50);
    await waitFor(() => idle.closedAt() !== null, 2000, 'the idle connection to be closed');
    expect(idle.closedAt()! - signalledAt).toBeGreaterThanOrEqual(delayMs - 50);

    // The in-flight request completes, telling its client not to reuse the connection.
    await waitFor(() => busy.closedAt() !== null, 5000, 'the busy connection to be closed after its answer');
    const heads = busy.heads();
    expect(heads).toHaveLength(1);
    expect(heads[0]).toMatch(/^http\/1\.1 200 /);
    expect(heads[0]).toContain('connection: close');
    expect(busy.closedAt()! - signalledAt).toBeGreaterThan(graceMs);
    expect(upstream.aborted).not.toContain('/delay/slow/2600');

    const exit = await exitWithin(child, delayMs + graceMs + 3000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    // It left once drained, well before delay + grace.
    expect(exit.at - signalledAt).toBeLessThan(delayMs + graceMs);
    expect(child.stderr()).toBe('');
  });

  it('a request still running SHUTDOWN_GRACE_MS after the delay is cut, and the process exits 0', async () => {
    const delayMs = 500;
    const graceMs = 500;
    const child = await startListening({ ADMIN_TOKEN, SHUTDOWN_DELAY_MS: String(delayMs), SHUTDOWN_GRACE_MS: String(graceMs) });
    const key = await tenantWithKey(child.url, ADMIN_TOKEN, 'cutoff', upstream);
    const slow = call(child.url, '/api/slow/8000', { headers: { 'x-api-key': key }, timeoutMs: 10_000 }).then(
      (reply) => `status ${reply.status}`,
      (err: NodeJS.ErrnoException) => err.code ?? err.message,
    );
    await waitFor(() => upstream.received.some((r) => r.url === '/cutoff/slow/8000'), 2000, 'the slow request upstream');
    const signalledAt = Date.now();
    child.proc.kill('SIGTERM');
    const exit = await exitWithin(child, delayMs + graceMs + 4000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeGreaterThanOrEqual(delayMs + graceMs - 50);
    expect(await slow).not.toBe('status 200');
  });
});

describe('the generated admin token reaches the operator whatever LOG_LEVEL says', () => {
  it.each(['error', 'silent'])('LOG_LEVEL=%s: logged once, and it works', async (level) => {
    const child = await startListening({ LOG_LEVEL: level });
    await waitFor(() => generatedToken(child) !== '', 5000, 'the generated token on stdout');
    const token = generatedToken(child);
    expect(token.length).toBeGreaterThanOrEqual(16);
    expect((await call(child.url, '/admin/tenants', { headers: { 'x-admin-token': token } })).status).toBe(200);
    expect((await stop(child)).code).toBe(0);
    expect(child.stdout().split(token).length - 1).toBe(1);
    // Nothing else of a lower priority than the level was written.
    if (level === 'silent') expect(child.logs()).toHaveLength(1);
    else expect(child.logs().filter((l) => l.level !== 'error' && l.level !== 'fatal')).toHaveLength(1);
  });
});

describe('npm start', () => {
  it('does not rebuild a current dist/, and SIGTERM to npm stops the gateway gracefully (exit 0, port closed)', async () => {
    // A current build is this test's premise: `npm test` builds just before (pretest).
    const check = () => execFileSync(process.execPath, ['scripts/dist-is-current.js'], { cwd: REPO, stdio: 'pipe' });
    expect(check).not.toThrow();
    const builtAt = statSync(MAIN).mtimeMs;

    const npm = await spawnGateway(
      { ADMIN_TOKEN, HOME: process.env.HOME ?? tmpdir(), LOG_LEVEL: 'info' },
      { command: ['npm', 'start', '--silent'] },
    );
    await untilListening(npm, 30_000);
    expect(statSync(MAIN).mtimeMs).toBe(builtAt);

    npm.proc.kill('SIGTERM');
    const exit = await exitWithin(npm, 10_000);
    expect(exit.code).toBe(0);
    // The gateway itself got the signal and drained: its own lines say so, and nothing listens any more.
    const logs = npm.logs();
    expect(logs.some((l) => l.signal === 'SIGTERM')).toBe(true);
    expect(logs.some((l) => l.msg === 'gateway stopped')).toBe(true);
    expect(await connects(npm.port)).toBe(false);
  });
});

describe('scripts/dist-is-current.js (npm prestart)', () => {
  const script = resolve(REPO, 'scripts/dist-is-current.js');
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-prestart-'));
    mkdirSync(join(dir, 'src/nested'), { recursive: true });
    writeFileSync(join(dir, 'src/nested/a.ts'), '');
    writeFileSync(join(dir, 'tsconfig.json'), '{}');
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const current = (): boolean => {
    try {
      execFileSync(process.execPath, [script], { cwd: dir, stdio: 'pipe' });
      return true;
    } catch {
      return false;
    }
  };
  const at = (file: string, seconds: number) => utimesSync(join(dir, file), seconds, seconds);

  it('builds when dist/main.js is missing, or older than a source or config file; not otherwise', () => {
    expect(current()).toBe(false);
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist/main.js'), '');
    at('src/nested/a.ts', 1000);
    at('tsconfig.json', 1000);
    at('dist/main.js', 2000);
    expect(current()).toBe(true);
    at('src/nested/a.ts', 3000);
    expect(current()).toBe(false);
    at('src/nested/a.ts', 1000);
    at('tsconfig.json', 3000);
    expect(current()).toBe(false);
  });
});
