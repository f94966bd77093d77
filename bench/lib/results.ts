/** The shape of bench/results/latest.json (issues 8 and 12), and small statistics helpers. */
import type { ForeignLoad } from './machine-load.js';
import type { ProfileSummary } from './profile.js';

export interface SystemResult {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  /** CPU seconds (user + system, all its processes) per 10,000 requests; null for "direct". */
  cpu_s_per_10k: number | null;
  /** Resident memory of all its processes after a run, MiB; null for "direct". */
  rss_mb: number | null;
  workers: string;
  /** Requests/s of each round, in order. */
  rounds_rps: number[];
  /** Failed requests over all rounds (connection errors, timeouts, non-2xx). */
  errors: number;
  /** New connections the upstream accepted per 10,000 requests (TLS handshakes toward it). */
  upstream_conns_per_10k: number | null;
}

export interface Scenario {
  name: string;
  description: string;
  generator: string;
  concurrency: number;
  rounds: number;
  duration_s: number;
  results: Record<string, SystemResult | Record<string, number | string | null>>;
  /** Systems that could not run, with the reason. */
  skipped: Record<string, string>;
  notes: string[];
  /** CPU used by other processes on the machine while this scenario ran. */
  load?: ForeignLoad;
}

export interface TargetCheck {
  scenario: string;
  target: string;
  value: string;
  met: boolean | null;
  /** Why the figure is not the target's own condition (e.g. fewer certificates than 10,000). */
  note?: string;
  /** Other processes used more than bench/lib/machine-load.ts LOADED_SHARE of the CPU meanwhile. */
  loaded?: boolean;
}

export interface BenchResults {
  machine: {
    cpus: number;
    cpu_model: string;
    memory_gb: number;
    node: string;
    openssl: string;
    kernel: string;
    tools: Record<string, string>;
  };
  date: string;
  mode: 'full' | 'quick' | 'smoke';
  command: string;
  pinning: string;
  duration_s: number;
  /** 1-minute load average before, after and the highest seen between scenarios. */
  load_average: { before: number; after: number; max: number };
  /** Over the whole run: the CPU others used (the load average cannot tell, the bench keeps every CPU busy). */
  machine_load: ForeignLoad;
  scenarios: Scenario[];
  targets: TargetCheck[];
  /** With --cpu-prof: one summary per profiled system start. */
  profiles?: ProfileSummary[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Rounds for the report: 3 significant figures is more than the noise allows. */
export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
