/**
 * Issue 7 item 1: certificates uploaded, rotated and deleted through the API while requests flow
 * through the inbound proxy and the outbound proxy (CONNECT interception) to an upstream that demands
 * a client certificate and reports the one it got.
 *
 * Each side (the inbound route, the outbound credential) cycles: upload a newer certificate while the
 * current one is tied (rotation), delete the older one; every fifth step on a side deletes the only
 * certificate instead, so for a moment none is tied and requests must fail with
 * upstream_client_certificate_rejected. Those are counted apart; every other failure counts.
 * A request that started after a certificate's delete returned must never present that certificate.
 */
import { VaultgateChild } from '../lib/child.js';
import { InboundClient, OutboundClient, pace, type Outcome } from '../lib/load.js';
import { numberOption, percentile } from '../lib/options.js';
import { requestCertificate, stage, uploadCertificate, type Tie } from '../lib/setup.js';
import type { RunContext, Scenario, ScenarioResult } from '../lib/types.js';
import { clientCertificate, makePki, startUpstream } from '../lib/upstream.js';

interface Side {
  name: 'inbound' | 'outbound';
  tie: Tie;
  /** Tied certificates, oldest first. */
  tied: { id: string; fingerprint: string }[];
  /** When each certificate's DELETE returned. */
  deletedAt: Map<string, number>;
  /** Intervals during which no certificate was (or may have been) tied. */
  gaps: [number, number][];
  steps: number;
  outcomes: Outcome[];
}

