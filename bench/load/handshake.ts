/**
 * The inbound-hostnames generator: bench/load/handshake-client.c, compiled here with the system's cc
 * against OpenSSL (libssl-dev), or, where it cannot be built, bench/load/handshake-worker.ts (Node,
 * the same behaviour at a higher CPU cost per connection). Either runs as its own, optionally pinned,
 * process.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunFigures } from '../lib/measure.js';
import { runSync, startPinned, which } from '../lib/proc.js';
import type { HandshakeLoadOptions, HandshakeLoadResult } from './handshake-worker.js';

const WORKER = join(import.meta.dirname, 'handshake-worker.js');
/** dist/bench/load → the checkout's bench/load: tsc does not copy C sources. */
const C_SOURCE = join(import.meta.dirname, '../../../bench/load/handshake-client.c');

/** Compiles the C client once per run into `dir`; null when there is no compiler or no OpenSSL headers. */
export function buildHandshakeClient(dir: string): string | null {
  const bin = join(dir, 'handshake-client');
  if (existsSync(bin)) return bin;
  const cc = which('cc') ?? which('gcc');
  if (cc === null || !existsSync(C_SOURCE)) return null;
  try {
    runSync(cc, ['-O2', '-o', bin, C_SOURCE, '-lssl', '-lcrypto', '-lpthread']);
    return bin;
  } catch {
    return null;
  }
}

async function exitOf(started: ReturnType<typeof startPinned>): Promise<number | null> {
  return new Promise((resolve) => started.child.once('exit', (c) => resolve(c)));
}

export async function runHandshakes(
  opts: HandshakeLoadOptions & { dir: string; client: string | null },
  cpus: string | undefined,
): Promise<RunFigures> {
  const { dir, client, ...load } = opts;
  if (client === null) {
    const started = startPinned(process.execPath, [WORKER, JSON.stringify(load)], { cpus });
    const code = await exitOf(started);
    const line = started.output().trim().split('\n').pop() ?? '';
    if (code !== 0 || !line.startsWith('{'))
      throw new Error(`load generator failed (${code}): ${started.output().slice(-2000)}`);
    return JSON.parse(line) as HandshakeLoadResult;
  }
  const names = join(dir, `sni-${load.hostnames.length}.txt`);
  const ca = join(dir, 'sni-ca.pem');
  writeFileSync(names, `${load.hostnames.join('\n')}\n`);
  writeFileSync(ca, load.caPem);
  const args = [
    String(load.port),
    names,
    ca,
    String(load.connections),
    String(load.durationMs / 1000),
    String(load.maxConnections ?? 0),
  ];
  const started = startPinned(client, args, { cpus });
  const code = await exitOf(started);
  const line = started
    .output()
    .split('\n')
    .find((l) => l.startsWith('{'));
  if (code !== 0 || line === undefined)
    throw new Error(`handshake-client failed (${code}): ${started.output()}`);
  const r = JSON.parse(line) as Record<string, number | string>;
  const requests = Number(r['requests']);
  const durationS = Number(r['duration_us']) / 1e6;
  return {
    requests,
    rps: durationS > 0 ? requests / durationS : 0,
    p50Ms: Number(r['p50_us']) / 1000,
    p99Ms: Number(r['p99_us']) / 1000,
    errors: Number(r['errors']),
    firstError: r['first_error'] === '' ? undefined : String(r['first_error']),
  };
}
