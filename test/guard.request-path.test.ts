/**
 * Issue 11: an unexpected exception while handling one proxied request ends that request — a SPEC §5
 * answer, or a cut connection once the head is out — and a log line, never the process. Every path
 * below crashed the process before the guard (src/proxy/http/errors.ts `guardRequests`): the test
 * records uncaught exceptions and would also hang waiting for an answer that never comes.
 *
 * The faults are injected into the data plane's snapshot (a certificate whose key does not match it,
 * one whose key cannot even be read, a vault that throws), so the test does not depend on what the
 * upload validation or the upstream pools accept or catch at their source.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger.js';
import type { DataPlaneDeps } from '../src/proxy/deps.js';
import { guardRequests } from '../src/proxy/http/errors.js';
import { createInboundServer } from '../src/proxy/inbound/server.js';
import { createOutboundServers, type OutboundServers } from '../src/proxy/outbound/index.js';
import { UpstreamPools } from '../src/proxy/upstream/pools.js';
import { HostTable } from '../src/hosts/table.js';
import type {
  InboundName,
  RuntimeCertificate,
  RuntimeConfig,
  RuntimeRoute,
  RuntimeVault,
} from '../src/snapshot/types.js';
import { basic, rawConnect, TunnelAgent } from './helpers/outbound-client.js';
import { issue, startTlsUpstream, type Issued, type TlsUpstream } from './helpers/tls-upstream.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

const DAY = 86_400_000;
let t: TestVaultgate;
let root: Issued;
let upstream: TlsUpstream;
let plainUpstream: http.Server;
let plainPort: number;
let localCa: string;
let vaultCa: string;
let cred: { username: string; password: string };
let vaultId: string;
let inboundHost: string;
let inboundPort: number;
let outbound: OutboundServers;
let outboundPort: number;
let inboundServer: https.Server;
let current: RuntimeConfig;
const logLines: string[] = [];
const uncaught: unknown[] = [];
const onUncaught = (err: unknown): void => {
  uncaught.push(err);
};
let leafA: Issued;
let leafB: Issued;

function certificate(id: string, leaf: Issued, keyPem: () => Buffer): RuntimeCertificate {
  return {
    id,
    vaultId,
    proxyType: 'inbound',
    hosts: [],
    notBefore: Date.now() - DAY,
    notAfter: Date.now() + DAY,
    createdAt: Date.now(),
    chainPem: leaf.certPem,
    get keyPem() {
      return keyPem();
    },
  };
}

/** The real snapshot with the default vault's inbound route and credential tied to `certs`. */
function withCertificates(
  certs: RuntimeCertificate[],
  vaultPatch: Partial<RuntimeVault> = {},
): RuntimeConfig {
  const base = t.vg.snapshot.current;
  const vault = base.vaultsById.get(vaultId) as RuntimeVault;
  const route = { ...(vault.inboundRoute as RuntimeRoute), certificates: certs };
  const patched: RuntimeVault = { ...vault, inboundRoute: route, inboundRoutes: [route], ...vaultPatch };
  const credential = base.credentialsByUsername.get(cred.username);
  if (!credential) throw new Error('default credential missing');
  const inboundNames = new HostTable<InboundName>();
  for (const name of base.inboundNames.values()) {
    inboundNames.add(
      name.hostname,
      name.vault.id === vaultId ? { ...name, vault: patched, route: patched.inboundRoute } : name,
    );
  }
  return {
    ...base,
    vaultsById: new Map([...base.vaultsById, [vaultId, patched]]),
    vaultsByHost: new Map([...base.vaultsByHost, [inboundHost, patched]]),
    inboundNames,
    credentialsByUsername: new Map([
      ...base.credentialsByUsername,
      [cred.username, { ...credential, certificates: certs }],
    ]),
  };
}

interface Reply {
  status: number;
  code: string | undefined;
  body: string;
}

function reply(res: http.IncomingMessage, resolve: (r: Reply) => void): void {
  let body = '';
  res.on('error', () => resolve({ status: 0, code: 'cut', body }));
  res.on('data', (c: Buffer) => (body += c.toString()));
  res.on('end', () =>
    resolve({
      status: res.statusCode ?? 0,
      code: res.headers['x-vaultgate-error'] as string | undefined,
      body,
    }),
  );
}

function inbound(): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: inboundPort,
        servername: inboundHost,
        ca: localCa,
        agent: false,
        path: '/guard',
        headers: { host: inboundHost },
      },
      (res) => reply(res, resolve),
    );
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end();
  });
}

/** One request inside an intercepted tunnel to the TLS upstream (a kept-alive tunnel per agent). */
function tunnelled(agent: TunnelAgent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: 'localhost', port: upstream.port, path: '/guard' }, (res) =>
      reply(res, resolve),
    );
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end();
  });
}

