/**
 * The benchmark's certificates, made with the openssl CLI in the run's temp dir. Every key is ECDSA
 * P-256, the kind vaultgate's own listener certificate uses, so a handshake costs every system the
 * same.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSync } from './proc.js';

export interface Pair {
  certFile: string;
  keyFile: string;
  /** Certificate followed by key, for tools that want one file (HAProxy, mitmproxy). */
  bundleFile: string;
  certPem: string;
  keyPem: string;
}

export interface BenchPki {
  caFile: string;
  caPem: string;
  /** The upstream's server certificate: localhost and 127.0.0.1. */
  upstream: Pair;
  /** The upstream's certificate for the new-hosts scenario: 127.0.0.1 and every 127.0.x.y used. */
  upstreamMany: Pair;
  /** The proxies' own server certificate (nginx, HAProxy); vaultgate uses its local CA's. */
  proxy: Pair;
  /** The client certificate the proxies present to the upstream. */
  client: Pair;
}

function key(dir: string, name: string): string {
  const file = join(dir, `${name}.key`);
  runSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
  return file;
}

function leaf(dir: string, name: string, caFile: string, caKey: string, ext: string): Pair {
  const keyFile = key(dir, name);
  const csr = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  const certFile = join(dir, `${name}.pem`);
  writeFileSync(extFile, ext);
  runSync('openssl', ['req', '-new', '-key', keyFile, '-subj', `/O=vaultgate bench/CN=${name}`, '-out', csr]);
  runSync('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    caFile,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-days',
    '30',
    '-sha256',
    '-extfile',
    extFile,
    '-out',
    certFile,
  ]);
  const certPem = readFileSync(certFile, 'utf8');
  const keyPem = readFileSync(keyFile, 'utf8');
  const bundleFile = join(dir, `${name}.bundle.pem`);
  writeFileSync(bundleFile, certPem + keyPem);
  return { certFile, keyFile, bundleFile, certPem, keyPem };
}

/** The loopback addresses of the new-hosts scenario: 127.0.1.1 … in order, never 127.0.0.1. */
export function newHostAddress(i: number): string {
  return `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

export function makePki(dir: string, newHosts: number): BenchPki {
  const caKey = key(dir, 'ca');
  const caFile = join(dir, 'ca.pem');
  runSync('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    caKey,
    '-subj',
    '/O=vaultgate bench/CN=bench CA',
    '-days',
    '30',
    '-sha256',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    caFile,
  ]);
  const server = (sans: string): string =>
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans}\n`;
  const many = ['DNS:localhost', 'IP:127.0.0.1'];
  for (let i = 0; i < newHosts; i++) many.push(`IP:${newHostAddress(i)}`);
  return {
    caFile,
    caPem: readFileSync(caFile, 'utf8'),
    upstream: leaf(dir, 'upstream', caFile, caKey, server('DNS:localhost,IP:127.0.0.1')),
    upstreamMany: leaf(dir, 'upstream-many', caFile, caKey, server(many.join(','))),
    proxy: leaf(dir, 'proxy', caFile, caKey, server('DNS:localhost,DNS:*.sandbox.localhost,IP:127.0.0.1')),
    client: leaf(
      dir,
      'client',
      caFile,
      caKey,
      'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n',
    ),
  };
}
