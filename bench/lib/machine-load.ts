/**
 * How busy the machine was with work that is not the benchmark's. The load average cannot tell: the
 * bench itself keeps every CPU busy. Instead, the CPU time the whole machine spent busy (/proc/stat,
 * hypervisor steal included) is compared with the CPU time of the bench's own process tree — this
 * process, every system, generator and upstream it started, alive or already exited (an exited,
 * waited-for child's time is in its parent's cutime/cstime). What is left is other people's load.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { processTree } from './proc.js';
import { round } from './results.js';

/** Above this share of the machine's CPU capacity used by others, a run is reported as loaded. */
export const LOADED_SHARE = 0.05;

export interface CpuMark {
  /** Busy and total jiffies of all CPUs (/proc/stat). */
  busy: number;
  total: number;
  /** Jiffies of the bench's process tree, children already reaped included. */
  bench: number;
  loadavg: number;
}

function machineJiffies(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal (guest time is already inside user).
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

function treeJiffies(): number {
  let ticks = 0;
  for (const pid of processTree(process.pid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime stime cutime cstime: fields 14-17 of stat(5), 11-14 after the command name.
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // Exited between the listing and the read: its time moves to its parent once reaped.
    }
  }
  return ticks;
}

export function cpuMark(): CpuMark {
  return { ...machineJiffies(), bench: treeJiffies(), loadavg: os.loadavg()[0] ?? 0 };
}

export interface ForeignLoad {
  /** Share of the machine's CPU capacity (all CPUs) used by processes outside the bench, 0–1. */
  foreign_cpu_share: number;
  /** Share used by the bench itself. */
  bench_cpu_share: number;
  loaded: boolean;
}

export function foreignLoad(from: CpuMark, to: CpuMark): ForeignLoad {
  const total = to.total - from.total;
  const busy = to.busy - from.busy;
  const bench = to.bench - from.bench;
  // Jiffies of /proc/stat and of /proc/<pid>/stat are both USER_HZ; rounding can make it dip below 0.
  const foreign = total > 0 ? Math.max(0, (busy - bench) / total) : NaN;
  return {
    foreign_cpu_share: round(foreign, 3),
    bench_cpu_share: round(total > 0 ? bench / total : NaN, 3),
    loaded: foreign > LOADED_SHARE,
  };
}
