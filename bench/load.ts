import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadGenChoice } from './options';
import type { LoadResult, LoadSpec, WorkerReply } from './load-types';
import { startServerScript, type BenchChild, type ChildRegistry } from './processes';

/**
 * The load generator behind one interface: autocannon (a long-lived worker child) or wrk (one child per
 * run). Both run pinned with the upstream, apart from the proxies; the same generator serves every
 * configuration of a benchmark.
 */
export interface LoadGenerator {
  readonly name: string;
  readonly version: string;
  /** A note for the report (e.g. durations rounded), or ''. */
  readonly note: string;
  run(spec: LoadSpec): Promise<LoadResult>;
}

function wrkVersion(): string | null {
  const result = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (result.error) return null;
  return /wrk\s+(\S+)/.exec(`${result.stdout}${result.stderr}`)?.[1] ?? 'unknown';
}

export async function createLoadGenerator(choice: LoadGenChoice, registry: ChildRegistry, cpu: number | null): Promise<LoadGenerator> {
  const wrk = choice === 'autocannon' ? null : wrkVersion();
  if (choice === 'wrk' && wrk === null) throw new Error('BENCH_LOADGEN=wrk but wrk is not on PATH');
  if (wrk !== null) return new WrkGenerator(registry, cpu, wrk);
  const { child } = await startServerScript(registry, 'load generator (autocannon)', 'load-worker', [], cpu);
  return new AutocannonGenerator(child);
}

class AutocannonGenerator implements LoadGenerator {
  readonly name = 'autocannon';
  readonly version: string;
  readonly note = '';
  private nextId = 1;

  constructor(private readonly worker: BenchChild) {
    const pkg = JSON.parse(readFileSync(require.resolve('autocannon/package.json'), 'utf8')) as { version: string };
    this.version = pkg.version;
  }

  async run(spec: LoadSpec): Promise<LoadResult> {
    const id = this.nextId++;
    const reply = this.worker.waitForMessage((m) => {
      const message = m as WorkerReply;
      return message.id === id ? message : undefined;
    }, spec.durationS * 1000 + 30_000);
    this.worker.proc.send({ type: 'run', id, spec });
    const message = await reply;
    if (message.type === 'error') throw new Error(`autocannon: ${message.message}`);
    return message.result;
  }
}

class WrkGenerator implements LoadGenerator {
  readonly name = 'wrk';
  readonly note = 'wrk runs whole seconds: durations are rounded up; non-2xx counts statuses >= 400';

  constructor(
    private readonly registry: ChildRegistry,
    private readonly cpu: number | null,
    readonly version: string,
  ) {}

  async run(spec: LoadSpec): Promise<LoadResult> {
    if (spec.tokens !== undefined) throw new Error('a new token per request (C-cold) needs autocannon: set BENCH_LOADGEN=autocannon or leave C-cold out of BENCH_ONLY');
    const script = join(__dirname, '..', 'bench', 'wrk-report.lua');
    const headers = Object.entries(spec.headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
    const seconds = Math.max(1, Math.ceil(spec.durationS));
    const args = ['-t1', `-c${spec.connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, ...headers, spec.url];
    const child = this.registry.start('load generator (wrk)', 'wrk', args, { cpu: this.cpu, stdout: true });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), seconds * 1000 + 30_000)));
    const outcome = await Promise.race([child.exited, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      await child.stop('SIGKILL');
      throw new Error('wrk did not finish in time');
    }
    const line = /^WRK_JSON (.+)$/m.exec(child.stdout)?.[1];
    if (line === undefined) throw new Error(`wrk printed no result:\n${child.stdout}\n${child.stderr}`);
    const w = JSON.parse(line) as Record<'requests' | 'durationUs' | 'connect' | 'read' | 'write' | 'status' | 'timeout' | 'p50Us' | 'p99Us', number>;
    const durationS = w.durationUs / 1e6;
    const ok = w.requests - w.status;
    return {
      responses: w.requests,
      ok,
      non2xx: w.status,
      errors: w.connect + w.read + w.write + w.timeout,
      timeouts: w.timeout,
      statusCounts: {},
      durationS,
      reqPerSec: ok / durationS,
      p50Ms: w.p50Us / 1000,
      p99Ms: w.p99Us / 1000,
    };
  }
}
