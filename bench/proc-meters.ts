/**
 * CPU and memory of processes and of the machine, read from /proc, for the
 * benchmarks' figures: a process's CPU over a window, its RSS, the machine's
 * stolen and idle CPU, the load average.
 */
import { readFileSync } from 'node:fs';
import { run } from './lib.ts';

let clkTck: number | undefined;

export async function clockTicks(): Promise<number> {
  if (clkTck === undefined) {
    const r = await run('getconf', ['CLK_TCK'], 5000);
    const n = Number(r.stdout.trim());
    clkTck = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return clkTck;
}

/** utime + stime of a process, in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  return Number(rest[11]) + Number(rest[12]);
}

/** VmRSS (or another Vm field) of a process, in bytes. */
export function statusBytes(pid: number, field = 'VmRSS'): number {
  return statusBytesOf(readFileSync(`/proc/${pid}/status`, 'utf8'), field);
}

export function statusBytesOf(statusText: string, field = 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(statusText);
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** CPU use of a process over a window: start() then end() gives % of one core. */
export async function cpuMeter(pid: number): Promise<{ end(): number }> {
  const hz = await clockTicks();
  const t0 = performance.now();
  const c0 = cpuTicks(pid);
  return {
    end() {
      const c1 = cpuTicks(pid);
      const seconds = (performance.now() - t0) / 1000;
      return ((c1 - c0) / hz / seconds) * 100;
    },
  };
}

/**
 * The machine's CPU over a window, from /proc/stat: how much of it the
 * hypervisor gave to others (steal) and how much sat idle, in % of all CPUs.
 * On a shared virtual machine a latency figure taken while steal is high is a
 * figure of the host's other tenants.
 */
export function machineCpuMeter(): { end(): { steal: number; idle: number } | undefined } {
  const read = (): number[] | undefined => {
    try {
      const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
      return line.startsWith('cpu ') ? line.trim().split(/\s+/).slice(1, 9).map(Number) : undefined;
    } catch {
      return undefined;
    }
  };
  const a = read();
  return {
    end() {
      const b = read();
      if (!a || !b) return undefined;
      const d = b.map((v, i) => v - a[i]!);
      const total = d.reduce((x, y) => x + y, 0) || 1;
      // user nice system idle iowait irq softirq steal
      return { steal: (d[7]! / total) * 100, idle: ((d[3]! + d[4]!) / total) * 100 };
    },
  };
}

export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}
