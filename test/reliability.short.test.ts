/**
 * The short version of `npm run test:reliability` (issue 7): the same scenario modules in quick mode,
 * a few seconds each, asserting only what must hold whatever the machine's speed — no request lost
 * or failed that should have succeeded, no acknowledged write lost, a deleted certificate never
 * presented again, a restart serving within 5 s, no secret anywhere. Plus a focused regression test
 * for the shutdown fix the full suite found.
 */
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Evidence } from '../reliability/lib/evidence.js';
import { runScenarios, type RunOutcome } from '../reliability/lib/runner.js';
import { scenario as certChurn } from '../reliability/scenarios/cert-churn.js';
import { scenario as crash } from '../reliability/scenarios/crash.js';
import { scenario as secrets } from '../reliability/scenarios/secrets.js';
import { scenario as shutdown } from '../reliability/scenarios/shutdown.js';
import { issue, startTlsUpstream } from './helpers/tls-upstream.js';
import { startTestVaultgate } from './helpers/vaultgate.js';

function row(run: RunOutcome, scenario: string): Record<string, number | string> {
  const r = run.results.find((x) => x.scenario === scenario);
  expect(r, `no row for ${scenario}`).toBeDefined();
  return r?.figures ?? {};
}

describe('reliability, short version', () => {
  it('certificate churn, shutdown under load, kill -9 during writes, then no secret anywhere', async () => {
    const lines: string[] = [];
    const run = await runScenarios([certChurn, shutdown, crash, secrets], 'quick', {}, (l) => lines.push(l));
    const failing = run.results.filter((r) => !r.pass).map((r) => `${r.name}: ${JSON.stringify(r.figures)}`);
    expect(failing, failing.join('\n') + '\n' + lines.join('\n')).toEqual([]);

    const churn = row(run, 'cert-churn');
    expect(churn['requests']).toBeGreaterThan(0);
    expect(churn['failed requests']).toBe(0);
    expect(churn['deleted certificate presented after its delete returned']).toBe(0);

    const stop = row(run, 'shutdown');
    expect(stop['accepted requests']).toBeGreaterThan(0);
    expect(stop['accepted requests lost']).toBe(0);
    expect(
      String(stop['exit codes'])
        .split(', ')
        .every((c) => c === '0'),
    ).toBe(true);
    // Serving again at all; the 5 s target is the full run's (reliability/scenarios/shutdown.ts).
    expect(stop['restart: first proxied 200 after spawn, ms (max)']).toBeLessThanOrEqual(15_000);

    const kill = row(run, 'crash');
    expect(kill['writes acknowledged (2xx)']).toBeGreaterThan(0);
    expect(kill['acknowledged writes lost']).toBe(0);
    expect(kill['integrity_check not ok']).toBe(0);

    expect(row(run, 'secrets')['occurrences found']).toBe(0);
  }, 120_000);

  it('stop() ends kept-alive connections after their in-flight response instead of cutting them at the grace', async () => {
    // Before the fix, Node's close() left these connections open: the client kept sending on them,
    // and after the 10 s grace closeAllConnections() cut requests the upstream had already answered.
    const root = await issue({ cn: 'drain root', ca: true });
    const server = await issue({ cn: 'localhost', issuer: root, usage: 'server', sans: ['localhost'] });
    let reached = 0;
    const upstream = await startTlsUpstream({
      server,
      requestCert: false,
      handler: (req, res) => {
        reached++;
        req.resume();
        setTimeout(() => res.end('done'), 200);
      },
    });
    const t = await startTestVaultgate();
    const vault = await t.api('POST', '/vaults', { name: 'drain', environment: 'sandbox' });
    const host = vault.json.data.inbound_host as string;
    const route = await t.api('POST', `/vaults/${vault.json.data.id}/routes`, {
      destination_override_endpoint: upstream.url.href,
      upstream_tls: { ca_pem: root.certPem },
    });
    expect(route.status).toBe(201);
    const localCa = (await t.api('GET', '/local-ca')).text;
    const agent = new https.Agent({ keepAlive: true, maxSockets: 4, ca: localCa });
    const get = (): Promise<string> =>
      new Promise((resolve) => {
        const req = https.request(
          { agent, host: '127.0.0.1', port: t.vg.ports.inbound, servername: host, headers: { host } },
          (res: http.IncomingMessage) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve(`${res.statusCode} ${body}`));
            res.on('error', () => resolve('cut'));
          },
        );
        req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
        req.end();
      });
    let stopping = false;
    const answers: string[] = [];
    // Four clients, each sending its next request on its kept-alive connection as soon as one ends.
    const clients = Array.from({ length: 4 }, async () => {
      for (
        let k = 0;
        k < 100 && !(stopping && answers.length > 0 && answers[answers.length - 1] !== '200 done');
        k++
      )
        answers.push(await get());
    });
    await new Promise((r) => setTimeout(r, 700));
    stopping = true;
    const t0 = Date.now();
    await t.vg.stop(10_000);
    const stopMs = Date.now() - t0;
    await Promise.all(clients);
    agent.destroy();
    await upstream.close();
    await t.stop();
    const completed = answers.filter((a) => a === '200 done').length;
    // Every request the upstream saw was answered in full; the process stopped well before the grace.
    expect(completed).toBe(reached);
    expect(stopMs).toBeLessThan(5000);
  }, 60_000);

  it('the secrets scan finds a key as PEM, as base64 at any offset and as raw DER, and a password', async () => {
    const cert = await issue({ cn: 'scan' });
    const der = createPrivateKey(cert.keyPem).export({ type: 'pkcs8', format: 'der' });
    const dir = mkdtempSync(join(tmpdir(), 'vaultgate-scan-'));
    try {
      const clean = new Evidence();
      clean.addPrivateKey('k', cert.keyPem, cert.certPem);
      clean.addPassword('p', '0f0e0d0c-1111-4222-8333-abcdefabcdef', 'USuser');
      clean.addText('log', `{"msg":"ok","certificate":${JSON.stringify(cert.certPem)}}`);
      expect(clean.scan().findings).toEqual([]);

      const leaky = new Evidence();
      leaky.addPrivateKey('k', cert.keyPem, cert.certPem);
      leaky.addPassword('p', '0f0e0d0c-1111-4222-8333-abcdefabcdef', 'USuser');
      leaky.addText('log', JSON.stringify({ key: cert.keyPem }));
      leaky.addText('response', 'x' + der.subarray(7, 60).toString('base64'));
      leaky.addText('metrics', 'user="USuser" password="0f0e0d0c-1111-4222-8333-abcdefabcdef"');
      writeFileSync(join(dir, 'vaultgate.db'), Buffer.concat([Buffer.alloc(100), der.subarray(30, 70)]));
      leaky.addDataDir('d', dir);
      const sources = leaky
        .scan()
        .findings.map((f) => f.source)
        .sort();
      expect(sources).toEqual(['d data dir: vaultgate.db', 'log', 'metrics', 'response']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
