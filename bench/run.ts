/**
 * `npm run bench`: the gateway against a bare http-proxy baseline, all on 127.0.0.1, every process
 * started here and stopped by pid at the end (also on an error or Ctrl-C).
 *
 * Knobs (environment):
 *   BENCH_QUICK=1           short runs (1 s × 1 round, 0.5 s warm-up) and smaller memory tests
 *                           (256 MiB transfers, 5,000 unknown keys): about a minute in all
 *   BENCH_ONLY=A,B          gateway configurations to run (A, B, B-workers2, C, C-cold); the baseline always runs
 *   BENCH_SCENARIOS=50x100  comma list of <connections>x<100|16k> (default 50x100,50x16k,10x100,10x16k)
 *   BENCH_DURATION_S=4      seconds per measured run (default 4; quick 1)
 *   BENCH_ROUNDS=3          measured rounds per configuration and scenario (default 3; quick 1)
 *   BENCH_WARMUP_S=1        seconds of the discarded warm-up run (default 1; quick 0.5)
 *   BENCH_SKIP_MEMORY=1     skip the memory tests
 *   BENCH_PROFILE=1         run the gateways under `node --cpu-prof`; profiles land in bench/results/profiles
 *   BENCH_LOADGEN=autocannon|wrk   load generator (default: wrk when on PATH, else autocannon)
 *   BENCH_PIN=0             no CPU pinning (default: pinned with taskset when two CPUs are available)
 *
 * Output: progress on stderr; the report (Markdown) on stdout and in bench/results/bench-<time>.md, with
 * every raw figure in bench/results/bench-<time>.json. Exit status 1 when any response was not 2xx or a
 * run failed (the figures are then meaningless); a missed target alone does not fail the command.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkProxies, COLD_TOKENS, DESCRIPTIONS, GATEWAY_ENV, makeIdentity, REPO_ROOT, startGateway, startRedisServer, UNPINNED, writeTenantsFile, type Identity, type RunningGateway } from './gateways';
import { previousReport } from './compare';
import { createLoadGenerator, type LoadGenerator } from './load';
import { runMemoryTests, type MemoryResult } from './memory';
import { BODY_BYTES, BODY_PATH, OptionsError, readOptions, type BenchOptions, type ConfigName, type Scenario } from './options';
import { measureWebSocket } from './ws-load';
import { clockTicks, cpuMicros, cpuModel, cpuTicks, RssSampler, writeSyscalls } from './proc';
import { ChildRegistry, detectPinning, sleep, startServerScript, type Pinning } from './processes';
import { analyseRedisCost, RedisCostProbe, requestsCounted } from './redis-cost';
import { renderMarkdown, writeReport, type Report, type WsRow } from './report';
import { median, summarise, type RunRecord } from './stats';

const started = performance.now();
const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s`;
const progress = (line: string): void => void process.stderr.write(`[${elapsed()}] ${line}\n`);

/** A proxy under test: where to send requests and which process to watch. */
interface Target {
  config: ConfigName;
  pid: number;
  /** Base URL plus the prefix the proxy expects before the upstream path ('' or '/api'). */
  base: string;
  headers: Record<string, string>;
  /** A new bearer token per request, cycled (C-cold). */
  tokens?: string[];
}

interface Context {
  options: BenchOptions;
  pinning: Pinning;
  registry: ChildRegistry;
  scratch: string;
  resultsDir: string;
  profileDir: string | null;
  interrupted: boolean;
}

function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return 'unknown';
  }
}

async function measure(load: LoadGenerator, target: Target, scenario: Scenario, round: number, durationS: number): Promise<RunRecord> {
  const spec = { url: `${target.base}${BODY_PATH[scenario.body]}`, connections: scenario.connections, durationS, headers: target.headers, tokens: target.tokens };
  const sampler = new RssSampler(target.pid).start();
  const before = cpuTicks(target.pid);
  const writesBefore = writeSyscalls(target.pid);
  const result = await load.run(spec);
  const cpuUs = cpuMicros(cpuTicks(target.pid) - before);
  const writes = writeSyscalls(target.pid) - writesBefore;
  const { peakBytes } = sampler.stop();
  // Let the generator's connections close before the next run starts.
  await sleep(150);
  return {
    scenario: scenario.id,
    config: target.config,
    round,
    load: result,
    cpuUs,
    // Per 2xx response, the denominator of req/s too.
    cpuUsPerRequest: result.ok === 0 ? NaN : cpuUs / result.ok,
    cpuPercent: (cpuUs / 1e6 / result.durationS) * 100,
    // Every write-like syscall of the proxy process (client and upstream sockets, Redis, logs).
    writeSyscallsPerRequest: result.responses === 0 ? NaN : writes / result.responses,
    peakRssBytes: peakBytes,
  };
}

