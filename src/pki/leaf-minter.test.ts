import { X509Certificate, createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { connect, createServer as createTlsServer, TLSSocket, type ConnectionOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, type PemKeyPair } from './ca.js';
import { InvalidHostError } from '../hosts/names.js';
import { LeafMinter } from './leaf-minter.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const DAY_MS = 86_400_000;
let ca: PemKeyPair;
let minter: LeafMinter;

beforeAll(async () => {
  ca = await createCa({ commonName: 'vaultgate outbound CA tntminter01' });
  minter = new LeafMinter({ caCertPem: ca.certPem, caKey: createPrivateKey(ca.keyPem) });
});

function newMinter(extra: Partial<ConstructorParameters<typeof LeafMinter>[0]> = {}): LeafMinter {
  return new LeafMinter({ caCertPem: ca.certPem, caKey: createPrivateKey(ca.keyPem), ...extra });
}

describe('minted leaves', () => {
  it('carry a DNS SAN for a hostname, signed by the CA, for serverAuth', async () => {
    const minted = await minter.leafFor('Api.Example.COM.');
    const leaf = new X509Certificate(minted.certPem);
    const root = new X509Certificate(ca.certPem);
    expect(minted.host).toBe('api.example.com');
    expect(leaf.subjectAltName).toBe('DNS:api.example.com');
    expect(leaf.checkHost('api.example.com')).toBe('api.example.com');
    expect(leaf.checkHost('other.example.com')).toBeUndefined();
    expect(leaf.checkIssued(root)).toBe(true);
    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(leaf.keyUsage).toEqual([SERVER_AUTH]);
    expect(leaf.ca).toBe(false);
    const span = Date.parse(leaf.validTo) - Date.parse(leaf.validFrom);
    expect(span).toBe(30 * DAY_MS);
    expect(Date.parse(leaf.validFrom)).toBeLessThan(Date.now() - 3_500_000);
  });

  it('carry an IP SAN for IPv4 and IPv6 literals', async () => {
    const v4 = new X509Certificate((await minter.leafFor('127.0.0.1')).certPem);
    expect(v4.subjectAltName).toBe('IP Address:127.0.0.1');
    expect(v4.checkIP('127.0.0.1')).toBe('127.0.0.1');

    const v6 = await minter.leafFor('[2001:DB8::0:1]');
    expect(v6.host).toBe('2001:db8::1');
    const cert = new X509Certificate(v6.certPem);
    expect(cert.subjectAltName).toBe('IP Address:2001:DB8:0:0:0:0:0:1');
    expect(cert.checkIP('2001:db8::1')).toBe('2001:db8::1');
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
  });

  it('share one key pair across hosts, but not with the CA', async () => {
    const a = new X509Certificate((await minter.leafFor('a.example')).certPem);
    const b = new X509Certificate((await minter.leafFor('b.example')).certPem);
    expect(a.publicKey.export({ format: 'jwk' })).toEqual(b.publicKey.export({ format: 'jwk' }));
    expect(a.serialNumber).not.toBe(b.serialNumber);
    expect(a.checkPrivateKey(createPrivateKey(ca.keyPem))).toBe(false);
  });

  it('reject garbage hosts with InvalidHostError', async () => {
    await expect(minter.contextFor('evil.example\r\nX: y')).rejects.toThrow(InvalidHostError);
    await expect(minter.contextFor('')).rejects.toThrow(InvalidHostError);
  });

  it('refuse a CA key that does not belong to the CA, and retry next time', async () => {
    const other = await createCa({ commonName: 'other' });
    const broken = new LeafMinter({ caCertPem: ca.certPem, caKey: createPrivateKey(other.keyPem) });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => broken.leafFor('x.example')));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(broken.stats()).toMatchObject({ mints: 0, inFlight: 0, cached: 0 });
    await expect(broken.leafFor('x.example')).rejects.toThrow(/does not belong/);
  });
});

