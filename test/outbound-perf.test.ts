/**
 * Figures for the outbound proxy, printed as one JSON line each (run: `npx vitest run
 * test/outbound-perf.test.ts`; OUTBOUND_PERF_REQUESTS / OUTBOUND_PERF_HOSTS scale them up):
 *  - the time a CONNECT + TLS handshake takes when the host's leaf must be minted, against one whose
 *    leaf is cached (the difference is what minting costs a client);
 *  - requests per second through one tunnel (one client connection, keep-alive, sequential requests
 *    as HTTP/1.1 without pipelining allows), to an upstream that demands a client certificate.
 * The assertions are deliberately loose floors: they catch a regression by an order of magnitude
 * (e.g. a mint or a new upstream connection per request), not machine-to-machine noise.
 */
import { describe, expect, test } from 'vitest';
import { get, openTunnel, TunnelAgent } from './helpers/outbound-client.js';
import { upload, useOutboundFixture } from './helpers/outbound-fixture.js';
import { issue, startTlsUpstream } from './helpers/tls-upstream.js';

const f = useOutboundFixture();
const REQUESTS = Number(process.env['OUTBOUND_PERF_REQUESTS'] ?? 2000);
const HOSTS = Number(process.env['OUTBOUND_PERF_HOSTS'] ?? 200);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

describe('outbound proxy figures', () => {
  test('leaf mint time through the proxy', async () => {
    const cred = await f.h.credential(f.vault.id);
    const handshake = async (host: string): Promise<number> => {
      const started = performance.now();
      const socket = await openTunnel({ port: f.h.port, cred, target: `${host}:443`, ca: f.vault.caPem });
      const ms = performance.now() - started;
      socket.destroy();
      return ms;
    };
    await handshake('warm-up.example'); // the vault's minter prepares its CA and shared key once
    const fresh: number[] = [];
    for (let i = 0; i < HOSTS; i++) fresh.push(await handshake(`h${i}.mint.example`));
    const cached: number[] = [];
    for (let i = 0; i < HOSTS; i++) cached.push(await handshake(`h${i}.mint.example`));
    const figures = {
      figure: 'leaf_mint',
      hosts: HOSTS,
      median_connect_handshake_new_host_ms: +median(fresh).toFixed(2),
      median_connect_handshake_cached_host_ms: +median(cached).toFixed(2),
      median_mint_cost_ms: +(median(fresh) - median(cached)).toFixed(2),
    };
    console.log(JSON.stringify(figures));
    expect(median(fresh)).toBeLessThan(100);
  });

  test('requests per second through one tunnel', async () => {
    const cred = await f.h.credential(f.vault.id);
    await upload(f, cred, await issue({ cn: 'client-perf', issuer: f.clientRoot }));
    // Same mutual TLS as the reporting upstream, minus its per-request certificate report (which
    // would otherwise be a quarter of the CPU time measured here).
    const upstream = await startTlsUpstream({
      server: await issue({ cn: 'localhost', issuer: f.root, usage: 'server', sans: ['localhost'] }),
      clientCa: [f.clientRoot.certPem],
      handler: (_req, res) => res.end('ok'),
    });
    const agent = new TunnelAgent({
      port: f.h.port,
      cred,
      target: `localhost:${upstream.port}`,
      ca: f.vault.caPem,
    });
    for (let i = 0; i < 50; i++) await get(agent, '/warm'); // JIT, pools
    const started = performance.now();
    for (let i = 0; i < REQUESTS; i++) {
      const res = await get(agent, `/r${i}`);
      if (res.status !== 200) throw new Error(`request ${i}: ${res.status} ${res.body}`);
    }
    const seconds = (performance.now() - started) / 1000;
    agent.destroy();
    const accepted = upstream.accepted();
    await upstream.close();
    const rps = REQUESTS / seconds;
    console.log(
      JSON.stringify({
        figure: 'tunnel_throughput',
        requests: REQUESTS,
        seconds: +seconds.toFixed(3),
        requests_per_second: Math.round(rps),
        mean_latency_ms: +((seconds * 1000) / REQUESTS).toFixed(3),
      }),
    );
    expect(agent.tunnels).toBe(1); // every request went through one client connection
    expect(accepted).toBe(1); // and one pooled upstream connection
    expect(rps).toBeGreaterThan(100);
  });
});