function describeFailure(r: RunRecord): string | null {
  const { non2xx, errors, statusCounts } = r.load;
  if (non2xx + errors === 0) return null;
  const codes = Object.entries(statusCounts).filter(([code]) => !code.startsWith('2')).map(([code, n]) => `${n}× ${code}`).join(', ');
  return `${r.scenario} ${r.config} ${r.round === 0 ? 'warm-up' : `round ${r.round}`}: ${non2xx} non-2xx${codes ? ` (${codes})` : ''}, ${errors} errors`;
}

function logRun(r: RunRecord, rounds: number): void {
  const what = r.round === 0 ? 'warm-up  ' : `round ${r.round}/${rounds}`;
  const failure = describeFailure(r);
  progress(
    `${r.scenario.padEnd(7)} ${what} ${r.config.padEnd(8)} ${Math.round(r.load.reqPerSec).toLocaleString('en-US').padStart(7)} req/s  ` +
      `p50 ${r.load.p50Ms.toFixed(2)} ms  p99 ${r.load.p99Ms.toFixed(2)} ms  cpu ${Math.round(r.cpuPercent)}%` +
      (failure ? `   !!! ${failure.toUpperCase()} !!!` : ''),
  );
}

async function startProxies(ctx: Context, upstreamPort: number): Promise<{ targets: Target[]; gateways: RunningGateway[]; redisUrl: string | null; tenants: Map<ConfigName, string> }> {
  const { options, pinning, registry } = ctx;
  const baseline = await startServerScript(registry, 'baseline', 'baseline', [String(upstreamPort)], pinning.proxyCpu);
  const targets: Target[] = [{ config: 'baseline', pid: baseline.child.pid, base: `http://127.0.0.1:${baseline.port}`, headers: {} }];
  const needsRedis = options.gateways.some((g) => g !== 'A');
  const redis = needsRedis ? await startRedisServer(registry, pinning.loadCpu) : null;
  if (redis) progress(`redis-server on port ${redis.port}`);
  let identity: Identity | null = null;
  let jwksPort: number | null = null;
  if (options.gateways.includes('C') || options.gateways.includes('C-cold')) {
    const cold = options.gateways.includes('C-cold') ? COLD_TOKENS : 0;
    if (cold > 0) progress(`signing ${cold.toLocaleString('en-US')} tokens for C-cold`);
    identity = await makeIdentity(ctx.scratch, cold);
    jwksPort = (await startServerScript(registry, 'JWKS server', 'jwks-server', [identity.jwksFile], pinning.loadCpu)).port;
  }
  const gateways: RunningGateway[] = [];
  const tenants = new Map<ConfigName, string>();
  for (const name of options.gateways) {
    const { file, tenant } = writeTenantsFile(ctx.scratch, name, upstreamPort, jwksPort, identity);
    const gateway = await startGateway(registry, {
      label: name,
      tenantsFile: file,
      redisUrl: name === 'A' ? null : redis!.url,
      cwd: ctx.scratch,
      cpu: UNPINNED.includes(name) ? null : pinning.proxyCpu,
      profileDir: ctx.profileDir,
      env: GATEWAY_ENV[name],
    });
    progress(`gateway ${name} (${DESCRIPTIONS[name]}) ready at ${gateway.url}, pid ${gateway.child.pid}`);
    gateways.push(gateway);
    tenants.set(name, tenant.tenantId);
    targets.push({ config: name, pid: gateway.child.pid, base: `${gateway.url}/api`, headers: tenant.headers, tokens: tenant.tokens });
  }
  for (const target of targets) {
    for (const body of ['100', '16k'] as const) await checkProxies(`${target.base}${BODY_PATH[body]}`, target.headers, BODY_BYTES[body], target.config);
  }
  return { targets, gateways, redisUrl: redis?.url ?? null, tenants };
}

