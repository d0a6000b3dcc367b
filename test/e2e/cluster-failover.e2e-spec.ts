import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { call } from '../support/http-call';
import { killAll, requireBuild, startListening, tenantWithKey } from '../support/gateway-process';
import { startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster';
import { sleep, waitFor } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';

/**
 * SPEC §11 failover on Redis Cluster: three masters, each with a replica. The master holding the
 * tenant's rate-limit bucket is killed under steady traffic; its replica takes over, and the gateway
 * (a process, not restarted) serves 2xx again within 10 s of the promotion.
 */

const run = promisify(execFile);
const ADMIN_TOKEN = 'cluster-admin-token-0123456789abcdef';
const TENANT = 'cfail';

let cluster: RedisClusterHandle;
let upstream: Upstream;

async function cli(port: number, ...args: string[]): Promise<string> {
  return (await run('redis-cli', ['-p', String(port), ...args])).stdout;
}

/** The master serving `key`'s slot, and its replica, from CLUSTER NODES. */
async function ownerOf(key: string, port: number): Promise<{ master: number; replica: number }> {
  const slot = Number((await cli(port, 'cluster', 'keyslot', key)).trim());
  const nodes = (await cli(port, 'cluster', 'nodes'))
    .trim()
    .split('\n')
    .map((line) => line.split(' '));
  const portOf = (fields: string[]) => Number(fields[1].split('@')[0].split(':')[1]);
  const master = nodes.find(
    (f) => f[2].includes('master') && f.slice(8).some((range) => {
      const [from, to = from] = range.split('-').map(Number);
      return slot >= from && slot <= to;
    }),
  )!;
  const replica = nodes.find((f) => f[2].includes('slave') && f[3] === master[0])!;
  return { master: portOf(master), replica: portOf(replica) };
}

beforeAll(async () => {
  requireBuild();
  cluster = await startRedisCluster(3, 1000, 1);
  upstream = await startUpstream();
}, 60_000);

afterAll(async () => {
  await killAll();
  await upstream?.close();
  await cluster?.stop();
});

it('a master dies under traffic: its replica takes over and 2xx service returns within 10 s, with no restart', async () => {
  const { master, replica } = await ownerOf(`gw:{${TENANT}}:bucket`, cluster.nodes[0].port);
  await waitFor(async () => (await cli(replica, 'info', 'replication')).includes('master_link_status:up'), 15_000, 'the replica in sync', 200);

  const gateway = await startListening({
    ADMIN_TOKEN,
    REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(','),
    // Every request needs its bucket: a 2xx after the kill proves the promoted replica answers.
    RATE_LIMIT_FAILURE_MODE: 'closed',
    LOG_LEVEL: 'warn',
  });
  const key = await tenantWithKey(gateway.url, ADMIN_TOKEN, TENANT, upstream, { rateLimit: { windowSeconds: 1, maxRequests: 100_000 } });
  expect((await call(gateway.url, '/api/warm', { headers: { 'x-api-key': key } })).status).toBe(200);

  const outcomes: { at: number; status: number | string; code?: unknown }[] = [];
  let running = true;
  const traffic = (async () => {
    while (running) {
      const at = Date.now();
      outcomes.push(
        await call(gateway.url, '/api/steady', { headers: { 'x-api-key': key }, timeoutMs: 3000 }).then(
          (r) => ({ at, status: r.status, code: r.json?.code }),
          (err: NodeJS.ErrnoException) => ({ at, status: err.code ?? err.message }),
        ),
      );
      await sleep(20);
    }
  })();

  try {
    await sleep(500);
    const killedAt = Date.now();
    await cluster.killNode(master);
    await waitFor(async () => (await cli(replica, 'role')).startsWith('master'), 20_000, 'the replica to take over', 100);
    const promotedAt = Date.now();
    await waitFor(() => outcomes.some((o) => o.at > promotedAt && o.status === 200), 12_000, 'a 2xx after the promotion', 100);
    await sleep(2500);
    running = false;
    await traffic;

    const after = outcomes.filter((o) => o.at >= killedAt);
    for (const o of after) if (o.status !== 200) expect(o).toMatchObject({ status: 503, code: 'state_unavailable' });
    const firstOk = after.find((o) => o.at >= promotedAt && o.status === 200)!;
    expect(firstOk.at - promotedAt).toBeLessThan(10_000);
    expect(outcomes.filter((o) => o.at > firstOk.at + 2000 && o.status !== 200)).toEqual([]);
    expect(gateway.exit).toBeNull();
    console.log(
      `cluster failover: promotion ${promotedAt - killedAt} ms after the kill; first 2xx ${firstOk.at - promotedAt} ms after it; ` +
        `${after.length} requests after the kill, ${after.filter((o) => o.status !== 200).length} answered 503`,
    );
  } finally {
    running = false;
    await traffic;
  }
}, 90_000);
