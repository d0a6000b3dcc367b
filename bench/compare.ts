import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SummaryRow } from './stats';

/** The last report written to bench/results before this run, for the change table. */
export interface PreviousReport {
  file: string;
  commit: string;
  summary: SummaryRow[];
}

/** The newest bench-*.json in `dir` (names sort by time), or null when there is none or it cannot be read. */
export function previousReport(dir: string): PreviousReport | null {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => /^bench-.*\.json$/.test(name)).sort();
  } catch {
    return null;
  }
  for (const name of names.reverse()) {
    try {
      const json = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { meta?: { commit?: string }; summary?: SummaryRow[] };
      if (!Array.isArray(json.summary)) continue;
      return { file: name, commit: json.meta?.commit ?? 'unknown', summary: json.summary };
    } catch {
      // A half-written or foreign file: try the one before.
    }
  }
  return null;
}

const signed = (value: number, digits: number, unit = ''): string =>
  Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(digits)}${unit}` : '—';

/** Each row's change against the same scenario and configuration of the previous run. */
export function changeTable(rows: SummaryRow[], previous: PreviousReport | null): string[] {
  const heading = '## Change against the previous run';
  if (previous === null) return [heading, '', 'No earlier run in bench/results: nothing to compare with.', ''];
  const lines = [
    heading,
    '',
    `Previous: \`${previous.file}\` (commit \`${previous.commit}\`). Ratios move with the machine's noise (a few hundredths between identical runs here); req/s and CPU moves of a few percent are noise too.`,
    '',
    '| scenario | config | × baseline then → now | req/s | CPU µs/req | p99 ms |',
    '|---|---|---|---:|---:|---:|',
  ];
  for (const row of rows) {
    if (row.config === 'baseline') continue;
    const then = previous.summary.find((p) => p.scenario === row.scenario && p.config === row.config);
    if (then === undefined) {
      lines.push(`| ${row.scenario} | ${row.config} | new: ${row.ratio.toFixed(2)} | — | — | — |`);
      continue;
    }
    const percent = (now: number, before: number) => signed(((now - before) / before) * 100, 0, '%');
    lines.push(
      `| ${row.scenario} | ${row.config} | ${then.ratio.toFixed(2)} → ${row.ratio.toFixed(2)} (${signed(row.ratio - then.ratio, 2)}) | ${percent(row.reqPerSec, then.reqPerSec)} | ${percent(row.cpuUsPerRequest, then.cpuUsPerRequest)} | ${signed(row.p99Ms - then.p99Ms, 2)} |`,
    );
  }
  lines.push('');
  return lines;
}
