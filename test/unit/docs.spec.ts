import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { validateTenant } from '../../src/tenants/tenant.schema';
import { REPO } from '../support/gateway-process';
import { anchors, linkTargets, markdownPages, readPage, shellBlocks } from '../support/markdown';

/*
 * The docs as a reader meets them: the README stays a first screen, every relative link and anchor
 * leads somewhere, and every shell block is either run by a test (which one is named here) or says
 * why it cannot be.
 */

/** The pages whose shell blocks a test runs, and the test that runs them. */
const RUN_BY: Record<string, string> = {
  'README.md': 'test/e2e/docs-commands.e2e-spec.ts',
  'docs/control-plane.md': 'test/e2e/docs-commands.e2e-spec.ts',
  'docs/cli.md': 'test/e2e/cli-doc.e2e-spec.ts',
};

/** Why a block may be left out of the runs: each needs what a test machine does not have. */
const NOT_RUN_REASONS = [
  'needs a Docker daemon',
  'needs a Kubernetes cluster',
  'the benchmark loads the machine for minutes; npm test leaves it out',
  'npm test runs the suite this block is part of; npm start is run by the walk-through',
];

describe('the documentation', () => {
  const pages = markdownPages();

  it('has a README of about 200 lines at most, linking every page under docs/', () => {
    const readme = readPage('README.md');
    expect(readme.split('\n').length).toBeLessThanOrEqual(200);
    const linked = new Set(linkTargets(readme));
    for (const page of pages.filter((p) => p.startsWith('docs/'))) expect([page, linked.has(page)]).toEqual([page, true]);
  });

  it.each(pages)('%s: every relative link names a file that exists, and an anchor of that page', (page) => {
    const broken: string[] = [];
    for (const target of linkTargets(readPage(page))) {
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const [file, anchor] = target.split('#');
      const path = file === '' ? page : normalize(join(dirname(page), file));
      if (!existsSync(join(REPO, path))) {
        broken.push(`${target}: no file ${path}`);
        continue;
      }
      if (anchor !== undefined && !anchors(readPage(path)).has(anchor)) broken.push(`${target}: no heading #${anchor} in ${path}`);
    }
    expect(broken).toEqual([]);
  });

  it.each(pages)('%s: every sh block is run by a test, or says why it cannot be', (page) => {
    for (const block of shellBlocks(readPage(page))) {
      const where = `${page}:${block.line}`;
      if (block.notRun !== null) {
        expect([where, NOT_RUN_REASONS.includes(block.notRun)]).toEqual([where, true]);
        continue;
      }
      const runner = RUN_BY[page];
      expect([where, runner]).toEqual([where, expect.any(String)]);
      expect([where, readFileSync(join(REPO, runner), 'utf8').includes(`'${page}'`)]).toEqual([where, true]);
    }
  });

  it('docs/tenants.md: its example of every field is a valid tenant', () => {
    const example = /^```json\n([\s\S]*?)^```$/m.exec(readPage('docs/tenants.md'));
    const tenant: unknown = JSON.parse(example![1]);
    expect(validateTenant(tenant, { jwksAllowHttp: false })).toEqual({ ok: true, tenant: expect.objectContaining({ id: 'acme' }) });
  });
});