/** SPEC §15's bench row: WebSocket echo throughput through every proxy, rounds interleaved with the baseline's. */
async function webSocketRuns(targets: Target[], options: BenchOptions): Promise<WsRow[]> {
  const connections = 50;
  const byConfig = new Map<string, { rates: number[]; ratios: number[]; errors: number }>();
  for (let round = 1; round <= options.rounds; round++) {
    let baselineRate = NaN;
    for (const target of targets) {
      const url = `${target.base.replace(/^http:/, 'ws:')}/ws`;
      const result = await measureWebSocket(url, target.headers, connections, options.durationS);
      if (target.config === 'baseline') baselineRate = result.messagesPerSec;
      const entry = byConfig.get(target.config) ?? { rates: [], ratios: [], errors: 0 };
      entry.rates.push(result.messagesPerSec);
      entry.ratios.push(result.messagesPerSec / baselineRate);
      entry.errors += result.errors;
      byConfig.set(target.config, entry);
      progress(`websocket round ${round}/${options.rounds} ${target.config.padEnd(8)} ${Math.round(result.messagesPerSec).toLocaleString('en-US')} messages/s`);
    }
  }
  return [...byConfig].map(([config, e]) => ({ config, connections, messagesPerSec: median(e.rates), ratio: median(e.ratios), errors: e.errors }));
}

async function memoryTests(ctx: Context, upstreamPort: number): Promise<MemoryResult[]> {
  const { file, tenant } = writeTenantsFile(ctx.scratch, 'A', upstreamPort, null, null);
  const gateway = await startGateway(ctx.registry, { label: 'A-memory', tenantsFile: file, redisUrl: null, cwd: ctx.scratch, cpu: ctx.pinning.proxyCpu, profileDir: null });
  progress(`memory tests on a fresh gateway A process, pid ${gateway.child.pid}`);
  try {
    return await runMemoryTests({ url: gateway.url, pid: gateway.child.pid, apiKey: tenant.apiKey }, ctx.options.memory, progress);
  } finally {
    await gateway.child.stop();
  }
}

