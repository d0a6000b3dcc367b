/** The benchmark's knobs, read once from the environment (documented at the top of run.ts). */

export type GatewayName = 'A' | 'B' | 'B-workers2' | 'C' | 'C-cold';
export type ConfigName = 'baseline' | GatewayName;
export const GATEWAY_NAMES: readonly GatewayName[] = ['A', 'B', 'B-workers2', 'C', 'C-cold'];

export type BodySize = '100' | '16k';
export const BODY_BYTES: Record<BodySize, number> = { '100': 100, '16k': 16 * 1024 };
/** The upstream path that answers each body size. */
export const BODY_PATH: Record<BodySize, string> = { '100': '/small', '16k': '/large' };

export interface Scenario {
  /** e.g. `50x100`, `10x16k`: connections x response body. */
  id: string;
  connections: number;
  body: BodySize;
}

export type LoadGenChoice = 'auto' | 'autocannon' | 'wrk';

export interface BenchOptions {
  quick: boolean;
  durationS: number;
  warmupS: number;
  rounds: number;
  gateways: GatewayName[];
  scenarios: Scenario[];
  profile: boolean;
  skipMemory: boolean;
  /** BENCH_SKIP_WS=1 leaves out the WebSocket throughput rows. */
  skipWebSocket: boolean;
  /** BENCH_PIN=0 turns CPU pinning off even where taskset exists. */
  pin: boolean;
  loadgen: LoadGenChoice;
  memory: { transferBytes: number; unknownKeys: number; inFlight: number };
}

const DEFAULT_SCENARIOS = '50x100,50x16k,10x100,10x16k';
const MIB = 1024 * 1024;

export class OptionsError extends Error {}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > max) throw new OptionsError(`${name} must be a number above 0 and at most ${max} (got ${JSON.stringify(raw)})`);
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback = false): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
  throw new OptionsError(`${name} must be 1 or 0 (got ${JSON.stringify(raw)})`);
}

function parseScenarios(text: string): Scenario[] {
  const ids = text.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  if (ids.length === 0) throw new OptionsError('BENCH_SCENARIOS must list at least one scenario, e.g. 50x100,10x16k');
  const scenarios: Scenario[] = [];
  for (const id of ids) {
    const match = /^(\d{1,4})x(100|16k)$/.exec(id);
    const connections = match ? Number(match[1]) : 0;
    if (!match || connections < 1 || connections > 1000) {
      throw new OptionsError(`BENCH_SCENARIOS: ${JSON.stringify(id)} is not <connections 1-1000>x<100|16k>, e.g. 50x100`);
    }
    if (!scenarios.some((s) => s.id === id)) scenarios.push({ id, connections, body: match[2] as BodySize });
  }
  return scenarios;
}

function parseGateways(text: string | undefined): GatewayName[] {
  if (text === undefined || text.trim() === '') return [...GATEWAY_NAMES];
  const names = text.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== '');
  const bad = names.filter((n) => !GATEWAY_NAMES.some((g) => g.toUpperCase() === n));
  if (bad.length > 0 || names.length === 0) throw new OptionsError(`BENCH_ONLY must be a comma list of A, B, B-WORKERS2, C, C-COLD (got ${JSON.stringify(text)})`);
  return GATEWAY_NAMES.filter((n) => names.includes(n.toUpperCase()));
}

export function readOptions(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const quick = flag(env, 'BENCH_QUICK');
  const loadgen = (env.BENCH_LOADGEN ?? 'auto').toLowerCase();
  if (loadgen !== 'auto' && loadgen !== 'autocannon' && loadgen !== 'wrk') {
    throw new OptionsError(`BENCH_LOADGEN must be auto, autocannon or wrk (got ${JSON.stringify(env.BENCH_LOADGEN)})`);
  }
  const durationS = positiveNumber(env, 'BENCH_DURATION_S', quick ? 1 : 4, 600);
  return {
    quick,
    durationS,
    warmupS: positiveNumber(env, 'BENCH_WARMUP_S', quick ? 0.5 : 1, 600),
    rounds: Math.round(positiveNumber(env, 'BENCH_ROUNDS', quick ? 1 : 3, 50)),
    gateways: parseGateways(env.BENCH_ONLY),
    scenarios: parseScenarios(env.BENCH_SCENARIOS ?? DEFAULT_SCENARIOS),
    profile: flag(env, 'BENCH_PROFILE'),
    skipMemory: flag(env, 'BENCH_SKIP_MEMORY'),
    skipWebSocket: flag(env, 'BENCH_SKIP_WS'),
    pin: flag(env, 'BENCH_PIN', true),
    loadgen,
    memory: {
      transferBytes: quick ? 256 * MIB : 1024 * MIB,
      unknownKeys: quick ? 5_000 : 20_000,
      inFlight: 50,
    },
  };
}
