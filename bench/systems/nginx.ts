/**
 * nginx as the inbound reverse proxy: TLS toward the client, `proxy_ssl_certificate` toward the
 * upstream, an upstream keepalive pool, and the same forwarding headers vaultgate adds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, processTree, startPinned, waitForPort } from '../lib/proc.js';
import { nginxBinary } from '../upstream.js';
import type { StartOptions, SystemHandle } from './types.js';

export const HOST_HEADER = 'bench.sandbox.localhost';

export async function startNginx(opts: StartOptions): Promise<SystemHandle> {
  const nginx = nginxBinary();
  if (nginx === null) throw new Error('nginx is not installed');
  const dir = join(opts.dir, `nginx-${opts.workers}w`);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const { pki, upstream } = opts;
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes ${opts.workers};
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
daemon off;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir};
  proxy_temp_path ${dir};
  keepalive_timeout 75s;
  # Default 1000: nginx would close every client connection after 1000 requests, which the
  # keep-alive scenario is not about (vaultgate and HAProxy have no such limit).
  keepalive_requests 10000000;
  upstream bench_upstream {
    server 127.0.0.1:${upstream.port};
    keepalive 128;
    keepalive_requests 10000000;
  }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${pki.proxy.certFile};
    ssl_certificate_key ${pki.proxy.keyFile};
    location / {
      proxy_pass https://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host 127.0.0.1:${upstream.port};
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_ssl_certificate ${pki.client.certFile};
      proxy_ssl_certificate_key ${pki.client.keyFile};
      proxy_ssl_trusted_certificate ${pki.caFile};
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_session_reuse on;
      # Stream like vaultgate does instead of spooling answers to disk.
      proxy_buffering off;
    }
  }
}
`,
  );
  const started = startPinned(nginx, ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf], {
    cpus: opts.cpus,
  });
  await waitForPort(port, 10_000, started);
  const pid = started.child.pid as number;
  return {
    name: 'nginx',
    workers: String(opts.workers),
    pids: () => processTree(pid),
    inbound: { port, hostHeader: HOST_HEADER, caPem: pki.caPem },
    stop: () => started.stop(),
  };
}