async function main(ctx: Context): Promise<number> {
  const { options, pinning, registry } = ctx;
  const startedAt = new Date().toISOString();
  progress(`CPU pinning ${pinning.note}`);
  const upstream = await startServerScript(registry, 'upstream', 'upstream', [], pinning.loadCpu);
  const { targets, gateways, redisUrl, tenants } = await startProxies(ctx, upstream.port);
  const load = await createLoadGenerator(options.loadgen, registry, pinning.loadCpu);
  progress(`load generator: ${load.name} ${load.version}`);

  const costScenario = options.scenarios.find((s) => s.id === '50x100') ?? options.scenarios[0];
  const probe = redisUrl !== null && options.gateways.includes('B') ? new RedisCostProbe(redisUrl) : null;
  const gatewayB = gateways.find((g) => g.name === 'B');
  const records: RunRecord[] = [];
  let redisCost: Report['redisCost'] = null;
  try {
    for (const scenario of options.scenarios) {
      for (const target of targets) {
        const record = await measure(load, target, scenario, 0, options.warmupS);
        logRun(record, options.rounds);
        records.push(record);
      }
      for (let round = 1; round <= options.rounds; round++) {
        for (const target of targets) {
          const costed = probe !== null && gatewayB !== undefined && target.config === 'B' && scenario === costScenario && round === options.rounds;
          const countedBefore = costed ? await requestsCounted(gatewayB.url, tenants.get('B')!) : 0;
          if (costed) await probe.reset();
          const record = await measure(load, target, scenario, round, options.durationS);
          if (costed) {
            const stats = await probe.read();
            const admitted = (await requestsCounted(gatewayB.url, tenants.get('B')!)) - countedBefore;
            redisCost = { ...analyseRedisCost(stats, admitted, record.load.durationS * 1000), scenario: scenario.id, round };
          }
          logRun(record, options.rounds);
          records.push(record);
        }
      }
    }
  } finally {
    probe?.close();
  }

  const websocket = options.skipWebSocket ? null : await webSocketRuns(targets, options);

  // Stop the load-test gateways before the memory tests (SIGINT lets --cpu-prof write its profile).
  for (const gateway of gateways) await gateway.child.stop(options.profile ? 'SIGINT' : 'SIGTERM', 15_000);
  const memory = options.skipMemory ? null : await memoryTests(ctx, upstream.port);

  const summary = summarise(options.scenarios, targets.map((t) => t.config), records);
  const failures = records.map(describeFailure).filter((line): line is string => line !== null);
  const report: Report = {
    meta: {
      startedAt,
      commit: gitCommit(),
      node: process.version,
      cpu: cpuModel(),
      cpus: cpus().length,
      clockTicks: clockTicks(),
      pinning: pinning.note,
      loadGenerator: `${load.name} ${load.version}`,
      loadGeneratorNote: load.note,
      quick: options.quick,
      durationS: options.durationS,
      warmupS: options.warmupS,
      rounds: options.rounds,
      gateways: options.gateways,
      scenarios: options.scenarios.map((s) => s.id),
      profile: options.profile,
      memoryGateway: 'a fresh gateway A process (memory store), warmed with 16 MiB each way and 500 unknown keys',
      totalS: (performance.now() - started) / 1000,
    },
    summary,
    runs: records,
    memory,
    redisCost,
    websocket,
    failures,
  };
  const previous = previousReport(ctx.resultsDir);
  const markdown = renderMarkdown(report, previous);
  process.stdout.write(`${markdown}\n`);
  const files = writeReport(ctx.resultsDir, report, markdown);
  progress(`written ${files.md} and ${files.json}`);
  if (ctx.profileDir !== null) progress(`CPU profiles in ${ctx.profileDir} (open in Chrome DevTools or speedscope)`);
  const memoryBroken = (memory ?? []).some((m) => m.failure !== null);
  if (failures.length > 0) progress(`!!! ${failures.length} RUN(S) HAD NON-2XX RESPONSES OR ERRORS: THE FIGURES ARE NOT VALID !!!`);
  if (memoryBroken) progress('!!! A MEMORY TEST FAILED TO RUN PROPERLY (see the memory table) !!!');
  return failures.length > 0 || memoryBroken ? 1 : 0;
}

function start(): void {
  let options: BenchOptions;
  try {
    options = readOptions();
  } catch (err) {
    if (!(err instanceof OptionsError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  const resultsDir = join(REPO_ROOT, 'bench', 'results');
  const profileDir = options.profile ? join(resultsDir, 'profiles') : null;
  if (profileDir !== null) mkdirSync(profileDir, { recursive: true });
  const ctx: Context = {
    options,
    pinning: detectPinning(options.pin),
    registry: new ChildRegistry(),
    scratch: mkdtempSync(join(tmpdir(), 'gateway-bench-')),
    resultsDir,
    profileDir,
    interrupted: false,
  };

  let cleaning: Promise<void> | null = null;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      await ctx.registry.stopAll();
      rmSync(ctx.scratch, { recursive: true, force: true });
      const left = ctx.registry.running;
      if (left.length > 0) progress(`could not stop: ${left.map((c) => `${c.name} (pid ${c.pid})`).join(', ')}`);
    })());
  const interrupt = (signal: NodeJS.Signals, code: number): void => {
    if (ctx.interrupted) return;
    ctx.interrupted = true;
    progress(`${signal}: stopping every process the benchmark started`);
    void cleanup().finally(() => process.exit(code));
  };
  process.on('SIGINT', () => interrupt('SIGINT', 130));
  process.on('SIGTERM', () => interrupt('SIGTERM', 143));

  main(ctx)
    .catch((err: unknown) => {
      if (!ctx.interrupted) progress(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return 1;
    })
    .then(async (code) => {
      await cleanup();
      if (ctx.interrupted) return;
      progress(`done in ${elapsed().trim()}`);
      process.exit(code);
    })
    .catch((err: unknown) => {
      progress(`cleanup failed: ${String(err)}`);
      process.exit(1);
    });
}

start();
