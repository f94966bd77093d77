/**
 * Issue 7 item 5: hostile clients on every listener — management, inbound, outbound (plain and TLS)
 * and inside a CONNECT tunnel. Slow request heads must be cut by the header timeout, oversized heads
 * refused with 431, request-smuggling shapes refused with 400 and never reach the upstream, malformed
 * CONNECT targets refused with 400, TLS garbage dropped, and connections over VAULTGATE_MAX_CONNECTIONS
 * refused with a log line; meanwhile and afterwards other clients are served and the process lives.
 *
 * vaultgate runs as a child process (test/helpers/abuse-process.ts), as a user runs it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CLIENT_TIMEOUTS } from '../../src/proxy/http/client-timeouts.js';
import {
  plainConnector,
  rawExchange,
  requestOver,
  slowHeaders,
  tlsConnector,
  tunnelConnector,
  type Connector,
} from '../../test/helpers/abuse-clients.js';
import { startVaultgateProcess, type VaultgateProcess } from '../../test/helpers/abuse-process.js';
import {
  checker,
  within,
  type ScenarioOptions,
  type ScenarioResult,
} from '../../test/helpers/abuse-scenario.js';
import { makePki, startUpstream, type TestUpstream } from '../../test/helpers/abuse-upstreams.js';
import { basic, rawConnect } from '../../test/helpers/outbound-client.js';

const MAX_CONNECTIONS = 40;
/** A slow head must be cut within the header timeout plus one sweep and some slack. */
const SLOW_LIMIT_MS = CLIENT_TIMEOUTS.headersMs + CLIENT_TIMEOUTS.checkIntervalMs + 2_000;

interface Listener {
  name: 'admin' | 'inbound' | 'outbound' | 'outbound_tls' | 'tunnel';
  connect: Connector;
  /** Request target and extra header lines of a request this listener serves. */
  target: string;
  host: string;
  headers: string;
}

/**
 * Request-smuggling shapes (RFC 9112 §6.1, §6.3, §5.2): each hides a second request, to /smuggled,
 * that a front end and a back end disagreeing about the framing would see as two.
 */
export const SMUGGLING: Record<string, (l: Listener) => string> = {
  'content-length and transfer-encoding': (l) =>
    `POST ${l.target} HTTP/1.1\r\nHost: ${l.host}\r\n${l.headers}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: ${l.host}\r\n\r\n`,
  'duplicate differing content-length': (l) =>
    `POST ${l.target} HTTP/1.1\r\nHost: ${l.host}\r\n${l.headers}Content-Length: 0\r\nContent-Length: 45\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: ${l.host}\r\n\r\n`,
  'transfer-encoding not ending in chunked': (l) =>
    `POST ${l.target} HTTP/1.1\r\nHost: ${l.host}\r\n${l.headers}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: ${l.host}\r\n\r\n`,
  'obs-fold header': (l) =>
    `GET ${l.target} HTTP/1.1\r\nHost: ${l.host}\r\n${l.headers}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: ${l.host}\r\n\r\n`,
  'bare LF line endings': (l) =>
    `GET ${l.target} HTTP/1.1\nHost: ${l.host}\n${l.headers.replace(/\r\n/g, '\n')}Content-Length: 0\n\nGET /smuggled HTTP/1.1\nHost: ${l.host}\n\n`,
  'space before colon': (l) =>
    `POST ${l.target} HTTP/1.1\r\nHost: ${l.host}\r\n${l.headers}Transfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: ${l.host}\r\n\r\n`,
};

export const BAD_CONNECT_TARGETS = [
  '',
  'no-port.example',
  ':443',
  'host.example:99999',
  'host.example:0',
  '[::1:443',
  'two words.example:443',
  'host.example:443/path',
  'http://host.example:443',
  'user@host.example:443',
  '*',
];

