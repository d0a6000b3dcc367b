import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { freePort, waitFor } from './redis-server';

/**
 * For the CLI tests: the built gateway (`node dist/main.js`) in a child process run from a given
 * directory, and the built admin CLI (`node dist/cli/sag.js`, the package's bin). Every process is
 * ended by its PID. The signal, worker and failover tests use gateway-process.ts.
 */

export const ROOT = resolve(__dirname, '../..');
const MAIN = resolve(ROOT, 'dist/main.js');
export const SAG = resolve(ROOT, 'dist/cli/sag.js');

export interface GatewayProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function assertBuilt(file: string): void {
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first (npm test does it)`);
}

/** Starts dist/main.js on 127.0.0.1 and a free port with `env` (plus PATH) in `cwd`; resolves once /healthz answers. */
export async function spawnGateway(env: Record<string, string>, cwd: string): Promise<GatewayProcess> {
  assertBuilt(MAIN);
  const port = await freePort();
  const proc = spawn(process.execPath, [MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((done) => proc.once('close', () => done()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`gateway exited (${proc.exitCode}) before listening:\n${output}`);
        return fetch(`${url}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
      },
      15_000,
      `gateway on ${url} to answer /healthz`,
      50,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, proc, output: () => output, stop };
}

export interface SagResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built sag with `args` and exactly `env` (plus PATH); bounded by `timeoutMs`. */
export function sag(args: string[], env: Record<string, string>, cwd: string, timeoutMs = 30_000): Promise<SagResult> {
  assertBuilt(SAG);
  return new Promise((done) => {
    execFile(
      process.execPath,
      [SAG, ...args],
      { cwd, env: { PATH: process.env.PATH ?? '', ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        done({ code, stdout, stderr });
      },
    );
  });
}