function tunnelAgent(): TunnelAgent {
  return new TunnelAgent({ port: outboundPort, cred, target: `localhost:${upstream.port}`, ca: vaultCa });
}

function absolute(port: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: outboundPort,
        path: `http://127.0.0.1:${port}/guard`,
        headers: { 'proxy-authorization': basic(cred) },
        agent: false,
      },
      (res) => reply(res, resolve),
    );
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end();
  });
}

async function healthz(): Promise<number> {
  return (await fetch(`${t.adminUrl}/healthz`)).status;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  root = await issue({ cn: 'guard root', ca: true });
  const server = await issue({ cn: 'localhost', issuer: root, usage: 'server', sans: ['localhost'] });
  leafA = await issue({ cn: 'guard-a.client', issuer: root, usage: 'client' });
  leafB = await issue({ cn: 'guard-b.client', issuer: root, usage: 'client' });
  upstream = await startTlsUpstream({ server, requestCert: false, handler: (_q, r) => r.end('upstream ok') });
  plainUpstream = http.createServer((_q, r) => r.end('plain ok'));
  plainPort = await listen(plainUpstream);

  t = await startTestVaultgate();
  const dv = t.vg.defaultVault;
  if (!dv?.password) throw new Error('no default vault');
  vaultId = dv.vaultId;
  inboundHost = dv.inboundHost;
  cred = { username: dv.username, password: dv.password };
  const route = await t.api('POST', `/vaults/${vaultId}/routes`, {
    destination_override_endpoint: upstream.url.href,
    upstream_tls: { ca_pem: root.certPem },
  });
  expect(route.status, route.text).toBe(201);
  localCa = (await t.api('GET', '/local-ca')).text;
  vaultCa = (await t.api('GET', `/vaults/${vaultId}/outbound-ca`)).text;

  // A data plane of its own (the real code, the real pools), reading a snapshot the test controls.
  current = t.vg.snapshot.current;
  const logger = createLogger('debug', {}, (line) => logLines.push(line));
  const deps: DataPlaneDeps = {
    ...t.vg.dataPlane,
    logger,
    snapshot: {
      get current() {
        return current;
      },
      onSwap: () => undefined,
    },
  };
  const pools = new UpstreamPools({ extraCaPem: root.certPem });
  inboundServer = createInboundServer(deps, pools);
  inboundPort = await listen(inboundServer);
  outbound = createOutboundServers(deps, pools);
  outboundPort = await listen(outbound.plain);
});

afterEach(() => {
  current = t.vg.snapshot.current;
});

afterAll(async () => {
  outbound?.close();
  outbound?.plain.close();
  inboundServer?.close();
  inboundServer?.closeAllConnections();
  await upstream?.close();
  plainUpstream?.close();
  await t?.stop();
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
});

