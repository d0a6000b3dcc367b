import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DESCRIPTIONS } from './gateways';
import type { MemoryResult } from './memory';
import type { GatewayName } from './options';
import type { RedisCost } from './redis-cost';
import { changeTable, type PreviousReport } from './compare';
import type { RunRecord, SummaryRow } from './stats';

export interface ReportMeta {
  startedAt: string;
  commit: string;
  node: string;
  cpu: string;
  cpus: number;
  clockTicks: number;
  pinning: string;
  loadGenerator: string;
  loadGeneratorNote: string;
  quick: boolean;
  durationS: number;
  warmupS: number;
  rounds: number;
  gateways: GatewayName[];
  scenarios: string[];
  profile: boolean;
  memoryGateway: string;
  totalS: number;
}

export interface Report {
  meta: ReportMeta;
  summary: SummaryRow[];
  runs: RunRecord[];
  memory: MemoryResult[] | null;
  redisCost: (RedisCost & { scenario: string; round: number }) | null;
  /** WebSocket echo throughput per configuration (BENCH_SKIP_WS=1: null). */
  websocket: WsRow[] | null;
  /** Every non-2xx response or transport error, by run: must be empty for the figures to mean anything. */
  failures: string[];
}

export interface WsRow {
  config: string;
  connections: number;
  /** Median over rounds. */
  messagesPerSec: number;
  /** Median over rounds of messages/s ÷ the baseline's (bare http-proxy ws()) in the same round. */
  ratio: number;
  errors: number;
}

function websocketTable(rows: WsRow[]): string[] {
  return [
    '## WebSocket',
    '',
    'Echo round trips of 100-byte messages, one in flight per connection, through each proxy to the same upstream echo; the baseline is a bare http-proxy `ws()`.',
    '',
    '| config | connections | messages/s | × baseline | errors |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.config} | ${r.connections} | ${f(r.messagesPerSec)} | ${f(r.ratio, 2)} | ${r.errors} |`),
    '',
  ];
}

const MIB = 1024 * 1024;
const f = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—');
const verdict = (pass: boolean): string => (pass ? '**pass**' : '**FAIL**');

function header(meta: ReportMeta): string[] {
  return [
    `# Gateway benchmark, ${meta.startedAt}`,
    '',
    `- commit: \`${meta.commit}\``,
    `- Node.js ${meta.node}; CPU: ${meta.cpu} × ${meta.cpus}; CLK_TCK ${meta.clockTicks}`,
    `- CPU pinning: ${meta.pinning}`,
    `- load generator: ${meta.loadGenerator}${meta.loadGeneratorNote ? ` (${meta.loadGeneratorNote})` : ''}`,
    `- runs: ${meta.durationS} s × ${meta.rounds} round(s) per configuration and scenario, interleaved (baseline, ${meta.gateways.join(', ')}, baseline, …), after a discarded ${meta.warmupS} s warm-up each`,
    `- mode: ${meta.quick ? 'QUICK (BENCH_QUICK=1: shorter runs, smaller memory tests)' : 'default'}${meta.profile ? '; CPU profiles on (BENCH_PROFILE=1: figures include the profiler)' : ''}`,
    `- total time: ${f(meta.totalS, 1)} s`,
    '',
  ];
}

function failureBanner(failures: string[]): string[] {
  if (failures.length === 0) return [];
  return [
    '> **WARNING: NON-2XX RESPONSES OR ERRORS. THE FIGURES BELOW DO NOT MEASURE THE PROXY PATH.**',
    ...failures.slice(0, 20).map((line) => `> - ${line}`),
    ...(failures.length > 20 ? [`> - … and ${failures.length - 20} more runs`] : []),
    '',
  ];
}

const added = (config: string, ms: number): string => (config === 'baseline' ? '—' : `${ms >= 0 ? '+' : ''}${f(ms, 2)}`);

function throughputTable(rows: SummaryRow[]): string[] {
  const lines = [
    '| scenario | config | req/s | p50 ms | p99 ms | +p50 ms | +p99 ms | × baseline | CPU µs/req | CPU % | writes/req | peak RSS MiB | non-2xx / errors | target |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const bad = r.non2xx + r.errors > 0;
    const target = bad ? '**INVALID**' : r.target === null ? '—' : `${r.target.text}: ${verdict(r.target.pass)}`;
    lines.push(
      `| ${r.scenario} | ${r.config} | ${f(r.reqPerSec)} | ${f(r.p50Ms, 2)} | ${f(r.p99Ms, 2)} | ${added(r.config, r.addedP50Ms)} | ${added(r.config, r.addedP99Ms)} | ${f(r.ratio, 2)} | ${f(r.cpuUsPerRequest)} | ${f(r.cpuPercent)} | ${f(r.writeSyscallsPerRequest, 2)} | ${f(r.peakRssBytes / MIB, 1)} | ${bad ? `**${r.non2xx} / ${r.errors}**` : '0 / 0'} | ${target} |`,
    );
  }
  return lines;
}

