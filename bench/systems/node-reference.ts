/**
 * The node-reference system: node-reference-server.js (the minimal Node reverse proxy) started as its
 * own process like nginx is, pinned when it runs one worker, forking node:cluster workers otherwise.
 * It presents the same listener certificate as nginx and HAProxy and the same client certificate to
 * the upstream.
 */
import { join } from 'node:path';
import { freePort, processTree, sleep, startPinned, waitForPort } from '../lib/proc.js';
import { HOST_HEADER } from './nginx.js';
import { READY, type ReferenceConfig } from './node-reference-server.js';
import type { StartOptions, SystemHandle } from './types.js';
import { profileArgs } from './vaultgate.js';

const SERVER = join(import.meta.dirname, 'node-reference-server.js');

export async function startNodeReference(opts: StartOptions): Promise<SystemHandle> {
  const port = await freePort();
  const { pki, upstream } = opts;
  const config: ReferenceConfig = {
    port,
    workers: opts.workers,
    certFile: pki.proxy.certFile,
    keyFile: pki.proxy.keyFile,
    upstream: {
      origin: `https://127.0.0.1:${upstream.port}`,
      host: `127.0.0.1:${upstream.port}`,
      servername: 'localhost',
      caFile: pki.caFile,
      certFile: pki.client.certFile,
      keyFile: pki.client.keyFile,
    },
  };
  const started = startPinned(
    process.execPath,
    [...profileArgs(opts.profileDir), SERVER, JSON.stringify(config)],
    { cpus: opts.cpus },
  );
  // The port answers as soon as the first cluster worker listens; READY says all of them do.
  const deadline = Date.now() + 10_000;
  while (!started.output().includes(READY)) {
    if (Date.now() > deadline || started.child.exitCode !== null)
      throw new Error(`node-reference did not start: ${started.output()}`);
    await sleep(20);
  }
  await waitForPort(port, 10_000, started);
  const pid = started.child.pid as number;
  return {
    name: 'node-reference',
    workers: opts.workers > 1 ? `${opts.workers} (cluster)` : '1 process',
    pids: () => processTree(pid),
    profileDir: opts.profileDir,
    inbound: { port, hostHeader: HOST_HEADER, caPem: pki.caPem },
    stop: () => started.stop(),
  };
}
