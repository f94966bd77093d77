/**
 * Issue 11, "Keep the event loop free": while each hostile admin request of hostile-uploads.ts is
 * sent, a probe sends a proxied inbound request every 10 ms (through vaultgate's HTTPS listener to a
 * local upstream, on one kept-alive connection) and records its latency. Before the fix each of
 * these requests held the loop 0.5–11 s, and the probe's worst latency was the stall.
 *
 * Asserted: every hostile request is answered within 5 s with its code, and the probe's worst
 * latency stays under a generous 1.5 s, which a 2-core machine shared with other work meets and a
 * stalled loop does not. The figures themselves (target ≤ 50 ms) are printed.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileRequests, type HostileRequest } from './helpers/hostile-uploads.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

let t: TestVaultgate;
let upstream: http.Server;
let vault: { id: string; inbound_host: string };
let credentialId: string;
let localCa: string;
let hostile: HostileRequest[];

beforeAll(async () => {
  upstream = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  t = await startTestVaultgate();
  vault = (await t.api('POST', '/vaults', { name: 'probe' })).json.data;
  credentialId = (await t.api('POST', `/vaults/${vault.id}/credentials`, {})).json.data.id;
  const port = (upstream.address() as AddressInfo).port;
  const route = await t.api('POST', `/vaults/${vault.id}/routes`, {
    destination_override_endpoint: `http://127.0.0.1:${port}`,
  });
  expect(route.status, route.text).toBe(201);
  localCa = (await t.api('GET', '/local-ca')).text;
  hostile = hostileRequests();
});
afterAll(async () => {
  await t.stop();
  await new Promise((resolve) => upstream.close(resolve));
});

/** Sends one inbound request every 10 ms until stopped; resolves with the latencies seen. */
function startProbe(): { errors: string[]; stop(): Promise<number[]> } {
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: 1,
    ca: localCa,
    servername: vault.inbound_host,
  });
  const latencies: number[] = [];
  const errors: string[] = [];
  let running = true;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      // A failed probe still counts its latency (a stalled loop also gets connections reset).
      const reject = (err: Error): void => {
        errors.push(err.message);
        latencies.push(performance.now() - started);
        resolve();
      };
      const started = performance.now();
      const req = https.request(
        {
          host: '127.0.0.1',
          port: t.vg.ports.inbound,
          agent,
          path: '/probe',
          headers: { host: `${vault.inbound_host}:${t.vg.ports.inbound}` },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`probe answered ${res.statusCode}`));
            latencies.push(performance.now() - started);
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      await one();
      const wait = 10 - (performance.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return {
    errors,
    async stop() {
      running = false;
      await loop;
      agent.destroy();
      return latencies;
    },
  };
}

describe('the event loop stays free while hostile admin requests are processed', () => {
  it('answers each hostile request within 5 s with its code while inbound requests keep flowing', async () => {
    const figures: string[] = [];
    for (const request of hostile) {
      const probe = startProbe();
      await new Promise((resolve) => setTimeout(resolve, 50)); // the probe is flowing first
      const body =
        request.resource === 'certificates'
          ? { proxy_type: 'outbound', credential_id: credentialId, ...request.body }
          : request.body;
      const started = performance.now();
      const res = await t.api('POST', `/vaults/${vault.id}/${request.resource}`, body);
      const answeredMs = performance.now() - started;
      const latencies = await probe.stop();
      const worst = Math.max(...latencies);
      figures.push(
        `${request.name}: answered ${res.status} in ${answeredMs.toFixed(0)} ms; probe worst ${worst.toFixed(1)} ms over ${latencies.length} requests (${probe.errors.length} failed)`,
      );
      expect(res.status, `${request.name}: ${res.text.slice(0, 300)}`).toBe(request.status);
      if (request.codes !== undefined) expect(request.codes, request.name).toContain(res.json.error.code);
      expect(answeredMs, request.name).toBeLessThan(5_000);
      expect(latencies.length, request.name).toBeGreaterThan(0);
      expect(probe.errors, request.name).toEqual([]);
      expect(worst, request.name).toBeLessThan(1_500);
    }
    process.stdout.write(`event-loop probe (10 ms):\n  ${figures.join('\n  ')}\n`);
  }, 120_000);
});