export const scenario: Scenario = {
  name: 'cert-churn',
  async run(ctx: RunContext): Promise<ScenarioResult> {
    const seconds = numberOption(ctx, 'churn-seconds', { quick: 8, full: 120 });
    const operations = numberOption(ctx, 'churn-operations', { quick: 16, full: 100 });
    const rate = numberOption(ctx, 'churn-rate', { quick: 200, full: 200 });
    const dir = ctx.tempDir('vaultgate-rel-churn-');
    const pki = await makePki(dir);
    const upstream = await startUpstream(pki);
    const vg = await VaultgateChild.start({
      dataDir: `${dir}/data`,
      name: 'cert-churn',
      evidence: ctx.evidence,
      env: { VAULTGATE_UPSTREAM_CA_FILE: pki.caFile },
    });
    try {
      const s = await stage(vg, upstream, 'cert churn');
      let serial = 0;
      const sides: Side[] = [
        { name: 'inbound', tie: { proxy_type: 'inbound', route_id: s.routeId } },
        { name: 'outbound', tie: { proxy_type: 'outbound', credential_id: s.cred.id } },
      ].map((x) => ({
        ...(x as Pick<Side, 'name' | 'tie'>),
        tied: [],
        deletedAt: new Map(),
        gaps: [],
        steps: 0,
        outcomes: [],
      }));

      const upload = async (side: Side): Promise<void> => {
        serial++;
        const cn = `churn-${side.name}-${serial}.client`;
        const label = `cert-churn ${side.name} #${serial}`;
        // Every third certificate's key is born in vaultgate (a certificate request), the others
        // are uploaded: both roads lead to the same kind of certificate, rotated and deleted alike.
        if (serial % 3 === 0) {
          const made = await requestCertificate(vg, pki, s.vaultId, side.tie, cn, label, serial);
          side.tied.push({ id: made.id, fingerprint: made.fingerprint256 });
          return;
        }
        const cert = await clientCertificate(pki, cn, serial);
        const id = await uploadCertificate(vg, pki, s.vaultId, side.tie, cert, label);
        side.tied.push({ id, fingerprint: cert.fingerprint256 });
      };
      const remove = async (side: Side): Promise<void> => {
        const oldest = side.tied.shift();
        if (oldest === undefined) return;
        await vg.must('DELETE', `/vaults/${s.vaultId}/certificates/${oldest.id}`, undefined, 204);
        side.deletedAt.set(oldest.fingerprint, Date.now());
      };
      for (const side of sides) await upload(side);

      const inbound = new InboundClient(vg.ports.inbound, s.localCa, s.inboundHost, ctx.evidence);
      const outbound = new OutboundClient(
        vg.ports.outbound,
        s.cred,
        s.vaultCa,
        `https://localhost:${upstream.port}`,
        ctx.evidence,
      );
      const [inSide, outSide] = sides as [Side, Side];
      ctx.log(`cert-churn: ${rate} req/s for ${seconds} s, ${operations} certificate operations`);

      const durationMs = seconds * 1000;
      const started = Date.now();
      const load = pace({ ratePerSec: rate, durationMs, maxInFlight: 256 }, async (i) => {
        const side = i % 2 === 0 ? inSide : outSide;
        const o = side === inSide ? await inbound.get(`/churn/${i}`) : await outbound.get(`/churn/${i}`);
        side.outcomes.push(o);
      });
      let done = 0;
      const opGap = durationMs / (operations + 1);
      const churn = (async () => {
        for (let k = 0; k < operations; k++) {
          const due = started + (k + 1) * opGap;
          const wait = due - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          const side = sides[k % 2] as Side;
          side.steps++;
          if (side.tied.length === 0) {
            await upload(side);
            const gap = side.gaps[side.gaps.length - 1];
            if (gap) gap[1] = Date.now();
          } else if (side.tied.length >= 2) await remove(side);
          else if (side.steps % 5 === 0) {
            side.gaps.push([Date.now(), Number.POSITIVE_INFINITY]);
            await remove(side);
          } else await upload(side);
          done++;
        }
      })();
      const [{ fired, skipped }] = await Promise.all([load, churn]);
      const elapsed = (Date.now() - started) / 1000;
      inbound.close();
      await outbound.close();
      await vg.metrics();

      let failed = 0;
      let expected = 0;
      let presentedAfterDelete = 0;
      const failures = new Map<string, number>();
      const latencies: number[] = [];
      for (const side of sides)
        for (const o of side.outcomes) {
          latencies.push(o.end - o.start);
          if (o.fingerprint !== null) {
            const deleted = side.deletedAt.get(o.fingerprint);
            if (deleted !== undefined && o.start > deleted) presentedAfterDelete++;
          }
          if (o.status === 200 && o.fingerprint !== null) continue;
          const inGap = side.gaps.some(([a, b]) => o.start <= b && o.end >= a);
          if (o.code === 'upstream_client_certificate_rejected' && inGap) {
            expected++;
            continue;
          }
          failed++;
          const key = `${side.name} ${o.status} ${o.code ?? o.error ?? ''}`;
          failures.set(key, (failures.get(key) ?? 0) + 1);
        }
      const exit = await vg.stop();
      const requests = inSide.outcomes.length + outSide.outcomes.length;
      const uploads = serial;
      const deletes = inSide.deletedAt.size + outSide.deletedAt.size;
      const figures: Record<string, number | string> = {
        requests,
        'requests/s achieved': Math.round(requests / elapsed),
        'shots skipped (client at its in-flight cap)': skipped,
        'certificate operations': `${done} during load (${uploads} uploads incl. 2 initial, ${deletes} deletes, ${inSide.gaps.length + outSide.gaps.length} windows with none tied)`,
        'failed requests': failed,
        'failed because no certificate was tied (expected)': expected,
        'deleted certificate presented after its delete returned': presentedAfterDelete,
        'latency p50 / p99 ms': `${percentile(latencies, 50)} / ${percentile(latencies, 99)}`,
        'exit code after SIGTERM': String(exit),
      };
      if (failures.size > 0)
        figures['failures by kind'] = [...failures].map(([k, v]) => `${k}: ${v}`).join('; ');
      ctx.log(`cert-churn: fired ${fired}, ${JSON.stringify(figures)}`);
      return {
        name: 'Certificate changes under load (inbound + outbound)',
        figures,
        target:
          '0 failed requests (besides windows with no certificate tied); a deleted certificate is never presented after its delete returned',
        pass: failed === 0 && presentedAfterDelete === 0 && done === operations && requests > 0 && exit === 0,
      };
    } finally {
      await vg.stop('SIGKILL');
      await upstream.close();
    }
  },
};
