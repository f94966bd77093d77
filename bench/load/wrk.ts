/**
 * wrk, the load generator of the inbound scenarios: C, event-driven, far cheaper per request than any
 * proxy here, so on a 2-core machine it takes the least CPU away from the system under test.
 *
 * wrk has no client-certificate option, and the "direct" ceiling is a client presenting the
 * certificate to the upstream. A 20-line LD_PRELOAD shim (compiled here with the system's cc) wraps
 * OpenSSL's SSL_CTX_new so the context wrk creates loads the certificate and key named in two
 * environment variables; the wrk binary and its behaviour are otherwise unchanged.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSync, startPinned, which } from '../lib/proc.js';

const SHIM_SOURCE = `/* vaultgate bench: give wrk a TLS client certificate (wrk has no option for one). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_method_st SSL_METHOD;
int SSL_CTX_use_certificate_chain_file(SSL_CTX *ctx, const char *file);
int SSL_CTX_use_PrivateKey_file(SSL_CTX *ctx, const char *file, int type);
SSL_CTX *SSL_CTX_new(const SSL_METHOD *method) {
  static SSL_CTX *(*real)(const SSL_METHOD *) = 0;
  if (!real) real = (SSL_CTX * (*)(const SSL_METHOD *)) dlsym(RTLD_NEXT, "SSL_CTX_new");
  SSL_CTX *ctx = real(method);
  const char *cert = getenv("BENCH_CLIENT_CERT"), *key = getenv("BENCH_CLIENT_KEY");
  if (ctx && cert && key) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 || SSL_CTX_use_PrivateKey_file(ctx, key, 1) != 1) abort();
  }
  return ctx;
}
`;

const DONE_SCRIPT = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Failed connections, reads, writes, timeouts and non-2xx answers together. */
  errors: number;
}

export function wrkAvailable(): boolean {
  return which('wrk') !== null;
}

/** Compiles the client-certificate shim once per run; null when there is no C compiler. */
export function buildClientCertShim(dir: string): string | null {
  const lib = join(dir, 'wrk-client-cert.so');
  if (existsSync(lib)) return lib;
  const cc = which('cc') ?? which('gcc');
  if (cc === null) return null;
  const src = join(dir, 'wrk-client-cert.c');
  writeFileSync(src, SHIM_SOURCE);
  runSync(cc, ['-shared', '-fPIC', '-O2', '-o', lib, src, '-ldl']);
  return lib;
}

export interface WrkOptions {
  dir: string;
  port: number;
  hostHeader: string;
  connections: number;
  durationS: number;
  /** Send `Connection: close`: one TLS handshake per request. */
  newConnections: boolean;
  clientCert?: { certFile: string; keyFile: string; shim: string } | undefined;
  cpus: string | undefined;
}

export async function runWrk(opts: WrkOptions): Promise<LoadResult> {
  const script = join(opts.dir, 'wrk-done.lua');
  if (!existsSync(script)) writeFileSync(script, DONE_SCRIPT);
  const args = [
    '-t1',
    `-c${opts.connections}`,
    `-d${opts.durationS}s`,
    '--timeout',
    '10s',
    '-s',
    script,
    '-H',
    `Host: ${opts.hostHeader}`,
    ...(opts.newConnections ? ['-H', 'Connection: close'] : []),
    `https://127.0.0.1:${opts.port}/`,
  ];
  const env = { ...process.env };
  if (opts.clientCert) {
    env['LD_PRELOAD'] = opts.clientCert.shim;
    env['BENCH_CLIENT_CERT'] = opts.clientCert.certFile;
    env['BENCH_CLIENT_KEY'] = opts.clientCert.keyFile;
  }
  const started = startPinned('wrk', args, { cpus: opts.cpus, env });
  const code = await new Promise<number | null>((resolve) => started.child.once('exit', (c) => resolve(c)));
  const line = started
    .output()
    .split('\n')
    .find((l) => l.startsWith('WRKJSON '));
  if (code !== 0 || line === undefined) throw new Error(`wrk failed (${code}): ${started.output()}`);
  const r = JSON.parse(line.slice('WRKJSON '.length)) as Record<string, number>;
  const durationS = (r['duration_us'] ?? 0) / 1e6;
  const requests = r['requests'] ?? 0;
  const errors = ['connect', 'read', 'write', 'status', 'timeout'].reduce((n, k) => n + (r[k] ?? 0), 0);
  return {
    requests,
    durationS,
    rps: durationS > 0 ? requests / durationS : 0,
    p50Ms: (r['p50_us'] ?? 0) / 1000,
    p99Ms: (r['p99_us'] ?? 0) / 1000,
    errors,
  };
}
