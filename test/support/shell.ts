import { spawn } from 'node:child_process';

/** The docs' shell blocks, run as a reader runs them (docs-commands, cli-doc). */

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `script` with bash in its own process group, which is killed when it ends or after `ms`. */
export function runBash(script: string, env: Record<string, string>, cwd: string, ms: number): Promise<Run> {
  return new Promise((done) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(() => killGroup('SIGKILL'), ms);
    let exitCode: number | null = null;
    // What the script started in the background and did not stop still holds the pipes: stop it
    // once bash has exited, then read to the end.
    child.on('exit', (code) => {
      exitCode = code;
      killGroup('SIGTERM');
    });
    child.on('close', () => {
      clearTimeout(timer);
      done({ code: exitCode, stdout, stderr });
    });
  });
}
