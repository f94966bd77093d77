/**
 * Issue 11 item 3: one admin request must not freeze proxy traffic. A probe sends a proxied inbound
 * request every 10 ms to a local upstream while hostile uploads are sent one after the other: a
 * PKCS#8 key encrypted with scrypt p=100 and a wrong passphrase, PBKDF2 at the iteration cap, 80 KB
 * of spaces inside a PEM, a ca_pem of thousands of BEGIN markers, catastrophic host_endpoint regexes.
 *
 * Figures per input: the worst latency a probe saw while that upload was in flight (from its send
 * to 100 ms after its answer, probes still unanswered counted up to then), and how long the upload
 * took to be answered. Targets: ≤ 50 ms and ≤ 5 s. Key derivation, PEM scanning and regex probes
 * running on the main event loop fail the first target by seconds; off-loop work (worker threads with
 * a per-job time limit) and linear scanners meet both.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { VaultgateChild } from '../lib/child.js';
import { CATASTROPHIC_REGEXES, manyBeginMarkers, pbkdf2Key, scryptKey, spacedPem } from '../lib/hostile.js';
import { InboundClient } from '../lib/load.js';
import { numberOption } from '../lib/options.js';
import { stage } from '../lib/setup.js';
import type { RunContext, Scenario, ScenarioResult } from '../lib/types.js';
import { clientCertificate, makePki } from '../lib/upstream.js';
import { issue, startTlsUpstream } from '../../test/helpers/tls-upstream.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const PROBE_TARGET_MS = 50;
export const ANSWER_TARGET_MS = 5_000;

/** A proxied request every `everyMs`; each one's send and answer time, by the harness's clock. */
class Probe {
  readonly samples: { start: number; end: number; status: number }[] = [];
  readonly #pending = new Set<number>();
  #timer: NodeJS.Timeout | undefined;
  constructor(readonly client: InboundClient) {}

