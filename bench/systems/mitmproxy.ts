/**
 * mitmproxy (mitmdump) as the intercepting forward proxy: Basic proxy authentication, interception
 * with its own CA, the client certificate presented upstream through its `client_certs` option, and
 * the upstream verified against the bench CA. It is one Python process (asyncio, one thread).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, processTree, sleep, startPinned, waitForPort, which } from '../lib/proc.js';
import type { StartOptions, SystemHandle } from './types.js';

export function mitmdumpBinary(): string | null {
  return which('mitmdump');
}

export async function startMitmproxy(opts: StartOptions): Promise<SystemHandle> {
  const mitmdump = mitmdumpBinary();
  if (mitmdump === null) throw new Error('mitmproxy is not installed');
  const dir = join(opts.dir, 'mitmproxy');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const username = 'bench';
  const password = 'bench-password';
  const started = startPinned(
    mitmdump,
    [
      '--quiet',
      '--listen-host',
      '127.0.0.1',
      '--listen-port',
      String(port),
      '--set',
      `confdir=${dir}`,
      '--set',
      `proxyauth=${username}:${password}`,
      '--set',
      `client_certs=${opts.pki.client.bundleFile}`,
      '--set',
      `ssl_verify_upstream_trusted_ca=${opts.pki.caFile}`,
      '--set',
      'flow_detail=0',
      '--set',
      'termlog_verbosity=error',
    ],
    { cpus: opts.cpus },
  );
  await waitForPort(port, 30_000, started);
  const caFile = join(dir, 'mitmproxy-ca-cert.pem');
  for (let i = 0; i < 100 && !existsSync(caFile); i++) await sleep(50);
  const pid = started.child.pid as number;
  return {
    name: 'mitmproxy',
    workers: '1 process',
    pids: () => processTree(pid),
    outbound: { port, username, password, caPem: readFileSync(caFile, 'utf8') },
    stop: () => started.stop('SIGINT'),
  };
}
