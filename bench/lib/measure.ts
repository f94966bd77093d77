/**
 * Interleaved rounds: every system gets one warm-up run, then round after round each system runs once
 * (A B C A B C …, the order rotated each round so no system always follows the same one). A system's
 * figure is the median of its rounds, so one disturbed run does not decide it.
 */
import type { SystemHandle } from '../systems/types.js';
import type { Upstream } from '../upstream.js';
import { cpuSeconds, rssMb } from './proc.js';
import { monotonicUs, recordProfileWindow } from './profile.js';
import { median, round, type SystemResult } from './results.js';

export interface RunFigures {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError?: string | undefined;
}

export interface MeasureOptions {
  rounds: number;
  warmup: boolean;
  upstream: Upstream;
  log: (line: string) => void;
}

export async function measureInterleaved(
  systems: readonly SystemHandle[],
  run: (system: SystemHandle, warmup: boolean) => Promise<RunFigures>,
  opts: MeasureOptions,
): Promise<Record<string, SystemResult>> {
  type Sample = RunFigures & { cpuPer10k: number | null; rss: number | null; connsPer10k: number };
  const samples = new Map<string, Sample[]>(systems.map((s) => [s.name, []]));
  if (opts.warmup) {
    for (const system of systems) await run(system, true);
  }
  for (let r = 0; r < opts.rounds; r++) {
    const order = systems.map((_, i) => systems[(i + r) % systems.length] as SystemHandle);
    for (const system of order) {
      const pids = system.pids();
      const cpu0 = cpuSeconds(pids);
      const accepts0 = await opts.upstream.accepts();
      const from = monotonicUs();
      const figures = await run(system, false);
      recordProfileWindow(system.profileDir, from, monotonicUs());
      const cpu = cpuSeconds(system.pids()) - cpu0;
      const accepts = (await opts.upstream.accepts()) - accepts0;
      const rss = pids.length > 0 ? rssMb(system.pids()) : null;
      const per10k = (n: number): number => (figures.requests > 0 ? (n / figures.requests) * 10_000 : NaN);
      samples.get(system.name)?.push({
        ...figures,
        cpuPer10k: pids.length > 0 ? per10k(cpu) : null,
        rss,
        connsPer10k: per10k(accepts),
      });
      opts.log(
        `  round ${r + 1}/${opts.rounds} ${system.name.padEnd(18)} ${figures.rps.toFixed(0).padStart(7)} req/s  p50 ${figures.p50Ms.toFixed(2)} ms  p99 ${figures.p99Ms.toFixed(2)} ms  errors ${figures.errors}${figures.firstError ? ` (${figures.firstError})` : ''}`,
      );
    }
  }
  const out: Record<string, SystemResult> = {};
  for (const system of systems) {
    const list = samples.get(system.name) ?? [];
    const nullable = (values: (number | null)[]): number | null =>
      values.some((v) => v === null) ? null : round(median(values as number[]), 3);
    out[system.name] = {
      rps: round(median(list.map((s) => s.rps)), 0),
      p50_ms: round(median(list.map((s) => s.p50Ms)), 2),
      p99_ms: round(median(list.map((s) => s.p99Ms)), 2),
      cpu_s_per_10k: nullable(list.map((s) => s.cpuPer10k)),
      rss_mb:
        nullable(list.map((s) => s.rss)) === null ? null : round(median(list.map((s) => s.rss as number)), 1),
      workers: system.workers,
      rounds_rps: list.map((s) => round(s.rps, 0)),
      errors: list.reduce((n, s) => n + s.errors, 0),
      upstream_conns_per_10k: round(median(list.map((s) => s.connsPer10k)), 1),
    };
  }
  return out;
}
