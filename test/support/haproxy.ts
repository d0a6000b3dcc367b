import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './redis-server';

/**
 * A real load balancer for the rolling-restart test: Debian's haproxy on 127.0.0.1, balancing over
 * the given gateway ports and health-checking each one's /readyz every second, as SPEC §11 says.
 * The test setup installs haproxy when it is missing (see global-setup.ts).
 */
export interface Haproxy {
  url: string;
  /** Each server's state as haproxy sees it ("UP", "DOWN", "MAINT", …), by name (g1, g2, …). */
  states(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

export const hasHaproxy = spawnSync('haproxy', ['-v']).status === 0;

export async function startHaproxy(ports: number[]): Promise<Haproxy> {
  if (!hasHaproxy) throw new Error('haproxy not found: install it (apt-get install -y haproxy); the test setup does when run as root');
  const dir = mkdtempSync(join(tmpdir(), 'gw-haproxy-'));
  const socket = join(dir, 'admin.sock');
  const port = await freePort();
  const config = [
    'global',
    `  stats socket ${socket} level admin`,
    '  maxconn 2000',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    // No retries (haproxy's default is 3 on a failed connection): a request sent to a replica that is
    // going away must not be saved by the balancer, so the test shows what the gateway itself does.
    '  retries 0',
    'frontend public',
    `  bind 127.0.0.1:${port}`,
    '  default_backend gateways',
    'backend gateways',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    // Checked every second; out after one failed check, back after two good ones.
    '  default-server inter 1s fall 1 rise 2',
    ...ports.map((p, i) => `  server g${i + 1} 127.0.0.1:${p} check`),
    '',
  ].join('\n');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const proc = spawn('haproxy', ['-f', file, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  proc.stderr.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));

  const command = (text: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const conn = connect(socket);
      let reply = '';
      conn.setTimeout(2000, () => conn.destroy(new Error('haproxy admin socket: no answer')));
      conn.on('connect', () => conn.write(`${text}\n`));
      conn.on('data', (c: Buffer) => (reply += c.toString()));
      conn.on('end', () => resolve(reply));
      conn.on('error', reject);
    });

  const states = async (): Promise<Record<string, string>> => {
    // CSV: pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,…
    const csv = await command('show stat');
    const found: Record<string, string> = {};
    for (const line of csv.split('\n')) {
      const fields = line.split(',');
      if (fields[0] === 'gateways' && /^g\d+$/.test(fields[1] ?? '')) found[fields[1]] = fields[17];
    }
    return found;
  };

  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`haproxy exited at start:\n${output}`);
        return states().then((s) => Object.keys(s).length === ports.length, () => false);
      },
      10_000,
      'haproxy to answer on its admin socket',
      100,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, states, stop };
}
