import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO, startListening, stop } from './gateway-process';

/**
 * For the CLI tests: the built gateway (gateway-process.ts) run from a given directory, seen the way
 * these tests read it, and the built admin CLI (`node dist/cli/sag.js`, the package's bin). Every
 * process is ended by its PID.
 */

export const ROOT = REPO;
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
  const child = await startListening({ LOG_LEVEL: 'warn', ...env }, { cwd });
  return {
    url: child.url,
    port: child.port,
    proc: child.proc,
    output: () => child.stdout() + child.stderr(),
    // SIGTERM, then SIGKILL if it has not exited within 10 s.
    stop: async () => {
      await stop(child).catch(() => child.proc.kill('SIGKILL'));
    },
  };
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
