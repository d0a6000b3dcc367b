import type { LoadResult } from './load-types';
import type { ConfigName, Scenario } from './options';

/** One load run against one proxy, with what /proc said about that proxy's process meanwhile. */
export interface RunRecord {
  scenario: string;
  config: ConfigName;
  /** 0 for the discarded warm-up run. */
  round: number;
  load: LoadResult;
  cpuUs: number;
  cpuUsPerRequest: number;
  /** Share of one CPU the proxy used over the run (100 = one core saturated). */
  cpuPercent: number;
  /** Write syscalls of the proxy process per response (/proc/<pid>/io syscw). */
  writeSyscallsPerRequest: number;
  peakRssBytes: number;
}

export interface Target {
  text: string;
  pass: boolean;
}

export interface SummaryRow {
  scenario: string;
  connections: number;
  config: ConfigName;
  rounds: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Median over rounds of req/s ÷ the baseline's req/s in the same round (1 for the baseline). */
  ratio: number;
  /** The latency the proxy adds: its median p50 / p99 minus the baseline's, in ms. */
  addedP50Ms: number;
  addedP99Ms: number;
  cpuUsPerRequest: number;
  cpuPercent: number;
  writeSyscallsPerRequest: number;
  peakRssBytes: number;
  non2xx: number;
  errors: number;
  target: Target | null;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The targets, judged at 50 connections only. */
function targetFor(config: ConfigName, ratio: number, p99Ms: number, baselineP99Ms: number): Target | null {
  switch (config) {
    case 'A':
      return { text: '≥ 0.80×', pass: ratio >= 0.8 };
    case 'B':
      return { text: '≥ 0.70×, p99 ≤ 1.5× baseline', pass: ratio >= 0.7 && p99Ms <= 1.5 * baselineP99Ms };
    case 'C':
      return { text: '≥ 0.65×', pass: ratio >= 0.65 };
    default:
      return null;
  }
}

export function summarise(scenarios: Scenario[], configs: ConfigName[], records: RunRecord[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const scenario of scenarios) {
    const measured = records.filter((r) => r.scenario === scenario.id && r.round > 0);
    const baselineOf = (round: number) => measured.find((r) => r.config === 'baseline' && r.round === round);
    const baselineP50 = median(measured.filter((r) => r.config === 'baseline').map((r) => r.load.p50Ms));
    const baselineP99 = median(measured.filter((r) => r.config === 'baseline').map((r) => r.load.p99Ms));
    for (const config of configs) {
      const runs = measured.filter((r) => r.config === config);
      if (runs.length === 0) continue;
      const ratios = runs.map((r) => r.load.reqPerSec / (baselineOf(r.round)?.load.reqPerSec ?? NaN));
      const row: SummaryRow = {
        scenario: scenario.id,
        connections: scenario.connections,
        config,
        rounds: runs.length,
        reqPerSec: median(runs.map((r) => r.load.reqPerSec)),
        p50Ms: median(runs.map((r) => r.load.p50Ms)),
        p99Ms: median(runs.map((r) => r.load.p99Ms)),
        ratio: median(ratios),
        addedP50Ms: NaN,
        addedP99Ms: NaN,
        cpuUsPerRequest: median(runs.map((r) => r.cpuUsPerRequest)),
        cpuPercent: median(runs.map((r) => r.cpuPercent)),
        writeSyscallsPerRequest: median(runs.map((r) => r.writeSyscallsPerRequest)),
        peakRssBytes: Math.max(...runs.map((r) => r.peakRssBytes)),
        // Warm-up runs count here too: a 401 in any run means the set-up is wrong.
        non2xx: sum(records.filter((r) => r.scenario === scenario.id && r.config === config).map((r) => r.load.non2xx)),
        errors: sum(records.filter((r) => r.scenario === scenario.id && r.config === config).map((r) => r.load.errors)),
        target: null,
      };
      row.addedP50Ms = row.p50Ms - baselineP50;
      row.addedP99Ms = row.p99Ms - baselineP99;
      if (scenario.connections === 50) row.target = targetFor(config, row.ratio, row.p99Ms, baselineP99);
      rows.push(row);
    }
  }
  return rows;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
