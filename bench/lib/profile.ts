/**
 * Summaries of the V8 CPU profiles written with --cpu-prof: per process, how long it was busy; per
 * system start, the functions with the most self time over all its processes (control plane and
 * workers together). Only samples taken while a measured run drove the system count when such runs
 * were recorded (start-up, configuration and warm-up would otherwise crowd the hot path out): V8
 * stamps samples with CLOCK_MONOTONIC, the clock of process.hrtime here, so the windows line up
 * across processes. The .cpuprofile files themselves open in Chrome DevTools or speedscope.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { round } from './results.js';

interface CpuProfile {
  /** µs, CLOCK_MONOTONIC. */
  startTime: number;
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  samples: number[];
  timeDeltas: number[];
}

/** Measured windows [from, to] (µs, CLOCK_MONOTONIC) per profile directory. */
const windows = new Map<string, [number, number][]>();

export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Marks [fromUs, toUs] as a measured run of the system whose processes profile into `dir`. */
export function recordProfileWindow(dir: string | undefined, fromUs: number, toUs: number): void {
  if (dir === undefined) return;
  const list = windows.get(dir) ?? [];
  list.push([fromUs, toUs]);
  windows.set(dir, list);
}

export interface ProfileSummary {
  /** The directory's name: scenario and system. */
  label: string;
  dir: string;
  /** What the figures cover: the measured runs (their total ms) or the processes' whole lives. */
  covers: string;
  processes: { file: string; pid: number; total_ms: number; busy_ms: number }[];
  busy_ms: number;
  /** Highest self time first, over every process of this start; share of busy time. */
  top: { function: string; where: string; self_ms: number; self_pct: number }[];
}

const IDLE = '(idle)';

/** Where a frame is, short: node internals and node_modules by module, our code by its dist path. */
function where(url: string, line: number): string {
  if (url === '') return '';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  const short = nm !== -1 ? path.slice(nm + '/node_modules/'.length) : path.replace(/^.*?\/dist\//, 'dist/');
  return `${short}:${line + 1}`;
}

/** Self time per function (ms) of one profile, and its total and busy time. */
function selfTimes(
  profile: CpuProfile,
  within: [number, number][] | undefined,
): { self: Map<string, number>; total: number; idle: number } {
  const key = new Map<number, string>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    key.set(node.id, `${functionName || '(anonymous)'}\t${where(url, lineNumber)}`);
  }
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  // timeDeltas[i] is the time before sample i; DevTools gives a sample the interval that follows it.
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (within !== undefined && !within.some(([from, to]) => at >= from && at <= to)) continue;
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const k = key.get(profile.samples[i] as number) ?? '(unknown)\t';
    self.set(k, (self.get(k) ?? 0) + ms);
    total += ms;
    if (k.startsWith(`${IDLE}\t`)) idle += ms;
  }
  return { self, total, idle };
}

/** Summarizes every .cpuprofile in `dir` (one per process: CPU.<date>.<time>.<pid>.<thread>.<seq>). */
export function summarizeProfiles(dir: string, root: string, topN = 15): ProfileSummary | null {
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return null;
  const all = new Map<string, number>();
  const processes: ProfileSummary['processes'] = [];
  let busy = 0;
  const within = windows.get(dir);
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const { self, total, idle } = selfTimes(profile, within);
    for (const [k, ms] of self) if (!k.startsWith(`${IDLE}\t`)) all.set(k, (all.get(k) ?? 0) + ms);
    processes.push({
      file: basename(file),
      pid: Number(file.split('.')[3]),
      total_ms: round(total, 0),
      busy_ms: round(total - idle, 0),
    });
    busy += total - idle;
  }
  const top = [...all.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([k, ms]) => {
      const [fn, at] = k.split('\t') as [string, string];
      return { function: fn, where: at, self_ms: round(ms, 0), self_pct: round((ms / busy) * 100, 1) };
    });
  processes.sort((a, b) => b.busy_ms - a.busy_ms);
  const measured = (within ?? []).reduce((ms, [from, to]) => ms + (to - from) / 1000, 0);
  return {
    label: basename(dir),
    dir: relative(root, dir).startsWith('..') ? dir : relative(root, dir) || dir,
    covers:
      within === undefined
        ? "the processes' whole lives (start-up included)"
        : `the ${within.length} measured runs (${round(measured / 1000, 1)} s; start-up and warm-up left out)`,
    processes,
    busy_ms: round(busy, 0),
    top,
  };
}