  start(everyMs: number): void {
    this.#timer = setInterval(() => {
      const start = performance.now();
      this.#pending.add(start);
      void this.client.get('/probe', {}, 120_000).then((o) => {
        this.#pending.delete(start);
        this.samples.push({ start, end: performance.now(), status: o.status });
      });
    }, everyMs);
  }

  /** Worst latency of the probes sent in [from, to]; one still unanswered counts until `to`. */
  worst(from: number, to: number): number {
    let worst = 0;
    for (const s of this.samples)
      if (s.start >= from && s.start <= to) worst = Math.max(worst, s.end - s.start);
    for (const start of this.#pending) if (start <= to) worst = Math.max(worst, to - Math.max(start, from));
    return Math.round(worst);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    for (let i = 0; i < 1200 && this.#pending.size > 0; i++) await sleep(50);
  }
}

export interface HostileCase {
  name: string;
  send(): Promise<{ status: number; code: string | null }>;
}

export const scenario: Scenario = {
  name: 'event-loop',
  async run(ctx: RunContext): Promise<ScenarioResult> {
    const scryptP = numberOption(ctx, 'event-loop-scrypt-p', { quick: 20, full: 100 });
    const markers = numberOption(ctx, 'event-loop-markers', { quick: 30_000, full: 30_000 });
    const dir = ctx.tempDir('vaultgate-rel-event-loop-');
    const pki = await makePki(dir);
    const serverCert = await issue({
      cn: 'localhost',
      issuer: pki.root,
      usage: 'server',
      sans: ['localhost'],
    });
    const upstream = await startTlsUpstream({
      server: serverCert,
      requestCert: false,
      handler: (req: IncomingMessage, res: ServerResponse) => {
        req.resume();
        res.end('ok');
      },
    });
    const vg = await VaultgateChild.start({
      dataDir: `${dir}/data`,
      name: 'event-loop',
      evidence: ctx.evidence,
      env: { VAULTGATE_UPSTREAM_CA_FILE: pki.caFile },
    });
    const figures: Record<string, number | string> = {};
    const failures: string[] = [];
    let probe: Probe | undefined;
    try {
      const s = await stage(vg, upstream, 'event-loop');
      const client = new InboundClient(vg.ports.inbound, s.localCa, s.inboundHost, ctx.evidence);
      const leaf = await clientCertificate(pki, 'event-loop.client');
      ctx.evidence.addPrivateKey('event-loop leaf', leaf.keyPem, leaf.certPem);
      const certificates = `/vaults/${s.vaultId}/certificates`;
      const routes = `/vaults/${s.vaultId}/routes`;
      const upload = async (
        path: string,
        body: unknown,
      ): Promise<{ status: number; code: string | null }> => {
        try {
          const res = await vg.api('POST', path, body, 120_000);
          return { status: res.status, code: (res.json?.error?.code as string | undefined) ?? null };
        } catch (err) {
          return { status: 0, code: (err as Error).name };
        }
      };
      const inbound = { proxy_type: 'inbound', route_id: s.routeId };
      const destination = `https://localhost:${upstream.port}`;
      const cases: HostileCase[] = [
        {
          name: `scrypt p=${scryptP} key, wrong passphrase`,
          send: () =>
            upload(certificates, {
              ...inbound,
              certificate: leaf.certPem,
              private_key: scryptKey(1 << 14, 8, scryptP),
              passphrase: 'not the passphrase',
            }),
        },
        {
          name: 'PBKDF2 key at the iteration cap (1,000,000), wrong passphrase',
          send: () =>
            upload(certificates, {
              ...inbound,
              certificate: leaf.certPem,
              private_key: pbkdf2Key(1_000_000),
              passphrase: 'not the passphrase',
            }),
        },
        {
          name: '80 KB of spaces inside a PEM',
          send: () =>
            upload(certificates, {
              ...inbound,
              certificate: spacedPem(leaf.certPem),
              private_key: leaf.keyPem,
            }),
        },
        {
          name: `ca_pem with ${markers} BEGIN markers`,
          send: () =>
            upload(routes, {
              destination_override_endpoint: destination,
              upstream_tls: { ca_pem: manyBeginMarkers(markers) },
            }),
        },
        ...CATASTROPHIC_REGEXES.map((re) => ({
          name: `host_endpoint ${re}`,
          send: () => upload(routes, { host_endpoint: re, destination_override_endpoint: destination }),
        })),
      ];

      // Warm up: connections to vaultgate and from it to the upstream exist before anything is timed.
      for (let i = 0; i < 20; i++) await client.get('/warm-up');
      probe = new Probe(client);
      probe.start(10);
      const quietFrom = performance.now();
      await sleep(1000);
      const baseline = probe.worst(quietFrom, performance.now());
      figures['no upload: worst probe ms'] = baseline;
      let worstProbe = 0;
      let slowestAnswer = 0;
      for (const c of cases) {
        const t0 = performance.now();
        const answer = await c.send();
        const answeredMs = Math.round(performance.now() - t0);
        await sleep(100);
        const worst = probe.worst(t0, t0 + answeredMs + 100);
        figures[`${c.name}: worst probe ms`] = worst;
        figures[`${c.name}: answered in ms (status)`] =
          `${answeredMs} (${answer.status} ${answer.code ?? ''})`.trim();
        worstProbe = Math.max(worstProbe, worst);
        slowestAnswer = Math.max(slowestAnswer, answeredMs);
        if (answer.status === 0 || answer.status >= 500)
          failures.push(`${c.name}: answered ${answer.status}`);
        ctx.log(`event-loop: ${c.name}: probe ${worst} ms, answered in ${answeredMs} ms (${answer.status})`);
        await sleep(300); // let probes delayed by a stall drain before the next input
      }
      await probe.stop();
      const failed = probe.samples.filter((x) => x.status !== 200);
      const failedProbes = failed.length;
      const byStatus = new Map<number, number>();
      for (const f of failed) byStatus.set(f.status, (byStatus.get(f.status) ?? 0) + 1);
      if (failedProbes > 0)
        failures.push(
          `${failedProbes} probes not answered 200 (${[...byStatus].map(([st, n]) => `${st}×${n}`).join(' ')})`,
        );
      const health = await fetch(`http://127.0.0.1:${vg.ports.admin}/healthz`).then(
        (r) => r.status,
        () => 0,
      );
      if (health !== 200) failures.push(`/healthz answered ${health} afterwards`);
      figures['probes sent'] = probe.samples.length;
      figures['probes not answered 200'] = failedProbes;
      figures['worst probe ms (any upload)'] = worstProbe;
      figures['slowest upload answer ms'] = slowestAnswer;
      client.close();
      if (failures.length > 0) figures['failed checks'] = failures.join('; ');
      return {
        name: 'Event loop under hostile uploads (10 ms inbound probe)',
        figures,
        target: `worst probe latency ≤ ${PROBE_TARGET_MS} ms per hostile input; each upload answered within ${ANSWER_TARGET_MS / 1000} s, none with 5xx; every probe answered 200`,
        pass: worstProbe <= PROBE_TARGET_MS && slowestAnswer <= ANSWER_TARGET_MS && failures.length === 0,
      };
    } finally {
      await probe?.stop();
      await vg.stop('SIGTERM');
      await upstream.close();
    }
  },
};
