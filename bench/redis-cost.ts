import { Redis } from 'ioredis';
import { request } from './http-client';
import { ADMIN_TOKEN, TENANT_CACHE_TTL_MS } from './gateways';

/**
 * Redis commands per request over one measured run of configuration B: CONFIG RESETSTAT before it,
 * INFO commandstats after, and the gateway's own count of requests (gateway_requests_total for the
 * tenant) as the denominator.
 */

/** The rate limiter's token bucket, run by EVALSHA (EVAL only after Redis lost the script: a restart or SCRIPT FLUSH). */
const SCRIPT_CALLS = ['evalsha', 'evalsha_ro', 'fcall', 'fcall_ro'];
/**
 * A key's record is looked up by its hash with one EVAL (the key index, then the record); Redis
 * counts that script's two HGETs as commands too.
 */
const KEY_SCRIPT = 'eval';
const KEY_SCRIPT_INNER = 'hget';
const KEY_SCRIPT_INNER_PER_RUN = 2;
/**
 * Redis counts the commands a script runs in commandstats too. The bucket script runs TIME, HMGET, HSET
 * and PEXPIRE once each per admitted take: up to one per script run they are its own, not commands the
 * gateway sent.
 */
const SCRIPT_INNER = ['time', 'hmget', 'hset', 'pexpire'];
/** What a tenant or key lookup sends (key mapping GET + PTTL, tenant GET, and their relatives). */
const LOOKUPS = ['get', 'mget', 'hget', 'hgetall', 'hvals', 'pttl', 'exists', 'scan'];
/** The benchmark's own commands, not the gateway's. */
const OWN = ['config|resetstat', 'info'];
/** A refresh re-reads the key mapping (GET + PTTL), the tenant (GET) and the key's record (EVAL). */
const COMMANDS_PER_REFRESH = 4;

export interface RedisCostRow {
  command: string;
  calls: number;
  kind: 'bucket script' | 'inside the script' | 'lookup' | 'other';
}

export interface RedisCost {
  admitted: number;
  runMs: number;
  rows: RedisCostRow[];
  scriptRuns: number;
  lookups: number;
  others: number;
  /** Commands the gateway sent (a lookup pipelines GET + PTTL, so not round trips): script runs + lookups + others. */
  clientCommands: number;
  perRequest: number;
  allowedLookups: number;
  pass: boolean;
  verdict: string;
}

function parseCommandStats(info: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1].toLowerCase(), Number(match[2]));
  return calls;
}

/** Sum of gateway_requests_total for one tenant, every status (the requests that reached the rate limiter). */
export async function requestsCounted(gatewayUrl: string, tenantId: string): Promise<number> {
  const res = await request(`${gatewayUrl}/metrics`, { headers: { 'x-admin-token': ADMIN_TOKEN } });
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  let total = 0;
  for (const line of res.body.split('\n')) {
    if (line.startsWith('gateway_requests_total{') && line.includes(`tenantId="${tenantId}"`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

export class RedisCostProbe {
  private readonly client: Redis;

  constructor(url: string) {
    this.client = new Redis(url, { maxRetriesPerRequest: 1 });
    this.client.on('error', () => undefined);
  }

  async reset(): Promise<void> {
    await this.client.config('RESETSTAT');
  }

  async read(): Promise<Map<string, number>> {
    return parseCommandStats(await this.client.info('commandstats'));
  }

  close(): void {
    this.client.disconnect();
  }
}

export function analyseRedisCost(stats: Map<string, number>, admitted: number, runMs: number): RedisCost {
  const rows: RedisCostRow[] = [];
  let scriptRuns = 0;
  for (const name of SCRIPT_CALLS) scriptRuns += stats.get(name) ?? 0;
  let lookups = 0;
  let others = 0;
  const keyScriptRuns = stats.get(KEY_SCRIPT) ?? 0;
  for (const [command, calls] of [...stats.entries()].sort((a, b) => b[1] - a[1])) {
    if (OWN.includes(command) || command.startsWith('config|')) continue;
    if (command === KEY_SCRIPT) {
      rows.push({ command, calls, kind: 'lookup' });
      lookups += calls;
    } else if (command === KEY_SCRIPT_INNER && keyScriptRuns > 0) {
      const inner = Math.min(calls, keyScriptRuns * KEY_SCRIPT_INNER_PER_RUN);
      rows.push({ command, calls: inner, kind: 'inside the script' });
      if (calls > inner) {
        rows.push({ command, calls: calls - inner, kind: 'lookup' });
        lookups += calls - inner;
      }
    } else if (SCRIPT_CALLS.includes(command)) {
      rows.push({ command, calls, kind: 'bucket script' });
    } else if (SCRIPT_INNER.includes(command)) {
      const inner = Math.min(calls, scriptRuns);
      rows.push({ command, calls: inner, kind: 'inside the script' });
      if (calls > inner) {
        rows.push({ command, calls: calls - inner, kind: LOOKUPS.includes(command) ? 'lookup' : 'other' });
        if (LOOKUPS.includes(command)) lookups += calls - inner;
        else others += calls - inner;
      }
    } else if (LOOKUPS.includes(command)) {
      rows.push({ command, calls, kind: 'lookup' });
      lookups += calls;
    } else {
      rows.push({ command, calls, kind: 'other' });
      others += calls;
    }
  }
  const clientCommands = scriptRuns + lookups + others;
  // A cached tenant costs nothing; its entries in use are re-read in the background once they are
  // four fifths of TENANT_CACHE_TTL_MS old (the gateway's refresh-ahead), so once per 4/5 TTL.
  const refreshEveryMs = (TENANT_CACHE_TTL_MS * 4) / 5;
  const allowedLookups = COMMANDS_PER_REFRESH * (Math.floor(runMs / refreshEveryMs) + 1);
  const problems: string[] = [];
  if (admitted === 0) problems.push('no request was counted');
  if (scriptRuns !== admitted) problems.push(`${scriptRuns} bucket script runs for ${admitted} admitted requests`);
  if (lookups > allowedLookups) problems.push(`${lookups} lookup commands (at most ${allowedLookups} expected from TTL refreshes)`);
  if (others > 0) problems.push(`${others} other commands`);
  return {
    admitted,
    runMs,
    rows,
    scriptRuns,
    lookups,
    others,
    clientCommands,
    perRequest: admitted === 0 ? 0 : clientCommands / admitted,
    allowedLookups,
    pass: problems.length === 0,
    verdict: problems.length === 0 ? 'one bucket script per admitted request; no lookups beyond the TTL refreshes' : problems.join('; '),
  };
}
