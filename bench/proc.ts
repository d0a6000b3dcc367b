import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Linux /proc readings for one process: CPU time and resident memory. */

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK` (the unit of utime/stime in /proc/<pid>/stat), normally 100. */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
  }
  return ticksPerSecond;
}

/** utime + stime of the process, in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5); fields[0] here is field 3.
  return Number(fields[11]) + Number(fields[12]);
}

export function cpuMicros(ticks: number): number {
  return (ticks * 1e6) / clockTicks();
}

/** Write-like syscalls (write, writev, sendmsg, …) the process has made: `syscw` of /proc/<pid>/io. */
export function writeSyscalls(pid: number): number {
  const match = /^syscw:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  return match ? Number(match[1]) : NaN;
}

/** Resident set size now, in bytes. */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
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
