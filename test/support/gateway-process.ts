import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { call } from './http-call';
import { freePort, waitFor } from './redis-server';
import type { Upstream } from './upstream';

/**
 * The built gateway run as production runs it (`node dist/main.js`), as child processes with a
 * controlled environment, for the tests of signals, workers, load balancers and failover. Every
 * process started here is registered, so `killAll()` (an afterEach) can SIGKILL what a failed test
 * left behind, by its own pid.
 */

export const MAIN = resolve(__dirname, '../../dist/main.js');
export const REPO = resolve(__dirname, '../..');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() when the process exited. */
  at: number;
}

export interface GatewayProcess {
  proc: ChildProcess;
  port: number;
  url: string;
  stdout(): string;
  stderr(): string;
  /** stdout split into lines, empty ones left out (every one must be JSON, checked where it matters). */
  lines(): string[];
  /** stdout's JSON lines, parsed (other lines, such as npm's banner, are skipped). */
  logs(): Record<string, unknown>[];
  exited: Promise<Exit>;
  exit: Exit | null;
}

const children = new Set<GatewayProcess>();

export function requireBuild(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx nest build\` first (npm test does it)`);
}

export interface SpawnOptions {
  /** The command and its arguments; `node dist/main.js` unless given. */
  command?: [string, ...string[]];
  cwd?: string;
  /** A port to use rather than a free one. */
  port?: number;
}

/** Starts the gateway with exactly `env` (plus PATH), HOST=127.0.0.1 and a free port. */
export async function spawnGateway(env: Record<string, string> = {}, opts: SpawnOptions = {}): Promise<GatewayProcess> {
  const port = opts.port ?? (await freePort());
  const [command, ...args] = opts.command ?? [process.execPath, MAIN];
  const proc = spawn(command, args, {
    cwd: opts.cwd ?? REPO,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const child: GatewayProcess = {
    proc,
    port,
    // env may name the port itself (a test of PORT's own handling).
    url: `http://127.0.0.1:${env.PORT ?? port}`,
    stdout: () => out,
    stderr: () => err,
    lines: () => out.split('\n').filter((line) => line.trim() !== ''),
    logs: () =>
      out
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    exit: null,
    // 'close' rather than 'exit': stdout and stderr are complete by then.
    exited: new Promise<Exit>((done) =>
      proc.once('close', (code, signal) => {
        child.exit = { code, signal, at: Date.now() };
        done(child.exit);
      }),
    ),
  };
  children.add(child);
  return child;
}

/** Resolves once the child is gone, failing after `ms` (then killAll kills it). */
export async function exitWithin(child: GatewayProcess, ms: number): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`gateway did not exit within ${ms} ms\nstdout:\n${child.stdout()}\nstderr:\n${child.stderr()}`)),
      ms,
    );
  });
  try {
    return await Promise.race([child.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits (bounded) until GET /healthz answers 200; fails early, with its output, if the child exits. */
export async function untilListening(child: GatewayProcess, ms = 20_000): Promise<void> {
  await waitFor(
    async () => {
      if (child.exit) throw new Error(`gateway exited (${child.exit.code}) before listening:\n${child.stderr()}\n${child.stdout()}`);
      try {
        return (await call(child.url, '/healthz', { timeoutMs: 1000 })).status === 200;
      } catch {
        return false;
      }
    },
    ms,
    `gateway on ${child.url} to answer /healthz`,
    50,
  );
}

export async function startListening(env: Record<string, string> = {}, opts: SpawnOptions = {}): Promise<GatewayProcess> {
  const child = await spawnGateway(env, opts);
  await untilListening(child);
  return child;
}

/** SIGTERM, then the exit (bounded); returns it. */
export async function stop(child: GatewayProcess, ms = 10_000): Promise<Exit> {
  if (child.exit) return child.exit;
  child.proc.kill('SIGTERM');
  return exitWithin(child, ms);
}

/** SIGKILLs every child still running (each by its own pid) and forgets them all. */
export async function killAll(): Promise<void> {
  for (const child of children) {
    if (!child.exit) {
      child.proc.kill('SIGKILL');
      await exitWithin(child, 5000).catch(() => undefined);
    }
  }
  children.clear();
}

/** True when a TCP connection to the port succeeds now. */
export function connects(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setTimeout(500, () => socket.destroy());
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/** Creates a tenant routed to the upstream (all paths allowed) and returns a new API key for it. */
export async function tenantWithKey(
  base: string,
  token: string,
  id: string,
  upstream: Pick<Upstream, 'url'>,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const headers = { 'x-admin-token': token };
  const tenant = { id, upstreamBaseUrl: `${upstream.url}/${id}`, allowedRoutes: [{ path: '/' }], ...extra };
  const created = await call(base, '/admin/tenants', { method: 'POST', headers, body: tenant });
  if (created.status !== 201) throw new Error(`tenant ${id}: ${created.status} ${created.text}`);
  const key = await call(base, `/admin/tenants/${id}/keys`, { method: 'POST', headers, body: {} });
  if (key.status !== 201 || typeof key.json?.apiKey !== 'string') throw new Error(`key for ${id}: ${key.status} ${key.text}`);
  return key.json.apiKey;
}

/** The generated admin token a process logged (the field of its one line that says so), or ''. */
export function generatedToken(child: GatewayProcess): string {
  const line = child.logs().find((l) => typeof l.generatedAdminToken === 'string');
  return (line?.generatedAdminToken as string | undefined) ?? '';
}
