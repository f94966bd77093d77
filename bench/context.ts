import type { BenchPki } from './lib/pki.js';
import type { Upstream } from './upstream.js';

export type Mode = 'full' | 'quick' | 'smoke';

/** Everything a scenario needs from the run. */
export interface BenchContext {
  mode: Mode;
  /** Temp dir of this run: configs, data dirs, certificates. */
  dir: string;
  pki: BenchPki;
  upstream: Upstream;
  /** CPUs of the machine: the worker count of the all-cores runs and of vaultgate's default. */
  cpus: number;
  rounds: number;
  /** Seconds per measured run. */
  durationS: number;
  warmupS: number;
  concurrency: number;
  /** Hosts of the new-hosts scenario. */
  newHosts: number;
  /** Certificates of the scale scenario. */
  certificates: number;
  /** Custom hostnames of the inbound-hostnames scenario (its target is about 1,000). */
  hostnames: number;
  /** taskset list for a system with one worker; the load generator and the upstream get the others. */
  proxyCpus: string | undefined;
  clientCpus: string | undefined;
  /** How many CPUs clientCpus names (all of them when unpinned): a Go generator's GOMAXPROCS. */
  clientCpuCount: number;
  /** LD_PRELOAD shim giving wrk a client certificate, or null when it could not be built. */
  wrkShim: string | null;
  /**
   * With --cpu-prof: a new directory, named after `label`, for the CPU profiles of one start of a
   * system (vaultgate, node-reference); without: undefined (no profiling).
   */
  profileDir(label: string): string | undefined;
  has: { wrk: boolean; nginx: boolean; haproxy: boolean; mitmproxy: boolean; hey: boolean };
  log(line: string): void;
}
