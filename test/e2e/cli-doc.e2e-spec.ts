import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellBlocks as runnableBlocks } from '../support/markdown';
import { ROOT, SAG, spawnGateway, type GatewayProcess } from '../support/sag-process';
import { runBash } from '../support/shell';

/*
 * docs/cli.md says every `sh` block in it runs, in order, against a gateway started with ADMIN_TOKEN:
 * this runs them, as one bash script with `set -euo pipefail`, against the built gateway (in-memory
 * store) and the built sag on PATH. The only change made to the text is the gateway's address: the
 * page's http://127.0.0.1:3000 becomes the free port the gateway listens on here.
 */

const ADMIN_TOKEN = 'cli-doc-admin-token-0123456789abcdef';
const DOC = join(ROOT, 'docs/cli.md');

/** The page's sh blocks that are meant to run (docs.spec.ts checks that every block is). */
function shellBlocks(markdown: string): string[] {
  return runnableBlocks(markdown)
    .filter((b) => b.notRun === null)
    .map((b) => b.code);
}

describe('docs/cli.md', () => {
  let dir: string;
  let gw: GatewayProcess;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cli-doc-'));
    mkdirSync(join(dir, 'bin'));
    symlinkSync(SAG, join(dir, 'bin', 'sag'));
    gw = await spawnGateway({ ADMIN_TOKEN }, dir);
  }, 30_000);
  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has sh blocks for every command it documents', () => {
    const commands = shellBlocks(readFileSync(DOC, 'utf8')).join('\n');
    for (const used of ['sag apply', 'sag diff', 'sag tenants list', 'sag tenants get', 'sag keys create', 'sag keys list', 'sag keys update', 'sag keys revoke', 'sag tokens create', 'sag tokens list', 'sag audit', 'sag audit verify', 'sag explain']) {
      expect([used, commands.includes(used)]).toEqual([used, true]);
    }
  });

  it('runs every sh block, in order, against a started gateway', async () => {
    const text = readFileSync(DOC, 'utf8');
    expect(text).toContain('http://127.0.0.1:3000');
    const script = ['set -euo pipefail', ...shellBlocks(text)].join('\n').replaceAll('http://127.0.0.1:3000', gw.url);
    const r = await runBash(script, { PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`, ADMIN_TOKEN, HOME: dir }, dir, 90_000);
    if (process.env.CLI_DOC_SHOW === '1') process.stdout.write(`${r.stdout}\n--- stderr\n${r.stderr}`);
    expect([r.code, r.stderr]).toEqual([0, expect.any(String)]);
    // What the page says the commands print is what they print.
    expect(r.stdout).toContain('changes pending (exit 3)');
    expect(r.stdout).toContain('Applied 5 change(s).');
    expect(r.stdout).toContain('In sync.');
    expect(r.stdout).toMatch(/^ok: \d+ entries \(seq 1 to \d+\), head [0-9a-f]{64}$/m);
    expect(r.stdout).toMatch(/^allow 200 -> http:\/\/127\.0\.0\.1:9\/acme\/v1\/users\/42$/m);
    expect(r.stdout).toContain('refused (exit 1)');
    expect(r.stderr).toContain('(forbidden)');
    expect(r.stderr).toContain('(tenant_not_found)');
    expect(r.stderr).toContain('(key_not_found)');
  }, 120_000);
});
