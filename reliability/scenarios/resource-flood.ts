/**
 * Issue 11 item 4: per-client resources are bounded.
 *
 * 1. Slow bodies: `flood-connections` (520) connections from 127.0.0.1 each declare a request body
 *    on the inbound proxy and send one byte of it. Meanwhile legitimate requests from another client
 *    address (127.0.0.2) must be served. Before the fix the slow uploads held every pooled upstream
 *    socket (512) and legitimate requests got 504; after it a silent body gets 408 request_timeout
 *    after VAULTGATE_REQUEST_BODY_TIMEOUT_MS (passed from `flood-body-timeout-ms`), and the pool is
 *    shared fairly across client addresses.
 * 2. Distinct origins: one proxy credential sends absolute-form requests through the outbound proxy
 *    to `flood-origins` (20,000) loopback upstreams on distinct ports (listened on in batches, so the
 *    harness holds few sockets), then everything is idle for `flood-idle-seconds` (60). RSS after the
 *    idle period against RSS at the start: within 10 MB, i.e. the per-origin pools are freed.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { VaultgateChild } from '../lib/child.js';
import { numberOption } from '../lib/options.js';
import { stage } from '../lib/setup.js';
import type { RunContext, Scenario, ScenarioResult } from '../lib/types.js';
import { makePki } from '../lib/upstream.js';
import { issue, startTlsUpstream } from '../../test/helpers/tls-upstream.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;
export const RSS_TARGET_MB = 10;

interface Answer {
  status: number;
  code: string | null;
  ms: number;
}

function inboundGet(
  port: number,
  ca: string,
  host: string,
  localAddress: string,
  timeoutMs: number,
): Promise<Answer> {
  const start = performance.now();
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        servername: host,
        ca,
        agent: false,
        localAddress,
        path: '/legit',
        headers: { host },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            code: (res.headers['x-vaultgate-error'] as string | undefined) ?? null,
            ms: Math.round(performance.now() - start),
          }),
        );
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, code: null, ms: Math.round(performance.now() - start) }));
    req.end();
  });
}

/** Opens a TLS connection, sends a POST head declaring 1,000 body bytes and one byte of it; resolves with the status it is eventually answered (0: closed without one). */
function slowUpload(port: number, ca: string, host: string): { answered: Promise<number>; destroy(): void } {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: host, ca });
  socket.on('secureConnect', () => {
    socket.write(`POST /slow HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 1000\r\n\r\nx`);
  });
  const answered = new Promise<number>((resolve) => {
    let head = '';
    socket.on('data', (c: Buffer) => {
      head += c.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (m) resolve(Number(m[1]));
    });
    socket.on('error', () => resolve(0));
    socket.on('close', () => resolve(0));
  });
  return { answered, destroy: () => socket.destroy() };
}

async function slowBodies(
  ctx: RunContext,
  figures: Record<string, number | string>,
  failures: string[],
): Promise<void> {
  const connections = numberOption(ctx, 'flood-connections', { quick: 520, full: 520 });
  const bodyTimeoutMs = numberOption(ctx, 'flood-body-timeout-ms', { quick: 3000, full: 30_000 });
  const dir = ctx.tempDir('vaultgate-rel-flood-');
  const pki = await makePki(dir);
  const server = await issue({ cn: 'localhost', issuer: pki.root, usage: 'server', sans: ['localhost'] });
  let upstreamOpen = 0;
  const upstream = await startTlsUpstream({
    server,
    requestCert: false,
    handler: (req, res) => {
      upstreamOpen++;
      req.resume();
      req.on('end', () => res.end('ok'));
      res.on('close', () => upstreamOpen--);
    },
  });
  const vg = await VaultgateChild.start({
    dataDir: `${dir}/data`,
    name: 'resource-flood',
    evidence: ctx.evidence,
    env: { VAULTGATE_UPSTREAM_CA_FILE: pki.caFile, VAULTGATE_REQUEST_BODY_TIMEOUT_MS: String(bodyTimeoutMs) },
  });
  const uploads: ReturnType<typeof slowUpload>[] = [];
  try {
    const s = await stage(vg, upstream, 'resource-flood');
    const port = vg.ports.inbound;
    const first = await inboundGet(port, s.localCa, s.inboundHost, '127.0.0.2', 10_000);
    if (first.status !== 200) failures.push(`warm-up request answered ${first.status}`);
    const started = performance.now();
    for (let i = 0; i < connections; i++) uploads.push(slowUpload(port, s.localCa, s.inboundHost));
    // Wait until the uploads have reached the upstream (or what vaultgate lets through has).
    let peak = 0;
    for (let i = 0; i < 100; i++) {
      peak = Math.max(peak, upstreamOpen);
      if (upstreamOpen >= Math.min(connections, 500)) break;
      await sleep(50);
    }
    figures['slow uploads open at the upstream (peak)'] = peak;
    const legit = await Promise.all(
      Array.from({ length: 20 }, () => inboundGet(port, s.localCa, s.inboundHost, '127.0.0.2', 20_000)),
    );
    const ok = legit.filter((a) => a.status === 200).length;
    figures['legitimate requests answered 200 during the flood'] = `${ok}/${legit.length}`;
    figures['legitimate requests: slowest ms'] = Math.max(...legit.map((a) => a.ms));
    const others = legit.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.code ?? ''}`.trim());
    if (others.length > 0) figures['legitimate requests not 200'] = others.join(', ');
    if (ok !== legit.length)
      failures.push(`${legit.length - ok} legitimate requests failed during the flood`);
    // The silent bodies: answered 408 request_timeout once the body timeout has passed (bounded wait).
    const statuses = await Promise.race([
      Promise.all(uploads.map((u) => u.answered)),
      sleep(bodyTimeoutMs + 15_000).then(() => null),
    ]);
    const byStatus = new Map<number, number>();
    for (const st of statuses ?? []) byStatus.set(st, (byStatus.get(st) ?? 0) + 1);
    figures[`slow uploads answered (within ${bodyTimeoutMs / 1000 + 15} s)`] =
      statuses === null
        ? 'not all'
        : [...byStatus].map(([st, n]) => `${st === 0 ? 'closed' : st}×${n}`).join(' ');
    figures['slow uploads: seconds until all answered'] =
      statuses === null ? 'n/a' : Math.round((performance.now() - started) / 100) / 10;
    if (statuses === null || (byStatus.get(408) ?? 0) !== connections)
      failures.push('not every silent upload was answered 408 after the body timeout');
    const health = await fetch(`http://127.0.0.1:${vg.ports.admin}/healthz`).then(
      (r) => r.status,
      () => 0,
    );
    if (health !== 200) failures.push(`/healthz ${health} after the flood`);
  } finally {
    for (const u of uploads) u.destroy();
    await vg.stop('SIGTERM');
    await upstream.close();
  }
}

