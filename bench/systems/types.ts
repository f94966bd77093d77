import type { BenchPki } from '../lib/pki.js';
import type { Upstream } from '../upstream.js';

/** What a system under test offers once started. */
export interface SystemHandle {
  readonly name: string;
  /** How many processes or threads serve traffic, as reported in the tables. */
  readonly workers: string;
  /** Its processes now (workers included), for CPU time and resident memory. */
  pids(): number[];
  /** Inbound (reverse proxy) listener: HTTPS on 127.0.0.1:port, sent `Host: hostHeader`. */
  readonly inbound?: { port: number; hostHeader: string; caPem: string };
  /** Outbound (forward proxy) listener: plain HTTP proxy protocol, CONNECT with Basic credentials. */
  readonly outbound?: { port: number; username: string; password: string; caPem: string };
  /** Where its processes write CPU profiles (--cpu-prof), so measured runs can be marked for them. */
  readonly profileDir?: string | undefined;
  stop(): Promise<void>;
}

export interface StartOptions {
  dir: string;
  pki: BenchPki;
  upstream: Upstream;
  /** Worker processes / threads: nginx and node-reference processes, HAProxy threads, VAULTGATE_WORKERS. */
  workers: number;
  /** taskset CPU list for the proxy, or undefined to leave it unpinned. */
  cpus: string | undefined;
  /** With --cpu-prof: the directory this start's Node processes write their V8 CPU profiles to. */
  profileDir?: string | undefined;
}
