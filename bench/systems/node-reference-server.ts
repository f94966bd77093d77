/**
 * node-reference: the smallest honest Node TLS reverse proxy, the ceiling a Node data plane can reach
 * (issue 12). node:https toward the client, one undici Pool with the client certificate toward the
 * upstream, the forwarding headers vaultgate adds, hop-by-hop fields dropped — and nothing else: no
 * routing, no logging, no metrics. With `workers` > 1, node:cluster forks that many copies sharing
 * the port. Run as its own process: `node node-reference-server.js '<ReferenceConfig JSON>'`.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

export interface ReferenceConfig {
  port: number;
  workers: number;
  certFile: string;
  keyFile: string;
  upstream: {
    origin: string;
    host: string;
    servername: string;
    caFile: string;
    certFile: string;
    keyFile: string;
  };
}

// The same list as src/proxy/http/headers.ts.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
]);
type Headers = Record<string, string | string[] | undefined>;

/** The fields of `from` minus hop-by-hop ones (and those Connection names). */
function endToEnd(from: Headers): Record<string, string | string[]> {
  const named =
    typeof from['connection'] === 'string' ? from['connection'].toLowerCase().split(/\s*,\s*/) : [];
  const out: Record<string, string | string[]> = {};
  for (const name in from) {
    const value = from[name];
    if (value !== undefined && !HOP_BY_HOP.has(name) && !named.includes(name)) out[name] = value;
  }
  return out;
}

function serve(cfg: ReferenceConfig): void {
  const up = cfg.upstream;
  const pool = new Pool(up.origin, {
    connect: {
      ca: readFileSync(up.caFile),
      cert: readFileSync(up.certFile),
      key: readFileSync(up.keyFile),
      servername: up.servername,
    },
  });
  const tls = { cert: readFileSync(cfg.certFile), key: readFileSync(cfg.keyFile), keepAliveTimeout: 75_000 };
  const server = https.createServer(tls, (req, res) => {
    const headers = endToEnd(req.headers);
    const xff = req.headers['x-forwarded-for'];
    const client = req.socket.remoteAddress ?? '';
    headers['x-forwarded-for'] = xff === undefined ? client : `${xff}, ${client}`;
    headers['x-forwarded-proto'] = 'https';
    headers['x-forwarded-host'] = req.headers.host ?? '';
    headers['host'] = up.host;
    const hasBody =
      req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    pool.stream(
      { path: req.url ?? '/', method: req.method as 'GET', headers, body: hasBody ? req : null },
      ({ statusCode, headers: answer }) => res.writeHead(statusCode, endToEnd(answer as Headers)),
      (err) => {
        if (err === null) return;
        if (res.headersSent) res.destroy();
        else res.writeHead(502).end();
      },
    );
  });
  server.listen(cfg.port, '127.0.0.1', () => {
    if (cluster.isPrimary) process.stdout.write(`${READY}\n`);
  });
  // Exiting (not dying of the signal) lets --cpu-prof write its profile.
  process.on('SIGTERM', () => process.exit(0));
}

/** Printed once every worker listens. */
export const READY = 'node-reference listening';

function main(cfg: ReferenceConfig): void {
  if (cfg.workers <= 1 || !cluster.isPrimary) return serve(cfg);
  for (let i = 0; i < cfg.workers; i++) cluster.fork();
  let listening = 0;
  cluster.on('listening', () => {
    if (++listening === cfg.workers) process.stdout.write(`${READY}\n`);
  });
  let stopping = false;
  cluster.on('exit', () => {
    if (!stopping) process.exit(1);
    else if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  });
  process.on('SIGTERM', () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  });
}

// Run only as a program (the bench imports READY and the config type from here).
if (process.argv[1] === fileURLToPath(import.meta.url)) main(JSON.parse(process.argv[2] as string));
