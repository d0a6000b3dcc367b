import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './gateway-process';

/**
 * Reading the project's Markdown the way a reader's renderer does: its fenced shell blocks (and the
 * `<!-- not run: reason -->` line that may stand right above one), its headings' anchors, its links.
 */

export interface ShellBlock {
  /** The block's text, without its fences. */
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The reason given for not running it, or null when it is meant to run. */
  notRun: string | null;
}

/** README.md and every page under docs/, as paths relative to the repository. */
export function markdownPages(): string[] {
  const docs = readdirSync(join(REPO, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs];
}

export function readPage(page: string): string {
  return readFileSync(join(REPO, page), 'utf8');
}

/** Every ```sh block, in order. */
export function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split('\n');
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\S*)/.exec(lines[i]);
    if (!fence) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (end < 0) throw new Error(`line ${i + 1}: a fence that is never closed`);
    if (fence[1] === 'sh') {
      const marker = /^<!-- not run: (.*?) -->$/.exec(lines[i - 1] ?? '');
      blocks.push({ code: lines.slice(i + 1, end).join('\n'), line: i + 1, notRun: marker ? marker[1] : null });
    }
    i = end;
  }
  return blocks;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');
}

/** The anchors of a page's headings (outside code blocks). */
export function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (heading) found.add(slug(heading[1]));
  }
  return found;
}

/** The targets of inline links `[text](target)` outside code blocks and code spans. */
export function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    const prose = line.replace(/`[^`]*`/g, '``');
    for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) targets.push(m[1]);
  }
  return targets;
}
