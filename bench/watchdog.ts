import { spawn } from 'node:child_process';
import { exitWithParent } from './child-ipc';

/**
 * `node watchdog.js <command> [args...]`: runs a program that is not ours (redis-server) and stops it
 * when the orchestrator stops this watchdog or goes away, so it can never be left running.
 */
const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
const stop = (): void => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
};
exitWithParent(stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
child.on('error', (err) => {
  process.stderr.write(`${command}: ${err.message}\n`);
  process.exit(127);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGTERM' ? 0 : 1)));
process.send?.({ type: 'started', pid: child.pid });
