import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * Every process the benchmark starts goes through a ChildRegistry, so each one is stopped by its pid at
 * the end, on an error and on Ctrl-C. Node children also exit by themselves when their IPC channel to
 * the orchestrator closes (see child-ipc.ts), which covers an orchestrator that was killed outright.
 */

export interface Pinning {
  /** Why pinning is off, or which CPUs are used. */
  note: string;
  /** Load generator, upstream, Redis, JWKS server and the orchestrator. */
  loadCpu: number | null;
  /** The proxies under test: the baseline and the gateways. */
  proxyCpu: number | null;
}

/** The CPUs this process may run on, from `taskset -pc`; null without taskset. */
function allowedCpus(): number[] | null {
  const result = spawnSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return null;
  const list = /:\s*([\d,\s-]+)$/m.exec(result.stdout)?.[1] ?? '';
  const cpus: number[] = [];
  for (const part of list.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const [from, to] = part.split('-').map(Number);
    for (let cpu = from; cpu <= (to ?? from); cpu++) cpus.push(cpu);
  }
  return cpus;
}

export function detectPinning(requested: boolean): Pinning {
  if (!requested) return { note: 'off (BENCH_PIN=0)', loadCpu: null, proxyCpu: null };
  const cpus = allowedCpus();
  if (cpus === null) return { note: 'off (taskset not found)', loadCpu: null, proxyCpu: null };
  if (cpus.length < 2) return { note: `off (only CPU ${cpus.join(',')} available)`, loadCpu: null, proxyCpu: null };
  const [loadCpu, proxyCpu] = cpus;
  // The orchestrator samples /proc during runs: keep it off the proxies' CPU too.
  spawnSync('taskset', ['-a', '-pc', String(loadCpu), String(process.pid)], { stdio: 'ignore' });
  return { note: `on: proxies on CPU ${proxyCpu}; load generator, upstream, Redis, JWKS on CPU ${loadCpu}`, loadCpu, proxyCpu };
}

export interface StartOptions {
  /** Pin to this CPU with taskset (null: not pinned). */
  cpu: number | null;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Open an IPC channel (node children only). */
  ipc?: boolean;
  /** Keep stdout? Otherwise it goes to /dev/null so it can never fill a pipe. */
  stdout?: boolean;
}

export class BenchChild {
  readonly exited: Promise<void>;
  private stderrTail = '';
  private stdoutText = '';

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    proc.stderr?.on('data', (chunk: Buffer) => (this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000)));
    proc.stdout?.on('data', (chunk: Buffer) => (this.stdoutText = (this.stdoutText + chunk.toString()).slice(-1_000_000)));
    // An exited child's channel errors are reported through `exited`, not as unhandled errors.
    proc.on('error', (err) => (this.stderrTail += `\n${err.message}`));
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  get stdout(): string {
    return this.stdoutText;
  }

  /** Sends `signal`, waits up to `graceMs`, then SIGKILL. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
    const tooLate = await Promise.race([this.exited.then(() => false), late]);
    clearTimeout(timer);
    if (tooLate && this.running) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }

  /** The first IPC message `accept` returns a value for, within `timeoutMs`; fails if the child exits first. */
  waitForMessage<T>(accept: (message: unknown) => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onMessage = (message: unknown): void => {
        const value = accept(message);
        if (value === undefined) return;
        done();
        resolve(value);
      };
      const onExit = (): void => {
        done();
        reject(new Error(`${this.name} exited (${this.proc.exitCode ?? this.proc.signalCode}) before it was ready:\n${this.stderrTail}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name} did not answer within ${timeoutMs} ms:\n${this.stderrTail}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.proc.off('message', onMessage);
        this.proc.off('exit', onExit);
      };
      this.proc.on('message', onMessage);
      this.proc.once('exit', onExit);
    });
  }
}

export class ChildRegistry {
  private readonly children: BenchChild[] = [];

  start(name: string, command: string, args: string[], opts: StartOptions): BenchChild {
    const pinned = opts.cpu !== null;
    // taskset execs the command, so the pid we get is the command's own (for /proc readings).
    const file = pinned ? 'taskset' : command;
    const argv = pinned ? ['-c', String(opts.cpu), command, ...args] : args;
    const stdio: StdioOptions = ['ignore', opts.stdout ? 'pipe' : 'ignore', 'pipe'];
    if (opts.ipc) stdio.push('ipc');
    const proc = spawn(file, argv, { stdio, env: opts.env ?? process.env, cwd: opts.cwd });
    const child = new BenchChild(name, proc);
    this.children.push(child);
    return child;
  }

  /** Starts one of the benchmark's own node scripts (compiled next to this file) with an IPC channel. */
  startScript(name: string, script: string, args: string[], cpu: number | null): BenchChild {
    return this.start(name, process.execPath, [`${__dirname}/${script}.js`, ...args], { cpu, ipc: true });
  }

  /** Stops every child still running, newest first (by pid, one at a time). */
  async stopAll(): Promise<void> {
    for (const child of [...this.children].reverse()) await child.stop();
  }

  /** Children still running (for a last check that nothing is left behind). */
  get running(): BenchChild[] {
    return this.children.filter((c) => c.running);
  }
}

/** A node script of ours that says `{ type: 'ready', port }` over IPC (child-ipc.ts `announceReady`) once it can serve. */
export async function startServerScript(registry: ChildRegistry, name: string, script: string, args: string[], cpu: number | null): Promise<{ child: BenchChild; port: number }> {
  const child = registry.startScript(name, script, args, cpu);
  const port = await child.waitForMessage((m) => (isReady(m) ? m.port : undefined), 15_000);
  return { child, port };
}

function isReady(message: unknown): message is { type: 'ready'; port: number } {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'ready';
}

/** A TCP port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
