import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT } from '../support/sag-process';
import { freePort, waitFor } from '../support/redis-server';

/*
 * `npm run demo` (SPEC §16) is `npm run build` then `node dist/demo/demo.js`: this starts the built demo
 * (building here would replace dist under the other tests), runs every command it prints, exactly as
 * printed, in bash from the checkout, checks each answer, and stops it by its PID, which must stop
 * the gateway it started too.
 */

const DEMO = resolve(ROOT, 'dist/demo/demo.js');

/** What each printed command must answer, in the order printed. */
const EXPECTED: { comment: RegExp; check: (out: string) => void }[] = [
  { comment: /allowed call/, check: (out) => expect(out).toMatch(/^HTTP\/1\.1 200 [\s\S]*"upstream":"demo"[\s\S]*"tenantId":"demo"/) },
  { comment: /does not allow/, check: (out) => expect(out).toMatch(/^HTTP\/1\.1 403 [\s\S]*"code":"route_not_allowed"/) },
  { comment: /without one/, check: (out) => expect(out).toMatch(/^HTTP\/1\.1 401 [\s\S]*www-authenticate: Bearer[\s\S]*"code":"missing_jwt"/i) },
  { comment: /valid JWT/, check: (out) => expect(out).toMatch(/^HTTP\/1\.1 200 [\s\S]*"authSubject":"demo-user"/) },
  { comment: /burst/, check: (out) => expect(out.trim()).toMatch(/^(200 )+429( 429)*$/) },
  { comment: /admin CLI/, check: (out) => expect(out).toMatch(/^jwt\s+NO\s+code=missing_jwt[\s\S]*^deny 401 missing_jwt -> http:\/\/127\.0\.0\.1:\d+\/private\/profile$/m) },
];

let demo: ChildProcess | undefined;
let output = '';

afterAll(async () => {
  if (!demo || demo.exitCode !== null || demo.signalCode !== null) return;
  // SIGTERM first: the demo then stops the gateway it started; SIGKILL only if it does not exit.
  const closed = new Promise((done) => demo!.once('close', done));
  demo.kill('SIGTERM');
  const timer = setTimeout(() => demo!.kill('SIGKILL'), 10_000);
  await closed;
  clearTimeout(timer);
});

function bash(script: string): Promise<{ code: number; out: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SAG_URL;
  delete env.SAG_ADMIN_TOKEN;
  return new Promise((done) => {
    execFile('bash', ['-c', script], { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) =>
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, out: stdout + stderr }),
    );
  });
}

it('npm run demo: every printed command answers as it says; Ctrl-C stops everything', async () => {
  if (!existsSync(DEMO)) throw new Error(`${DEMO} is missing: run \`npm run build\` first (npm test does it)`);
  const port = await freePort();
  demo = spawn(process.execPath, [DEMO], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  demo.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  demo.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  await waitFor(() => output.includes('Press Ctrl-C') || demo!.exitCode !== null, 30_000, 'the demo to print its commands', 50);
  expect(output).toContain(`Demo gateway on http://127.0.0.1:${port}`);

  const printed = output.slice(output.indexOf('Copy and paste'), output.indexOf('Press Ctrl-C')).split('\n').slice(1);
  const lines = printed.filter((l) => l.startsWith('  ')).map((l) => l.slice(2));
  const [exports, ...rest] = lines;
  expect(exports).toMatch(/^export GW=\S+ KEY=sgw_\S+ IDP=\S+ SAG_URL=\S+ SAG_ADMIN_TOKEN=\S+$/);
  const pairs: { comment: string; command: string }[] = [];
  for (let i = 0; i < rest.length; i += 2) pairs.push({ comment: rest[i], command: rest[i + 1] });
  expect(pairs.map((p) => p.comment)).toEqual(EXPECTED.map((e) => expect.stringMatching(e.comment)));

  for (const [i, { comment, command }] of pairs.entries()) {
    const { code, out } = await bash(`${exports}\n${command}`);
    expect([comment, code]).toEqual([comment, 0]);
    EXPECTED[i].check(out);
  }

  demo.kill('SIGTERM');
  await waitFor(() => demo!.exitCode !== null || demo!.signalCode !== null, 15_000, 'the demo to exit', 50);
  expect(demo.exitCode).toBe(0);
  const answers = await fetch(`http://127.0.0.1:${port}/healthz`).then(
    () => true,
    () => false,
  );
  expect(answers).toBe(false);
}, 120_000);
