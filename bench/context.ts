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
  rounds: number;
  /** Seconds per measured run. */
  durationS: number;
  warmupS: number;
  concurrency: number;
  /** Hosts of the new-hosts scenario. */
  newHosts: number;
  /** Certificates of the scale scenario. */
  certificates: number;
  /** taskset list for a system with one worker; the load generator and the upstream get the others. */
  proxyCpus: string | undefined;
  clientCpus: string | undefined;
  /** LD_PRELOAD shim giving wrk a client certificate, or null when it could not be built. */
  wrkShim: string | null;
  /** Extra node flags for vaultgate, e.g. --cpu-prof (from --cpu-prof DIR). */
  vaultgateNodeArgs: string[];
  has: { wrk: boolean; nginx: boolean; haproxy: boolean; mitmproxy: boolean };
  log(line: string): void;
}
