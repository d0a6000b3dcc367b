import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ERROR_CODES } from '../../src/errors/error-table';
import { REPO } from '../support/gateway-process';
import { readPage, shellBlocks } from '../support/markdown';
import { freePort } from '../support/redis-server';
import { runBash, type Run } from '../support/shell';
import { spawnGateway, type GatewayProcess } from '../support/sag-process';

/*
 * The README's walk-through and docs/control-plane.md, run as a reader runs them: every `sh` block of
 * the page, in order, as one bash script with `set -euo pipefail`, in this checkout, with `npm start`,
 * `npx sag`, curl, node, redis-server and redis-cli as they are. A file a page writes (tenants.yaml)
 * is removed afterwards; a run refuses to start if it would overwrite one that is already there.
 *
 * What differs from a reader's terminal, and why:
 * - The ports the pages name (3000, 3001, 8081, 6379, 8080, 9000) become free ports of this machine.
 * - `npm ci` answers that the checkout is installed: the suite runs after `npm ci`, and installing
 *   again would replace node_modules under the tests still running. Every other npm command is npm's.
 * - A command with a comment stating its answer (`curl … # 401 invalid_api_key`, `admin … # 204`) is
 *   run through `check`, which fails the script unless the status, and the problem code when the
 *   comment names one, are what the comment says.
 * docs/control-plane.md continues from the walk-through: it gets the walk-through's gateway (with its
 * admin token) and an upstream. docs/cli.md is run by cli-doc.e2e-spec.ts.
 */

const DOC_ADMIN_TOKEN = 'change-me-to-a-long-random-string';
const PORTS = [3000, 3001, 8081, 6379, 8080, 9000] as const;

const CHECK = String.raw`
check() {
  local want=$1 code=$2; shift 2
  local body got
  body=$(mktemp)
  got=$("$@" -o "$body" -w '%{http_code}')
  cat "$body"; echo
  if [[ "$got" != "$want" ]]; then echo "DOCS: expected $want, got $got from: $*" >&2; return 1; fi
  if [[ "$code" != - ]] && ! grep -q "\"code\":\"$code\"" "$body"; then echo "DOCS: expected code $code from: $*" >&2; return 1; fi
  rm -f "$body"
  echo "$want $code $*" >> "$DOCS_CHECKED"
}
`;

const CODES = new Set<string>(ERROR_CODES);

/** A command line whose comment states its answer, rewritten to `check STATUS CODE|- command`. */
function withChecks(script: string): { script: string; checks: number } {
  let checks = 0;
  const lines = script.split('\n').map((line, i, all) => {
    if (i > 0 && all[i - 1].endsWith('\\')) return line;
    const m = /^((?:curl|admin) [^|>]*?)\s+#\s+(\d{3})\b,?\s*([a-z_]+)?/.exec(line);
    if (!m) return line;
    checks++;
    const code = m[3] !== undefined && CODES.has(m[3]) ? m[3] : '-';
    return `check ${m[2]} ${code} ${m[1]}`;
  });
  return { script: lines.join('\n'), checks };
}

/** A scratch HOME, and a PATH whose `npm` answers `ci` without installing. */
function scratchHome(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'docs-run-'));
  const bin = join(dir, '.bin');
  mkdirSync(bin);
  const npm = spawnSync('bash', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(
    join(bin, 'npm'),
    `#!/usr/bin/env bash\nif [ "$1" = ci ]; then echo "npm ci: this checkout is installed already"; exit 0; fi\nexec ${JSON.stringify(npm)} "$@"\n`,
  );
  chmodSync(join(bin, 'npm'), 0o755);
  return { dir, path: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
}

async function portMap(): Promise<Map<number, number>> {
  const map = new Map<number, number>();
  for (const port of PORTS) map.set(port, await freePort());
  return map;
}

function withPorts(script: string, ports: Map<number, number>): string {
  return script.replace(new RegExp(`\\b(${PORTS.join('|')})\\b`, 'g'), (p) => String(ports.get(Number(p))));
}

function pageScript(page: string, ports: Map<number, number>): { script: string; checks: number } {
  const blocks = shellBlocks(readPage(page)).filter((b) => b.notRun === null);
  const { script, checks } = withChecks(blocks.map((b) => b.code).join('\n'));
  return { script: ['set -euo pipefail', CHECK, withPorts(script, ports)].join('\n'), checks };
}

/** The checks that passed, one line each (a file of their own: background processes share stderr). */
function checkedLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
}

