// The container's HEALTHCHECK (deploy/Dockerfile): exits 0 when vaultgate answers 200 on /readyz
// (it runs and its store is reachable), 1 otherwise. The admin port comes from <data dir>/ports.json,
// so the probe follows VAULTGATE_ADMIN_PORT (0 included) without being told. Plain Node: the image
// has no curl.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';

const bound = process.env.VAULTGATE_ADMIN_HOST ?? process.env.VAULTGATE_HOST ?? '127.0.0.1';
// A wildcard bind is reached on loopback.
const host = bound === '0.0.0.0' ? '127.0.0.1' : bound === '::' ? '::1' : bound;
const tls = (process.env.VAULTGATE_ADMIN_TLS_CERT_FILE ?? '') !== '';

function fail(reason) {
  process.stderr.write(`vaultgate healthcheck: ${reason}\n`);
  process.exit(1);
}

let port;
try {
  port = JSON.parse(
    readFileSync(join(process.env.VAULTGATE_DATA_DIR ?? './data', 'ports.json'), 'utf8'),
  ).admin;
} catch (err) {
  fail(`no ports.json yet (${err.message})`);
}
// Over HTTPS the listener's certificate is not verified: it is issued for the names clients use,
// which need not include this address, and nothing secret is sent or read.
const req = (tls ? https : http).get(
  { host, port, path: '/readyz', timeout: 4_000, ...(tls ? { rejectUnauthorized: false } : {}) },
  (res) => {
    res.resume();
    if (res.statusCode === 200) process.exit(0);
    fail(`/readyz answered ${res.statusCode}`);
  },
);
req.on('timeout', () => req.destroy(new Error('no answer within 4 s')));
req.on('error', (err) => fail(err.message));
