import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Linux /proc readings for one process and its children (a gateway run with WORKERS forks its
 * workers: they do the work, so theirs counts as the gateway's): CPU time, writes and memory.
 */

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK` (the unit of utime/stime in /proc/<pid>/stat), normally 100. */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
  }
  return ticksPerSecond;
}

/** The fields of /proc/<pid>/stat after the command name; fields[0] is field 3 of stat(5). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The process and its live children (field 4 of stat(5) is the parent's pid). */
export function withChildren(pid: number): number[] {
  const pids = [pid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === pid) continue;
    try {
      if (Number(statFields(Number(entry))[1]) === pid) pids.push(Number(entry));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return pids;
}

/** Sums `read` over the process and its children; a child gone meanwhile counts 0. */
function overTree(pid: number, read: (pid: number) => number): number {
  let total = 0;
  for (const each of withChildren(pid)) {
    try {
      total += read(each);
    } catch {
      if (each === pid) throw new Error(`process ${pid} is gone`);
    }
  }
  return total;
}

/** utime + stime of the process and its children, in clock ticks. */
export function cpuTicks(pid: number): number {
  // Fields 14 and 15 of stat(5).
  return overTree(pid, (each) => {
    const fields = statFields(each);
    return Number(fields[11]) + Number(fields[12]);
  });
}

export function cpuMicros(ticks: number): number {
  return (ticks * 1e6) / clockTicks();
}

/** Write-like syscalls (write, writev, sendmsg, …) the process and its children have made: `syscw` of /proc/<pid>/io. */
export function writeSyscalls(pid: number): number {
  return overTree(pid, (each) => {
    const match = /^syscw:\s+(\d+)$/m.exec(readFileSync(`/proc/${each}/io`, 'utf8'));
    return match ? Number(match[1]) : NaN;
  });
}

/** Resident set size of the process and its children now, in bytes. */
export function rssBytes(pid: number): number {
  return overTree(pid, (each) => {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${each}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  });
}

/** Samples VmRSS every `intervalMs` until stopped; keeps the peak. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private peakBytes = 0;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 100,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  /** Stops sampling (after one last sample) and returns the peak seen, in bytes. */
  stop(): { peakBytes: number } {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return { peakBytes: this.peakBytes };
  }

  private sample(): void {
    try {
      this.peakBytes = Math.max(this.peakBytes, rssBytes(this.pid));
    } catch {
      // The process is gone: the caller finds out from the process itself.
    }
  }
}

export function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return match ? match[1].trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}
