/**
 * The one upstream every system of every scenario talks to: nginx, answering a ~1 KiB JSON body over
 * HTTPS and demanding a client certificate signed by the bench CA. nginx rather than a Node server so
 * the upstream is never what limits a proxy: on the direct runs it serves the load generator alone.
 * Its stub_status `accepts` counter tells how many connections (so TLS handshakes) it received.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchPki } from './lib/pki.js';
import { freePort, startPinned, waitForPort, which, type Started } from './lib/proc.js';

export interface Upstream {
  port: number;
  /** Same server on 0.0.0.0 so that every 127.0.x.y reaches it (new-hosts scenario). */
  manyPort: number;
  /** Connections accepted so far (all ports). */
  accepts(): Promise<number>;
  bodyBytes: number;
  stop(): Promise<void>;
}

/** A JSON document of exactly `size` bytes, made of characters nginx's `return` needs no escaping for. */
export function jsonBody(size: number): string {
  const head = {
    id: 'pay_7Hq2ZkT9xLm4',
    object: 'payment',
    amount: 4200,
    currency: 'EUR',
    status: 'authorized',
    card: { brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2030 },
    created_at: '2024-01-01T00:00:00Z',
    padding: '',
  };
  const base = JSON.stringify(head).length;
  head.padding = 'x'.repeat(Math.max(0, size - base));
  return JSON.stringify(head);
}

export function nginxBinary(): string | null {
  return which('nginx') ?? (which('/usr/sbin/nginx') ? '/usr/sbin/nginx' : null);
}

export async function startUpstream(dir: string, pki: BenchPki, cpus: string | undefined): Promise<Upstream> {
  const nginx = nginxBinary();
  if (nginx === null) throw new Error('nginx is needed for the upstream and is not installed');
  mkdirSync(join(dir, 'upstream'), { recursive: true });
  const [port, manyPort, statusPort] = [await freePort(), await freePort(), await freePort()];
  const body = jsonBody(1024);
  const tlsServer = (listen: string, certFile: string, keyFile: string): string => `
    server {
      listen ${listen} ssl;
      ssl_certificate ${certFile};
      ssl_certificate_key ${keyFile};
      ssl_client_certificate ${pki.caFile};
      ssl_verify_client on;
      location / {
        default_type application/json;
        return 200 '${body}';
      }
    }`;
  const conf = join(dir, 'upstream', 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
pid ${join(dir, 'upstream', 'nginx.pid')};
error_log ${join(dir, 'upstream', 'error.log')} warn;
daemon off;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'upstream')};
  keepalive_timeout 75s;
  # nginx closes a connection after 1000 requests by default; the proxies' pools should not be
  # measured reconnecting because of the upstream.
  keepalive_requests 10000000;
  ${tlsServer(`127.0.0.1:${port}`, pki.upstream.certFile, pki.upstream.keyFile)}
  ${tlsServer(`0.0.0.0:${manyPort}`, pki.upstreamMany.certFile, pki.upstreamMany.keyFile)}
  server {
    listen 127.0.0.1:${statusPort};
    location / { stub_status; }
  }
}
`,
  );
  const started: Started = startPinned(
    nginx,
    ['-p', join(dir, 'upstream'), '-e', join(dir, 'upstream', 'error.log'), '-c', conf],
    { cpus },
  );
  await waitForPort(port, 10_000, started);
  await waitForPort(statusPort, 10_000, started);
  return {
    port,
    manyPort,
    bodyBytes: body.length,
    async accepts() {
      const res = await fetch(`http://127.0.0.1:${statusPort}/`);
      const text = await res.text();
      // "server accepts handled requests\n 12 12 34"
      const match = /\n\s*(\d+)\s+(\d+)\s+(\d+)/.exec(text);
      return Number(match?.[1] ?? NaN);
    },
    stop: () => started.stop(),
  };
}
