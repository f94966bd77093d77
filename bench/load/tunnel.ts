/** Runs tunnel-worker.js as a separate (optionally pinned) process so its CPU is not the harness's. */
import { join } from 'node:path';
import { startPinned } from '../lib/proc.js';
import type { TunnelLoadOptions, TunnelLoadResult } from './tunnel-worker.js';

const WORKER = join(import.meta.dirname, 'tunnel-worker.js');

export async function runTunnel(
  opts: TunnelLoadOptions,
  cpus: string | undefined,
): Promise<TunnelLoadResult> {
  const started = startPinned(process.execPath, [WORKER, JSON.stringify(opts)], { cpus });
  const code = await new Promise<number | null>((resolve) => started.child.once('exit', (c) => resolve(c)));
  const line = started.output().trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{'))
    throw new Error(`load generator failed (${code}): ${started.output()}`);
  return JSON.parse(line) as TunnelLoadResult;
}