function memoryTable(results: MemoryResult[], gateway: string): string[] {
  return [
    `## Memory: ${gateway}`,
    '',
    '| test | how | RSS before MiB | peak MiB | growth MiB | 1 s after MiB | target | time s |',
    '|---|---|---:|---:|---:|---:|---|---:|',
    ...results.map(
      (m) =>
        `| ${m.test} | ${m.detail} | ${f(m.beforeBytes / MIB, 1)} | ${f(m.peakBytes / MIB, 1)} | ${f(m.growthBytes / MIB, 1)} | ${f(m.afterBytes / MIB, 1)} | < ${m.limitBytes / MIB} MiB: ${verdict(m.pass)}${m.failure ? ` (${m.failure})` : ''} | ${f(m.durationS, 1)} |`,
    ),
    '',
  ];
}

function redisTable(cost: NonNullable<Report['redisCost']>): string[] {
  return [
    `## Redis cost (configuration B, scenario ${cost.scenario}, round ${cost.round})`,
    '',
    `${f(cost.admitted)} requests counted by the gateway over ${f(cost.runMs / 1000, 1)} s; ${f(cost.clientCommands)} commands sent = ${f(cost.perRequest, 4)} per request ` +
      `(bucket script ${f(cost.scriptRuns)}, lookups ${f(cost.lookups)} of at most ${cost.allowedLookups} from TTL refreshes, other ${f(cost.others)}).`,
    '',
    `Target: exactly one command (the bucket script) per admitted request, no lookups for a cached tenant: ${verdict(cost.pass)} (${cost.verdict}).`,
    '',
    '| command | calls | per request | kind |',
    '|---|---:|---:|---|',
    ...cost.rows.map((r) => `| ${r.command} | ${f(r.calls)} | ${f(cost.admitted === 0 ? 0 : r.calls / cost.admitted, 4)} | ${r.kind} |`),
    '',
    'Redis counts the commands a script runs in `INFO commandstats`; rows marked "inside the script" are the bucket script\'s own TIME/HMGET/HSET/PEXPIRE and the key-record script\'s HGETs, not commands the gateway sent.',
    '',
  ];
}

function legend(meta: ReportMeta): string[] {
  return [
    '## How to read it',
    '',
    '- **baseline**: a bare `http.createServer` + `http-proxy` with the same keep-alive agent settings, nothing else.',
    ...meta.gateways.map((g) => `- **${g}**: ${DESCRIPTIONS[g]}; logs (info) and metrics on, as in production.`),
    '- **req/s, p50, p99, CPU**: medians over the measured rounds. **× baseline**: median over rounds of req/s ÷ the baseline\'s req/s in the same round.',
    '- **+p50, +p99**: the latency the gateway adds: its p50 / p99 minus the baseline\'s in the same scenario.',
    '- **writes/req**: write-like syscalls of the proxy process (`syscw` in /proc/<pid>/io: client and upstream sockets, Redis, logs) ÷ responses.',
    '- **CPU µs/req**: utime+stime of the proxy process over the run ÷ 2xx responses (as req/s). **CPU %**: of one core; near 100 means the proxy was the bottleneck, well below it means the load generator was.',
    '- **peak RSS**: highest VmRSS sampled every 100 ms during the measured rounds.',
    '- **Memory**: growth = peak VmRSS during the test (sampled every 50 ms) minus VmRSS just before it; "1 s after" shows how much of it the process still holds.',
    '- Targets are judged at 50 connections. Any non-2xx or error makes the row **INVALID**.',
    '',
  ];
}

export function renderMarkdown(report: Report, previous: PreviousReport | null = null): string {
  const lines = [...header(report.meta), ...failureBanner(report.failures), '## Throughput and latency', '', ...throughputTable(report.summary), ''];
  lines.push(...changeTable(report.summary, previous));
  if (report.memory) lines.push(...memoryTable(report.memory, report.meta.memoryGateway));
  if (report.redisCost) lines.push(...redisTable(report.redisCost));
  if (report.websocket) lines.push(...websocketTable(report.websocket));
  lines.push(...legend(report.meta));
  return lines.join('\n');
}

/** Writes bench-<timestamp>.md and .json into `dir`; returns their paths. */
export function writeReport(dir: string, report: Report, markdown: string): { md: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = report.meta.startedAt.replace(/[:.]/g, '-');
  const md = join(dir, `bench-${stamp}.md`);
  const json = join(dir, `bench-${stamp}.json`);
  writeFileSync(md, `${markdown}\n`);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  return { md, json };
}
