import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer, connect, Socket } from 'node:net';
import { Redis } from 'ioredis';

/** A Redis for tests: REDIS_URL when set, else a redis-server of our own on a free port. */
export interface RedisHandle {
  url: string;
  port: number;
  /** False for REDIS_URL: a server we did not start cannot be stopped or restarted. */
  canRestart: boolean;
  /** Kills our server (if any) and disconnects every client() handed out. */
  stop(): Promise<void>;
  /** Kills our server and starts a fresh, empty one on the same port; clients reconnect by themselves. */
  restart(): Promise<void>;
  /** A raw client for setting up and inspecting data by hand. */
  client(): Redis;
}

/**
 * Runs the command under a small node watchdog that SIGKILLs it when our stdin pipe closes (the test
 * process exited or crashed: jest gives each test file its own copy of `process`, whose 'exit' never fires)
 * or when the watchdog gets SIGTERM; the watchdog exits only after its child has.
 */
const WATCHDOG = `
const stdio = ['ignore', 'inherit', 'inherit'];
const child = require('node:child_process').spawn(process.argv[1], process.argv.slice(2), { stdio });
const kill = () => { try { child.kill('SIGKILL'); } catch {} };
process.stdin.on('end', kill).on('error', kill).resume();
process.on('SIGTERM', kill);
child.on('error', (err) => { process.stderr.write(String(err)); process.exit(127); });
child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGKILL' ? 0 : 1)));
`;

export interface SpawnedServer {
  /** Kills redis-server and resolves once it has exited. */
  kill(): Promise<void>;
}

/** A TCP port nothing listens on right now (the OS picks it; we close the probe at once). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** True when something on the port answers PING with +PONG. */
export function answersPing(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

/** Starts redis-server on the port with no persistence and waits (bounded) until it answers PING. */
export async function spawnRedisServer(
  port: number,
  extraArgs: string[] = [],
  waitMs = 10_000,
  /** A config file to start from (a Sentinel needs one it can write to). */
  configFile?: string,
): Promise<SpawnedServer> {
  const args = [...(configFile ? [configFile] : []), '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs];
  const child: ChildProcess = spawn(process.execPath, ['-e', WATCHDOG, 'redis-server', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Never keep the test process alive for this child: when it exits, the closed pipe tells the watchdog.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as Socket | null)?.unref();

  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };

  const deadline = Date.now() + waitMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited at start:\n${output}`);
    }
    if (await answersPing(port)) return { kill };
    if (Date.now() > deadline) {
      await kill();
      throw new Error(`redis-server on port ${port} did not answer PING within ${waitMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * True when redis-server can be started here. Tests that stop, restart or count every command of a
 * server need one of their own: a REDIS_URL server is not theirs to touch.
 */
export const canOwnServer = spawnSync('redis-server', ['--version']).status === 0;

export interface StartRedisOptions {
  /** Start our own server even when REDIS_URL is set (for tests that stop or restart it). */
  ownServer?: boolean;
}

function rawClient(url: string, clients: Set<Redis>): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(50 * n, 500) });
  client.on('error', () => undefined);
  clients.add(client);
  return client;
}

export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisHandle> {
  const clients = new Set<Redis>();
  const closeClients = (): void => {
    for (const client of clients) client.disconnect();
    clients.clear();
  };
  const external = process.env.REDIS_URL;
  if (external && !opts.ownServer) {
    const unsupported = (): Promise<void> =>
      Promise.reject(new Error('cannot restart the server at REDIS_URL: check canRestart'));
    return {
      url: external,
      port: Number(new URL(external).port || 6379),
      canRestart: false,
      stop: async () => closeClients(),
      restart: unsupported,
      client: () => rawClient(external, clients),
    };
  }

  // The port can be taken between probing and binding: try a few.
  let port = 0;
  let server: SpawnedServer | null = null;
  for (let attempt = 1; !server; attempt++) {
    port = await freePort();
    try {
      server = await spawnRedisServer(port);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  const url = `redis://127.0.0.1:${port}`;
  let running: SpawnedServer | null = server;
  return {
    url,
    port,
    canRestart: true,
    stop: async () => {
      closeClients();
      await running?.kill();
      running = null;
    },
    restart: async () => {
      await running?.kill();
      running = null;
      running = await spawnRedisServer(port);
    },
    client: () => rawClient(url, clients),
  };
}

/** Polls until check() holds, or fails with the message after timeoutMs. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  message: string,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${message}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
