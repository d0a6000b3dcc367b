import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, spawnRedisServer, waitFor, type SpawnedServer } from './redis-server';

const run = promisify(execFile);

/**
 * A throw-away Redis Sentinel setup on free ports of 127.0.0.1: a master, one replica and three
 * Sentinels (`redis-server <conf> --sentinel`) watching it as `name`, quick to fail over (a master
 * is down after 1 s without an answer).
 */
export interface SentinelHandle {
  name: string;
  masterPort: number;
  replicaPort: number;
  sentinels: { host: string; port: number }[];
  /** REDIS_SENTINELS for the gateway. */
  sentinelList: string;
  /** Kills the master's redis-server (nothing restarts it). */
  killMaster(): Promise<void>;
  /** The master's port as the first Sentinel reports it now. */
  masterNow(): Promise<number | null>;
  stop(): Promise<void>;
}

export async function startSentinels(name = 'gwmaster'): Promise<SentinelHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-sentinel-'));
  const servers: SpawnedServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const masterPort = await freePort();
    const master = await spawnRedisServer(masterPort);
    servers.push(master);
    const replicaPort = await freePort();
    servers.push(await spawnRedisServer(replicaPort, ['--replicaof', '127.0.0.1', String(masterPort)]));
    await waitFor(
      async () => (await run('redis-cli', ['-p', String(replicaPort), 'info', 'replication'])).stdout.includes('master_link_status:up'),
      10_000,
      'the replica in sync with the master',
      100,
    );
    const sentinels: { host: string; port: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${port}.conf`);
      await writeFile(
        conf,
        [
          `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      servers.push(await spawnRedisServer(port, ['--sentinel', '--dir', dir], 10_000, conf));
      sentinels.push({ host: '127.0.0.1', port });
    }
    const masterNow = async (): Promise<number | null> => {
      try {
        const { stdout } = await run('redis-cli', ['-p', String(sentinels[0].port), 'sentinel', 'get-master-addr-by-name', name]);
        const port = Number(stdout.trim().split('\n')[1]);
        return Number.isInteger(port) ? port : null;
      } catch {
        return null;
      }
    };
    // Every Sentinel knows the replica and the other Sentinels before anything is killed.
    await waitFor(
      async () => {
        const { stdout } = await run('redis-cli', ['-p', String(sentinels[0].port), 'sentinel', 'master', name]);
        const fields = stdout.trim().split('\n');
        const field = (key: string) => Number(fields[fields.indexOf(key) + 1]);
        return field('num-slaves') === 1 && field('num-other-sentinels') === 2;
      },
      15_000,
      'the Sentinels to find the replica and each other',
      200,
    );
    return {
      name,
      masterPort,
      replicaPort,
      sentinels,
      sentinelList: sentinels.map((s) => `${s.host}:${s.port}`).join(','),
      killMaster: () => master.kill(),
      masterNow,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
