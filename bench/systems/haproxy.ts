/**
 * HAProxy as the inbound reverse proxy: `bind … ssl crt` toward the client, `server … ssl crt` with
 * verification toward the upstream, `http-reuse always` so idle upstream connections serve any
 * client, and the forwarding headers vaultgate adds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, processTree, startPinned, waitForPort, which } from '../lib/proc.js';
import { HOST_HEADER } from './nginx.js';
import type { StartOptions, SystemHandle } from './types.js';

export function haproxyBinary(): string | null {
  return which('haproxy') ?? (which('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : null);
}

export async function startHaproxy(opts: StartOptions): Promise<SystemHandle> {
  const haproxy = haproxyBinary();
  if (haproxy === null) throw new Error('haproxy is not installed');
  const dir = join(opts.dir, `haproxy-${opts.workers}w`);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const { pki, upstream } = opts;
  const conf = join(dir, 'haproxy.cfg');
  writeFileSync(
    conf,
    `global
  nbthread ${opts.workers}
  maxconn 8000
defaults
  mode http
  timeout connect 10s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 75s
  http-reuse always
frontend bench_in
  bind 127.0.0.1:${port} ssl crt ${pki.proxy.bundleFile}
  option forwardfor
  http-request set-header X-Forwarded-Proto https
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  http-request set-header Host 127.0.0.1:${upstream.port}
  default_backend bench_upstream
backend bench_upstream
  server up 127.0.0.1:${upstream.port} ssl crt ${pki.client.bundleFile} ca-file ${pki.caFile} verify required sni str(localhost) verifyhost localhost
`,
  );
  // -db: stay in the foreground; -W: master-worker, like nginx and like a packaged service.
  const started = startPinned(haproxy, ['-db', '-W', '-f', conf], { cpus: opts.cpus });
  await waitForPort(port, 10_000, started);
  const pid = started.child.pid as number;
  return {
    name: 'haproxy',
    workers: `${opts.workers} thread${opts.workers > 1 ? 's' : ''}`,
    pids: () => processTree(pid),
    inbound: { port, hostHeader: HOST_HEADER, caPem: pki.caPem },
    stop: () => started.stop(),
  };
}
