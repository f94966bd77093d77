/**
 * Issue 7 item 8 (full runs only): mixed traffic for a configurable time — keep-alive and fresh
 * connections through both proxies, management API reads, credential create/delete, certificate
 * rotation — while vaultgate's resident memory and open file descriptors are sampled every 10 s from
 * /proc. After the warm-up, a least-squares line through the samples gives the growth per 10 minutes.
 */
import { VaultgateChild } from '../lib/child.js';
import { InboundClient, OutboundClient, pace, type Outcome } from '../lib/load.js';
import { numberOption } from '../lib/options.js';
import { stage, uploadCertificate } from '../lib/setup.js';
import type { RunContext, Scenario, ScenarioResult } from '../lib/types.js';
import { clientCertificate, makePki, startUpstream } from '../lib/upstream.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MiB = 1048576;

/** Slope per second of the least-squares line through (t seconds, v). */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mt = points.reduce((a, [t]) => a + t, 0) / n;
  const mv = points.reduce((a, [, v]) => a + v, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, v] of points) {
    num += (t - mt) * (v - mv);
    den += (t - mt) ** 2;
  }
  return num / den;
}

export const scenario: Scenario = {
  name: 'soak',
  fullOnly: true,
  async run(ctx: RunContext): Promise<ScenarioResult> {
    const minutes = numberOption(ctx, 'soak-minutes', { quick: 3, full: 15 });
    const warmupMs = Math.min(2 * 60_000, (minutes * 60_000) / 3);
    const rate = numberOption(ctx, 'soak-rate', { quick: 60, full: 60 });
    const maxRssGrowthMiB = numberOption(ctx, 'soak-max-rss-growth-mib', { quick: 16, full: 16 });
    const maxFdGrowth = numberOption(ctx, 'soak-max-fd-growth', { quick: 5, full: 5 });
    const dir = ctx.tempDir('vaultgate-rel-soak-');
    const pki = await makePki(dir);
    const upstream = await startUpstream(pki);
    const vg = await VaultgateChild.start({
      dataDir: `${dir}/data`,
      name: 'soak',
      evidence: ctx.evidence,
      env: { VAULTGATE_UPSTREAM_CA_FILE: pki.caFile },
    });
    const samples: { t: number; rss: number; fds: number }[] = [];
    const outcomes: Outcome[] = [];
    let apiCalls = 0;
    let apiFailures = 0;
    let serial = 0;
    try {
      const s = await stage(vg, upstream, 'soak');
      const tied = { inbound: [] as string[], outbound: [] as string[] };
      const rotate = async (side: 'inbound' | 'outbound'): Promise<void> => {
        serial++;
        const cert = await clientCertificate(pki, `soak-${serial}.client`, serial);
        const tie =
          side === 'inbound'
            ? ({ proxy_type: 'inbound', route_id: s.routeId } as const)
            : ({ proxy_type: 'outbound', credential_id: s.cred.id } as const);
        tied[side].push(await uploadCertificate(vg, pki, s.vaultId, tie, cert, `soak #${serial}`));
        while (tied[side].length > 1)
          await vg.must('DELETE', `/vaults/${s.vaultId}/certificates/${tied[side].shift()}`, undefined, 204);
      };
      await rotate('inbound');
      await rotate('outbound');

      const origin = `https://localhost:${upstream.port}`;
      let inbound = new InboundClient(vg.ports.inbound, s.localCa, s.inboundHost, ctx.evidence, 8);
      let outbound = new OutboundClient(vg.ports.outbound, s.cred, s.vaultCa, origin, ctx.evidence);
      const durationMs = minutes * 60_000;
      const t0 = Date.now();
      let done = false;
      ctx.log(`soak: ${minutes} min at ${rate} req/s, warm-up ${warmupMs / 1000} s`);

      const traffic = pace({ ratePerSec: rate, durationMs, maxInFlight: 256 }, async (i) => {
        outcomes.push(i % 2 === 0 ? await inbound.get(`/soak/${i}`) : await outbound.get(`/soak/${i}`));
      });
      const sampler = (async () => {
        while (!done) {
          try {
            const r = vg.resources();
            samples.push({ t: (Date.now() - t0) / 1000, rss: r.rssBytes, fds: r.fds });
          } catch (err) {
            ctx.log(`soak: cannot sample /proc/${vg.pid}: ${(err as Error).message}`);
          }
          for (let w = 0; w < 100 && !done; w++) await sleep(100);
        }
      })();
      // Management traffic and connection churn, one step a second.
      const management = (async () => {
        for (let k = 1; !done; k++) {
          await sleep(1000);
          if (done) break;
          apiCalls++;
          try {
            await vg.must('GET', `/vaults/${s.vaultId}/certificates`, undefined, 200);
            if (k % 5 === 0) {
              apiCalls += 2;
              const c = await vg.must(
                'POST',
                `/vaults/${s.vaultId}/credentials`,
                { description: 'soak' },
                201,
              );
              ctx.evidence.addPassword(`soak credential ${k}`, c.json.data.password, c.json.data.username);
              await vg.must('DELETE', `/vaults/${s.vaultId}/credentials/${c.json.data.id}`, undefined, 204);
            }
            if (k % 30 === 0) {
              apiCalls += 2;
              await rotate(k % 60 === 0 ? 'inbound' : 'outbound');
            }
            if (k % 10 === 0) {
              // New clients: fresh TLS connections and tunnels; the old ones are closed.
              const [oldIn, oldOut] = [inbound, outbound];
              inbound = new InboundClient(vg.ports.inbound, s.localCa, s.inboundHost, ctx.evidence, 8);
              outbound = new OutboundClient(vg.ports.outbound, s.cred, s.vaultCa, origin, ctx.evidence);
              setTimeout(() => {
                oldIn.close();
                void oldOut.close();
              }, 5000);
            }
            if (k % 60 === 0) await vg.metrics();
          } catch (err) {
            apiFailures++;
            ctx.log(`soak: management step failed: ${(err as Error).message}`);
          }
        }
      })();
      await traffic;
      done = true;
      await Promise.all([sampler, management]);
      await sleep(5000);
      inbound.close();
      await outbound.close();
      await vg.metrics();
    } finally {
      await vg.stop('SIGTERM');
      await upstream.close();
    }

    const after = samples.filter((x) => x.t * 1000 >= warmupMs);
    const rssPer10 = (slope(after.map((x) => [x.t, x.rss])) * 600) / MiB;
    const fdPer10 = slope(after.map((x) => [x.t, x.fds])) * 600;
    const first = after[0];
    const last = after[after.length - 1];
    const failed = outcomes.filter((o) => o.status !== 200 || o.fingerprint === null).length;
    return {
      name: `Soak (${minutes} min mixed traffic, configurable with --soak-minutes)`,
      figures: {
        requests: outcomes.length,
        'failed requests': failed,
        'API calls (failed)': `${apiCalls} (${apiFailures})`,
        'certificate rotations': serial,
        [`samples after the ${Math.round(warmupMs / 1000)} s warm-up`]: after.length,
        'RSS MiB after warm-up → end': `${((first?.rss ?? 0) / MiB).toFixed(1)} → ${((last?.rss ?? 0) / MiB).toFixed(1)}`,
        'RSS growth MiB per 10 min': rssPer10.toFixed(2),
        'open fds after warm-up → end': `${first?.fds ?? '?'} → ${last?.fds ?? '?'}`,
        'fd growth per 10 min': fdPer10.toFixed(2),
      },
      target: `0 failed requests; growth per 10 min after warm-up ≤ ${maxRssGrowthMiB} MiB RSS and ≤ ${maxFdGrowth} fds`,
      pass:
        failed === 0 &&
        apiFailures === 0 &&
        after.length >= 2 &&
        rssPer10 <= maxRssGrowthMiB &&
        fdPer10 <= maxFdGrowth,
    };
  },
};