describe('caching', () => {
  it('mints once for 100 concurrent calls for a new host', async () => {
    const m = newMinter();
    const calls = Array.from({ length: 100 }, (_, i) =>
      m.leafFor(i % 2 ? 'burst.example' : 'BURST.example.'),
    );
    expect(m.stats().inFlight).toBe(1);
    const leaves = await Promise.all(calls);
    expect(m.mints).toBe(1);
    expect(new Set(leaves).size).toBe(1);
    expect(new Set(leaves.map((l) => l.secureContext)).size).toBe(1);
    await m.contextFor('burst.example');
    expect(m.stats()).toMatchObject({ mints: 1, hits: 1, cached: 1, inFlight: 0 });
  });

  it('keeps at most maxEntries hosts, evicting the least recently used', async () => {
    const m = newMinter({ maxEntries: 3 });
    for (const host of ['a.example', 'b.example', 'c.example']) await m.leafFor(host);
    await m.leafFor('a.example'); // a is now the most recently used
    await m.leafFor('d.example'); // evicts b
    expect(m.stats()).toMatchObject({ mints: 4, cached: 3 });
    await m.leafFor('a.example');
    await m.leafFor('c.example');
    await m.leafFor('d.example');
    expect(m.mints).toBe(4);
    await m.leafFor('b.example');
    expect(m.mints).toBe(5);
    expect(m.stats().cached).toBe(3);
  });

  it('re-mints a cached leaf once two thirds of its life are gone', async () => {
    let now = Date.now();
    const m = newMinter({ now: () => now });
    const first = await m.leafFor('renew.example');
    now += 19 * DAY_MS;
    expect(await m.leafFor('renew.example')).toBe(first);
    now += 2 * DAY_MS;
    const second = await m.leafFor('renew.example');
    expect(second).not.toBe(first);
    expect(second.notAfter.getTime()).toBe(first.notAfter.getTime() + 21 * DAY_MS);
    expect(m.mints).toBe(2);
  });

  it('checks its options when constructed', () => {
    expect(() => newMinter({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => newMinter({ validityDays: -1 })).toThrow(/validityDays/);
  });
});

describe('TLS handshakes with minted contexts', () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const server of servers) server.close();
  });

  async function listen(server: Server): Promise<number> {
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  }

  /** Connects, waits for the server's greeting, and reports what the client saw. */
  function handshake(
    options: ConnectionOptions,
  ): Promise<{ authorized: boolean; greeting: string; subject: string }> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', rejectUnauthorized: true, ...options });
      let greeting = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (greeting += chunk));
      socket.on('error', reject);
      socket.on('end', () => {
        resolve({
          authorized: socket.authorized,
          greeting,
          subject: socket.getPeerCertificate().subjectaltname ?? '',
        });
        socket.destroy();
      });
    });
  }

  it('serves a hostname chosen by SNI, verified against the CA', async () => {
    const server = createTlsServer(
      {
        SNICallback: (servername, callback) => {
          minter.contextFor(servername).then((context) => callback(null, context), callback);
        },
      },
      (socket) => socket.end('hello'),
    );
    const port = await listen(server);
    const result = await handshake({ port, servername: 'Intercepted.Example', ca: ca.certPem });
    expect(result).toEqual({ authorized: true, greeting: 'hello', subject: 'DNS:intercepted.example' });

    // The same server with a client that trusts another CA must fail: verification is really on.
    // (OpenSSL words it as a self-signed root in the chain because the minter sends the CA along.)
    const stranger = await createCa({ commonName: 'stranger' });
    const untrusted = handshake({ port, servername: 'intercepted.example', ca: stranger.certPem });
    await expect(untrusted).rejects.toThrow(/self-signed certificate in certificate chain/);
  });

  it('serves an IP literal with no SNI, as a CONNECT to 127.0.0.1 would', async () => {
    // Clients send no SNI for IP addresses (RFC 6066 §3), so the proxy picks the context from the
    // CONNECT target, not from the handshake.
    const server = createNetServer((raw) => {
      minter.contextFor('127.0.0.1').then(
        (secureContext) => {
          const socket = new TLSSocket(raw, { isServer: true, secureContext });
          socket.on('secure', () => socket.end('hello ip'));
          socket.on('error', () => raw.destroy());
        },
        () => raw.destroy(),
      );
    });
    const port = await listen(server);
    const result = await handshake({ port, ca: ca.certPem });
    expect(result).toEqual({ authorized: true, greeting: 'hello ip', subject: 'IP Address:127.0.0.1' });
  });
});