describe('the last-resort guard on the request path', () => {
  it('inbound: a certificate whose key does not match it is a 502 upstream_tls_error, and the process serves on', async () => {
    current = withCertificates([certificate('guard-mismatch', leafA, () => Buffer.from(leafB.keyPem))]);
    const failed = await inbound();
    expect(failed.status).toBe(502);
    expect(failed.code).toBe('upstream_tls_error');
    const body = JSON.parse(failed.body) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('upstream_tls_error');
    // The upstream pools answer this at the source now; the guard is the line behind them.
    expect(body.error.message.length).toBeGreaterThan(20);
    // Asked again (after a restart it would have crashed again): the same clean answer.
    expect((await inbound()).status).toBe(502);

    expect(await healthz()).toBe(200);
    current = t.vg.snapshot.current;
    const next = await inbound();
    expect([next.status, next.body]).toEqual([200, 'upstream ok']);
    expect(uncaught).toEqual([]);
    expect(logLines.join('\n')).not.toContain('PRIVATE KEY');
  });

  it('inbound: a key that cannot even be read (a throw inside the pools) is a 502 upstream_tls_error', async () => {
    current = withCertificates([
      certificate('guard-unreadable', leafA, () => {
        throw new TypeError('key material unavailable');
      }),
    ]);
    const failed = await inbound();
    expect([failed.status, failed.code]).toEqual([502, 'upstream_tls_error']);
    current = t.vg.snapshot.current;
    expect((await inbound()).status).toBe(200);
    expect(uncaught).toEqual([]);
  });

  it('inbound: a throw anywhere else in the handler is a 500 internal_error that names nothing internal', async () => {
    const base = t.vg.snapshot.current;
    // The name resolves (the TLS handshake looks it up too); reading its route in the handler throws.
    const throwing = new HostTable<InboundName>();
    for (const name of base.inboundNames.values()) {
      const broken = Object.defineProperty({ ...name }, 'route', {
        get: () => {
          throw new Error('snapshot bug: /secret/path');
        },
      });
      throwing.add(name.hostname, name.vault.id === vaultId ? broken : name);
    }
    current = { ...base, inboundNames: throwing };
    const failed = await inbound();
    expect([failed.status, failed.code]).toEqual([500, 'internal_error']);
    expect(failed.body).not.toContain('/secret/path');
    current = base;
    expect((await inbound()).status).toBe(200);
    expect(uncaught).toEqual([]);
    const line = logLines.find((l) => l.includes('request failed unexpectedly'));
    expect(line).toBeDefined();
    expect(line).toContain('snapshot bug');
  });

  it('inside a CONNECT tunnel: the same certificate fault is a 502 on that request, and the tunnel and proxy go on', async () => {
    current = withCertificates([certificate('guard-mismatch-out', leafA, () => Buffer.from(leafB.keyPem))]);
    const agent = tunnelAgent();
    const first = await tunnelled(agent);
    expect([first.status, first.code]).toEqual([502, 'upstream_tls_error']);
    current = t.vg.snapshot.current;
    // The next request on the same tunnel is served (a new snapshot, a new choice).
    const second = await tunnelled(agent);
    expect([second.status, second.body]).toEqual([200, 'upstream ok']);
    expect(agent.tunnels).toBe(1);
    agent.destroy();
    expect(await healthz()).toBe(200);
    expect(uncaught).toEqual([]);
  });

  it('CONNECT: a throw while setting up the interception answers 500 internal_error on the raw socket', async () => {
    const throwingCa = {} as RuntimeVault['outboundCa'];
    Object.defineProperty(throwingCa, 'certPem', {
      get: () => {
        throw new Error('vault CA unavailable');
      },
    });
    current = withCertificates([], { outboundCa: throwingCa });
    const answer = await rawConnect(outboundPort, `localhost:${upstream.port}`, {
      'Proxy-Authorization': basic(cred),
    });
    answer.socket.destroy();
    expect(answer.status).toBe(500);
    expect(answer.headers['x-vaultgate-error']).toBe('internal_error');
    current = t.vg.snapshot.current;
    const agent = tunnelAgent();
    expect((await tunnelled(agent)).status).toBe(200);
    agent.destroy();
    expect(uncaught).toEqual([]);
  });

  it('absolute-form: a rejected exchange (the connection factory throws an OpenSSL error) is a 502 upstream_tls_error', async () => {
    // forward() rejects when the agent throws while creating the connection (inside ClientRequest).
    class Throwing extends http.Agent {
      override createConnection(): never {
        tls.createSecureContext({ cert: leafA.certPem, key: leafB.keyPem }); // key values mismatch
        throw new Error('unreachable');
      }
    }
    const realPools = new UpstreamPools({});
    const pools = { agentFor: () => new Throwing() } as unknown as UpstreamPools;
    const deps: DataPlaneDeps = { ...t.vg.dataPlane, logger: createLogger('error', {}, () => undefined) };
    const own = createOutboundServers(deps, pools);
    const port = await listen(own.plain);
    const saved = outboundPort;
    outboundPort = port;
    try {
      const failed = await absolute(plainPort);
      expect([failed.status, failed.code]).toEqual([502, 'upstream_tls_error']);
      expect(failed.body).toMatch(/key values mismatch/);
    } finally {
      outboundPort = saved;
      own.close();
      own.plain.close();
      realPools.close();
    }
    expect((await absolute(plainPort)).body).toBe('plain ok');
    expect(uncaught).toEqual([]);
  });

  it('an error emitted on the response without a listener (a write after end) ends that connection only', async () => {
    const lines: string[] = [];
    const server = http.createServer(
      guardRequests(
        createLogger('debug', {}, (l) => lines.push(l)),
        (req, res) => {
          if (req.url === '/bad') {
            res.end('first');
            res.write('after end'); // emits ERR_STREAM_WRITE_AFTER_END on res
            return;
          }
          if (req.url === '/throw') throw new Error('handler bug');
          res.end('fine');
        },
      ),
    );
    const port = await listen(server);
    const get = (path: string): Promise<Reply> =>
      new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => reply(res, resolve));
        req.on('error', reject);
      });
    try {
      expect((await get('/bad')).body).toBe('first');
      const thrown = await get('/throw');
      expect([thrown.status, thrown.code]).toEqual([500, 'internal_error']);
      expect((await get('/ok')).body).toBe('fine');
      // Wait for the emitted error's log line (it comes a tick after the answer).
      for (let i = 0; i < 100 && !lines.some((l) => l.includes('ERR_STREAM_WRITE_AFTER_END')); i++)
        await new Promise((r) => setImmediate(r));
      expect(lines.some((l) => l.includes('ERR_STREAM_WRITE_AFTER_END'))).toBe(true);
    } finally {
      server.close();
    }
    expect(uncaught).toEqual([]);
  });
});