export async function run(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const started = Date.now();
  const { check, failures } = checker();
  const figures: Record<string, number | string> = {};
  const pki = await makePki();
  const caDir = mkdtempSync(join(tmpdir(), 'vaultgate-abuse-'));
  writeFileSync(join(caDir, 'root.pem'), pki.root.certPem);
  const upstreams: TestUpstream[] = [];
  let vg: VaultgateProcess | undefined;
  try {
    const plainUp = await startUpstream({ behaviour: 'ok' });
    const tlsUp = await startUpstream({ behaviour: 'ok', tls: pki.server });
    upstreams.push(plainUp, tlsUp);
    vg = await startVaultgateProcess(
      {
        VAULTGATE_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
        // The cap is counted by each worker process (docs/architecture.md); one worker makes
        // "connection N + 1 is refused" a property of this listener rather than of how the kernel
        // spread the first N connections over the workers.
        VAULTGATE_WORKERS: '1',
        VAULTGATE_UPSTREAM_CA_FILE: join(caDir, 'root.pem'),
      },
      options.evidence,
    );
    const p = vg.proc.ports;
    const route = await vg.api('POST', `/vaults/${vg.vaultId}/routes`, {
      destination_override_endpoint: `http://127.0.0.1:${plainUp.port}`,
    });
    if (route.status !== 201) throw new Error(`route: ${route.text}`);
    const outboundCa = (await vg.api('GET', `/vaults/${vg.vaultId}/outbound-ca`)).text;
    const vaultHost = `${vg.vaultId}.sandbox.localhost`;
    const proxyAuth = `Proxy-Authorization: ${basic(vg.credential)}\r\n`;
    const absolute = `http://127.0.0.1:${plainUp.port}/`;
    const listeners: Listener[] = [
      {
        name: 'admin',
        connect: plainConnector(p.admin),
        target: '/api/v1/vaults',
        host: 'localhost',
        headers: `Authorization: Bearer ${vg.token}\r\n`,
      },
      {
        name: 'inbound',
        connect: tlsConnector(p.inbound, vg.localCa, vaultHost),
        target: '/',
        host: vaultHost,
        headers: '',
      },
      {
        name: 'outbound',
        connect: plainConnector(p.outbound),
        target: absolute,
        host: '127.0.0.1',
        headers: proxyAuth,
      },
      {
        name: 'outbound_tls',
        connect: tlsConnector(p.outbound_tls, vg.localCa),
        target: absolute,
        host: '127.0.0.1',
        headers: proxyAuth,
      },
      {
        name: 'tunnel',
        connect: tunnelConnector({
          port: p.outbound,
          cred: vg.credential,
          target: `localhost:${tlsUp.port}`,
          ca: outboundCa,
        }),
        target: '/',
        host: 'localhost',
        headers: '',
      },
    ];
    const serves = async (l: Listener): Promise<boolean> => {
      try {
        const reply = await requestOver(l.connect, {
          path: l.name === 'admin' ? '/healthz' : l.target,
          host: l.host,
          headers: l.headers === proxyAuth ? { 'proxy-authorization': basic(vg!.credential) } : {},
          ms: 10_000,
        });
        return reply.status === 200;
      } catch {
        return false;
      }
    };

    // 1. Slowloris on every listener at once, while the other checks run.
    const slow = Promise.all(
      listeners.map(async (l) => ({ l, r: await slowHeaders(l.connect, { maxMs: SLOW_LIMIT_MS + 5_000 }) })),
    );

    // 2. Oversized request heads → 431.
    for (const l of listeners) {
      const big = `GET ${l.target} HTTP/1.1\r\nHost: ${l.host}\r\n${l.headers}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
      const r = await rawExchange(l.connect, big);
      figures[`${l.name}: oversized head`] = r.statuses[0] ?? 'closed';
      check(r.statuses[0] === 431, `${l.name}: a 20 kB header got ${r.statuses[0] ?? 'no answer'}, not 431`);
    }

    // 3. Request smuggling → 400, one answer, nothing reaches the upstream.
    const rounds = options.quick ? 1 : 5;
    let refused = 0;
    let attempts = 0;
    for (let round = 0; round < rounds; round++) {
      for (const l of listeners) {
        for (const [shape, make] of Object.entries(SMUGGLING)) {
          attempts++;
          const r = await rawExchange(l.connect, make(l));
          const ok = r.statuses.length === 1 && r.statuses[0] === 400;
          if (ok) refused++;
          check(ok, `${l.name}: smuggling (${shape}) answered ${JSON.stringify(r.statuses)}, not one 400`);
        }
      }
    }
    const smuggled = [...plainUp.paths, ...tlsUp.paths].filter((path) => path.includes('smuggled')).length;
    const forwardedAtAll = plainUp.paths.length + tlsUp.paths.length;
    figures['smuggling attempts refused with 400'] = `${refused}/${attempts}`;
    figures['smuggled requests seen by upstreams'] = smuggled;
    check(smuggled === 0, `${smuggled} smuggled request(s) reached an upstream`);
    check(forwardedAtAll === 0, `${forwardedAtAll} malformed request(s) were forwarded at all`);

    // 4. Malformed CONNECT targets → 400 on both proxy ports.
    let badConnect = 0;
    for (const [port, via] of [
      [p.outbound, undefined],
      [p.outbound_tls, { tlsCa: vg.localCa }],
    ] as const) {
      for (const target of BAD_CONNECT_TARGETS) {
        const answer = await within(
          5_000,
          rawConnect(port, target, { 'Proxy-Authorization': basic(vg.credential) }, via),
          'CONNECT',
        )
          .then((a) => {
            a.socket.destroy();
            return a.status;
          })
          .catch(() => 0);
        if (answer === 400) badConnect++;
        check(answer === 400, `CONNECT ${JSON.stringify(target)} answered ${answer}, not 400`);
      }
    }
    figures['malformed CONNECT targets refused with 400'] = `${badConnect}/${BAD_CONNECT_TARGETS.length * 2}`;

    // 5. TLS garbage: TLS ports drop it; plain ports answer 400 to a ClientHello-looking record.
    const garbage = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), randomBytes(4096)]);
    for (const l of listeners) {
      const r = await rawExchange(l.name === 'tunnel' ? l.connect : rawTcp(l), garbage, 5_000);
      const tlsPort = l.name === 'inbound' || l.name === 'outbound_tls';
      const ok = tlsPort ? r.closed : r.closed && (r.statuses[0] ?? 400) === 400;
      figures[`${l.name}: TLS garbage`] = r.closed
        ? `closed${r.statuses[0] ? ` after ${r.statuses[0]}` : ''}`
        : 'still open';
      check(ok, `${l.name}: TLS garbage was not refused and closed (${r.statuses.join(',') || 'no answer'})`);
    }

    // 6. Idle connections up to VAULTGATE_MAX_CONNECTIONS per listener; the next one is refused.
    for (const l of listeners.filter((x) => x.name !== 'tunnel')) {
      const port = p[l.name as keyof typeof p];
      const idle = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => plainConnector(port)()));
      await new Promise((r) => setTimeout(r, 300));
      const extra = await rawExchange(
        plainConnector(port),
        'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n',
        2_000,
      );
      const other = listeners.find((x) => x.name === (l.name === 'admin' ? 'inbound' : 'admin')) as Listener;
      const otherServed = await serves(other);
      for (const s of idle) s.destroy();
      await new Promise((r) => setTimeout(r, 300));
      const servedAfter = await serves(l);
      figures[`${l.name}: connection ${MAX_CONNECTIONS + 1} refused`] =
        extra.closed && extra.statuses.length === 0 ? 'yes' : 'no';
      check(
        extra.closed && extra.statuses.length === 0,
        `${l.name}: connection ${MAX_CONNECTIONS + 1} was not refused`,
      );
      check(otherServed, `${other.name} was not served while ${l.name} was full`);
      check(servedAfter, `${l.name} did not serve again after its idle connections left`);
      check(
        vg.proc
          .output()
          .includes(`the ${l.name} listener is at its limit of ${MAX_CONNECTIONS} open connections`),
        `${l.name}: no log line about the connection limit`,
      );
    }

    // Slowloris results.
    const slowResults = await slow;
    let slowMax = 0;
    for (const { l, r } of slowResults) {
      slowMax = Math.max(slowMax, r.heldMs);
      figures[`${l.name}: slow head cut after (ms)`] = r.closed ? r.heldMs : `not cut in ${r.heldMs}`;
      check(
        r.closed && r.heldMs <= SLOW_LIMIT_MS,
        `${l.name}: a slow request head lived ${r.heldMs} ms (limit ${SLOW_LIMIT_MS})`,
      );
    }

    // Everyone is still served; the process is up.
    let servedAtEnd = 0;
    for (const l of listeners) if (await serves(l)) servedAtEnd++;
    figures['listeners serving afterwards'] = `${servedAtEnd}/${listeners.length}`;
    check(servedAtEnd === listeners.length, 'not every listener serves after the abuse');
    check(vg.alive(), 'the vaultgate process died');
    figures['process alive'] = vg.alive() ? 'yes' : 'no';
    figures['duration (s)'] = Math.round((Date.now() - started) / 1000);
    return {
      name: 'client-abuse',
      figures,
      target: `slow heads cut ≤ ${SLOW_LIMIT_MS} ms, 431, smuggling 400 and 0 forwarded, bad CONNECT 400, garbage dropped, limit enforced with a log line, process up`,
      pass: failures.length === 0,
      failures,
    };
  } catch (err) {
    failures.push(`scenario error: ${(err as Error).stack ?? String(err)}`);
    return { name: 'client-abuse', figures, target: 'no scenario error', pass: false, failures };
  } finally {
    await vg?.stop();
    for (const u of upstreams) await u.close();
    rmSync(caDir, { recursive: true, force: true });
  }

  /** TLS garbage goes to the TCP port itself, under any TLS a listener speaks. */
  function rawTcp(l: Listener): Connector {
    const ports = vg!.proc.ports;
    const port =
      l.name === 'admin'
        ? ports.admin
        : l.name === 'inbound'
          ? ports.inbound
          : l.name === 'outbound'
            ? ports.outbound
            : ports.outbound_tls;
    return () =>
      new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
  }
}

export default run;