function explain(page: string, run: Run): string {
  return `${page} exited ${run.code}\n--- stderr (end)\n${run.stderr.slice(-4000)}\n--- stdout (end)\n${run.stdout.slice(-4000)}`;
}

describe('the commands of the docs, run as written', () => {
  const written = ['tenants.yaml'].map((file) => join(REPO, file));
  let scratch: { dir: string; path: string };
  beforeAll(() => {
    for (const file of written) if (existsSync(file)) throw new Error(`${file} exists: the README's walk-through would overwrite it`);
    scratch = scratchHome();
  });
  afterAll(() => {
    rmSync(scratch.dir, { recursive: true, force: true });
    for (const file of written) rmSync(file, { force: true });
  });

  it('README.md: the walk-through, on the memory store and then on Redis', async () => {
    const ports = await portMap();
    const { script, checks } = pageScript('README.md', ports);
    expect(checks).toBeGreaterThanOrEqual(8);
    const checked = join(scratch.dir, 'checked-readme');
    const env = { PATH: scratch.path, HOME: scratch.dir, PORT: String(ports.get(3000)), DOCS_CHECKED: checked };
    let run: Run;
    try {
      run = await runBash(script, env, REPO, 150_000);
    } finally {
      // The page stops its redis-server itself; this covers a run that failed before it could.
      spawnSync('redis-cli', ['-p', String(ports.get(6379)), 'shutdown', 'nosave'], { timeout: 5_000 });
    }
    if (run.code !== 0) throw new Error(explain('README.md', run));
    expect(checkedLines(checked)).toHaveLength(checks);
    // What the page says the commands print.
    expect(run.stdout).toContain('hello from the upstream');
    expect(run.stdout).toContain('changes pending (exit 3)');
    expect(run.stdout).toMatch(/deny 403 route_not_allowed/);
  }, 180_000);

  describe('docs/control-plane.md', () => {
    let gw: GatewayProcess;
    let upstream: ReturnType<typeof spawn>;
    let ports: Map<number, number>;
    beforeAll(async () => {
      ports = await portMap();
      // The walk-through's upstream and gateway, on the ports the page's 8081 and 3000 become.
      upstream = spawn(process.execPath, ['-e', `require('node:http').createServer((q, s) => s.end('hello from the upstream\\n')).listen(${ports.get(8081)}, '127.0.0.1')`], {
        stdio: 'ignore',
      });
      gw = await spawnGateway({ ADMIN_TOKEN: DOC_ADMIN_TOKEN, PORT: String(ports.get(3000)) }, REPO);
    }, 30_000);
    afterAll(async () => {
      await gw?.stop();
      upstream?.kill();
    });

    it('runs every block, in order, and every stated answer is the answer', async () => {
      const { script, checks } = pageScript('docs/control-plane.md', ports);
      expect(checks).toBeGreaterThanOrEqual(10);
      const checked = join(scratch.dir, 'checked-control-plane');
      const run = await runBash(script, { PATH: scratch.path, HOME: scratch.dir, HOST: '127.0.0.1', DOCS_CHECKED: checked }, REPO, 120_000);
      if (run.code !== 0) throw new Error(explain('docs/control-plane.md', run));
      expect(checkedLines(checked)).toHaveLength(checks);
      expect(run.stdout).toContain('"decision":"deny"');
      expect(run.stdout).toContain('"jwtSource":"route"');
    }, 150_000);
  });
});
