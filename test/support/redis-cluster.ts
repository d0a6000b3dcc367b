import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, spawnRedisServer, SpawnedServer, waitFor } from './redis-server';

const run = promisify(execFile);

/** A throw-away Redis Cluster on free ports of 127.0.0.1: masters only, or each master with replicas. */
export interface RedisClusterHandle {
  /** Every node, masters first (as `redis-cli --cluster create` assigns them). */
  nodes: { host: string; port: number }[];
  /** Kills one node's redis-server (as if it crashed; nothing restarts it); stop() still cleans up. */
  killNode(port: number): Promise<void>;
  stop(): Promise<void>;
}

/** A free port whose cluster-bus twin (port + 10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10000 > 65535 || taken.has(port) || taken.has(port + 10000)) continue;
    if (!(await isBusy(port + 10000))) return port;
  }
}

function isBusy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(true));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

/**
 * `nodeTimeoutMs` is the cluster-node-timeout: how long until a dead node is marked failed and, with
 * masters only, the cluster reports itself down (Redis' default is 15 s).
 */
export async function startRedisCluster(masters = 3, nodeTimeoutMs?: number, replicasPerMaster = 0): Promise<RedisClusterHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-cluster-'));
  const servers: SpawnedServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    const taken = new Set<number>();
    for (let i = 0; i < masters * (1 + replicasPerMaster); i++) {
      const port = await freeClusterPort(taken);
      taken.add(port).add(port + 10000);
      ports.push(port);
      const clusterArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--dir', dir];
      if (nodeTimeoutMs !== undefined) clusterArgs.push('--cluster-node-timeout', String(nodeTimeoutMs));
      servers.push(await spawnRedisServer(port, clusterArgs));
    }
    const addresses = ports.map((p) => `127.0.0.1:${p}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'], {
      timeout: 20_000,
    });
    await waitFor(
      async () => (await Promise.all(ports.map(clusterOk))).every(Boolean),
      15_000,
      'cluster_state:ok on every node',
      200,
    );
    const killNode = async (port: number): Promise<void> => {
      const index = ports.indexOf(port);
      if (index < 0) throw new Error(`no node of this cluster on port ${port}`);
      await servers[index].kill();
    };
    return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), killNode, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** True when the node answers CLUSTER INFO with cluster_state:ok. */
export async function clusterOk(port: number): Promise<boolean> {
  const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
  return stdout.includes('cluster_state:ok');
}