async function distinctOrigins(
  ctx: RunContext,
  figures: Record<string, number | string>,
  failures: string[],
): Promise<number> {
  const origins = numberOption(ctx, 'flood-origins', { quick: 2_000, full: 20_000 });
  // Longer than the pools' 30 s idle time even in quick mode, so the RSS target means the same thing.
  const idleSeconds = numberOption(ctx, 'flood-idle-seconds', { quick: 45, full: 60 });
  const batch = 50;
  const dir = ctx.tempDir('vaultgate-rel-origins-');
  const vg = await VaultgateChild.start({
    dataDir: `${dir}/data`,
    name: 'resource-origins',
    evidence: ctx.evidence,
  });
  try {
    const vault = await vg.must('POST', '/vaults', { name: 'origins', environment: 'sandbox' }, 201);
    const cred = (await vg.must('POST', `/vaults/${vault.json.data.id}/credentials`, {}, 201)).json.data as {
      username: string;
      password: string;
    };
    ctx.evidence.addPassword('origins credential', cred.password, cred.username);
    const auth = 'Basic ' + Buffer.from(`${cred.username}:${cred.password}`).toString('base64');
    const agent = new http.Agent({ keepAlive: true, maxSockets: batch });
    const through = (port: number): Promise<number> =>
      new Promise((resolve) => {
        const req = http.request(
          {
            agent,
            host: '127.0.0.1',
            port: vg.ports.outbound,
            path: `http://127.0.0.1:${port}/`,
            headers: { 'proxy-authorization': auth },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.setTimeout(20_000, () => req.destroy());
        req.on('error', () => resolve(0));
        req.end();
      });
    const serve = async (): Promise<http.Server> => {
      const server = http.createServer((_q, r) => r.end('ok'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return server;
    };
    // Warm-up on a handful of origins, then the baseline.
    for (let i = 0; i < 5; i++) {
      const s = await serve();
      await through((s.address() as AddressInfo).port);
      s.closeAllConnections();
      s.close();
    }
    await sleep(1000);
    const start = vg.resources().rssBytes;
    const ports = new Set<number>();
    let failed = 0;
    for (let done = 0; done < origins; done += batch) {
      const servers = await Promise.all(Array.from({ length: Math.min(batch, origins - done) }, serve));
      const statuses = await Promise.all(
        servers.map((s) => {
          const port = (s.address() as AddressInfo).port;
          ports.add(port);
          return through(port);
        }),
      );
      failed += statuses.filter((st) => st !== 200).length;
      for (const s of servers) {
        s.closeAllConnections();
        s.close();
      }
    }
    const afterFlood = vg.resources().rssBytes;
    agent.destroy();
    await sleep(idleSeconds * 1000);
    const afterIdle = vg.resources().rssBytes;
    const growth = (afterIdle - start) / MB;
    figures['origins requested (distinct ports)'] = `${origins} (${ports.size})`;
    figures['origin requests not 200'] = failed;
    figures['RSS MB: start → after flood → after idle'] =
      `${(start / MB).toFixed(1)} → ${(afterFlood / MB).toFixed(1)} → ${(afterIdle / MB).toFixed(1)}`;
    figures[`RSS growth after ${idleSeconds} s idle, MB`] = Math.round(growth * 10) / 10;
    if (failed > 0) failures.push(`${failed} origin requests failed`);
    return growth;
  } finally {
    await vg.stop('SIGTERM');
  }
}

export const scenario: Scenario = {
  name: 'resource-flood',
  async run(ctx: RunContext): Promise<ScenarioResult[]> {
    const slowFigures: Record<string, number | string> = {};
    const slowFailures: string[] = [];
    await slowBodies(ctx, slowFigures, slowFailures);
    if (slowFailures.length > 0) slowFigures['failed checks'] = slowFailures.join('; ');
    const originFigures: Record<string, number | string> = {};
    const originFailures: string[] = [];
    const growth = await distinctOrigins(ctx, originFigures, originFailures);
    if (originFailures.length > 0) originFigures['failed checks'] = originFailures.join('; ');
    return [
      {
        name: 'Slow-body flood (520 connections, one byte of a declared body each)',
        figures: slowFigures,
        target:
          'every legitimate request from another address answered 200; every silent upload answered 408 after the body timeout',
        pass: slowFailures.length === 0,
      },
      {
        name: 'Distinct-origin flood through one proxy credential, then idle',
        figures: originFigures,
        target: `RSS after the idle period within ${RSS_TARGET_MB} MB of the start; every request answered 200`,
        pass: originFailures.length === 0 && growth <= RSS_TARGET_MB,
      },
    ];
  },
};
