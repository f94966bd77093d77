/**
 * Issue 7 item 2: SIGTERM while requests flow through both proxies to an upstream that takes
 * 100-600 ms per answer (so some are always in flight), then a restart on the same data dir and ports.
 *
 * A request counts as accepted when vaultgate took it on: the upstream saw it (its id header), or
 * vaultgate answered it at all. An accepted request is lost unless the client got the upstream's
 * complete 200 answer. Connections refused or reset before vaultgate took a request on are not
 * accepted (the client may retry them); they are counted apart.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { freePorts, VaultgateChild } from '../lib/child.js';
import { InboundClient, OutboundClient, pace, type Outcome } from '../lib/load.js';
import { numberOption } from '../lib/options.js';
import { stage, uploadCertificate } from '../lib/setup.js';
import type { RunContext, Scenario, ScenarioResult } from '../lib/types.js';
import { clientCertificate, makePki, startUpstream } from '../lib/upstream.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const scenario: Scenario = {
  name: 'shutdown',
  async run(ctx: RunContext): Promise<ScenarioResult> {
    const cycles = numberOption(ctx, 'shutdown-cycles', { quick: 1, full: 3 });
    const rate = numberOption(ctx, 'shutdown-rate', { quick: 100, full: 200 });
    const loadMs = numberOption(ctx, 'shutdown-load-seconds', { quick: 2, full: 8 }) * 1000;
    // The target is 5 s (issue 7), judged by the full run on a quiet machine. The quick run is the one
    // `npm test` makes beside other test files on two shared cores, where start-up alone took 2.9 s
    // once: it checks that the restarted process serves at all, within 15 s.
    const restartBoundMs = numberOption(ctx, 'shutdown-restart-seconds', { quick: 15, full: 5 }) * 1000;
    const dir = ctx.tempDir('vaultgate-rel-shutdown-');
    const pki = await makePki(dir);
    const seen = new Set<string>();
    const upstream = await startUpstream(pki, (req: IncomingMessage, res: ServerResponse) => {
      const id = String(req.headers['x-rel-id']);
      seen.add(id);
      req.resume();
      // Head first, body later in two parts: a shutdown must let a response that is half sent finish.
      setTimeout(
        () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write(`{"id":"${id}",`);
          setTimeout(() => res.end('"done":true}'), 50);
        },
        100 + Math.random() * 500,
      );
    });
    const dataDir = `${dir}/data`;
    const ports = await freePorts();
    const env = { VAULTGATE_UPSTREAM_CA_FILE: pki.caFile };
    let vg = await VaultgateChild.start({ dataDir, name: 'shutdown', evidence: ctx.evidence, ports, env });
    const s = await stage(vg, upstream, 'shutdown');
    for (const [n, tie] of [
      [1, { proxy_type: 'inbound', route_id: s.routeId }],
      [2, { proxy_type: 'outbound', credential_id: s.cred.id }],
    ] as const) {
      const cert = await clientCertificate(pki, `shutdown-${n}.client`);
      await uploadCertificate(vg, pki, s.vaultId, tie, cert, `shutdown #${n}`);
    }
    const inbound = new InboundClient(ports.inbound, s.localCa, s.inboundHost, ctx.evidence);
    const outbound = new OutboundClient(
      ports.outbound,
      s.cred,
      s.vaultCa,
      `https://localhost:${upstream.port}`,
      ctx.evidence,
    );

    const outcomes: { id: string; side: string; o: Outcome }[] = [];
    const exits: (number | null)[] = [];
    const stopMs: number[] = [];
    const restartMs: number[] = [];
    const bannerMs: number[] = [];
    let stopped = false;
    const load = pace(
      { ratePerSec: rate, durationMs: 10 * 60_000, maxInFlight: 512, stop: () => stopped },
      async (i) => {
        const id = `r${i}`;
        const headers = { 'x-rel-id': id };
        const o =
          i % 2 === 0 ? await inbound.get(`/s/${id}`, headers) : await outbound.get(`/s/${id}`, headers);
        outcomes.push({ id, side: i % 2 === 0 ? 'inbound' : 'outbound', o });
      },
    );
    try {
      for (let c = 0; c < cycles; c++) {
        await sleep(loadMs);
        const t0 = Date.now();
        exits.push(await vg.stop('SIGTERM'));
        stopMs.push(Date.now() - t0);
        const spawned = Date.now();
        vg = await VaultgateChild.start({ dataDir, name: 'shutdown', evidence: ctx.evidence, ports, env });
        bannerMs.push(Date.now() - spawned);
        // A fresh client per probe: the time until a proxied request through the new process succeeds.
        const probe = new InboundClient(ports.inbound, s.localCa, s.inboundHost, ctx.evidence);
        let served = Number.NaN;
        for (let k = 0; k < 600 && Number.isNaN(served); k++) {
          const o = await probe.get('/probe', { 'x-rel-id': `probe-${c}-${k}` }, 5000);
          if (o.status === 200) served = o.end - spawned;
          else await sleep(25);
        }
        probe.close();
        restartMs.push(served);
        ctx.log(
          `shutdown: cycle ${c + 1}: exit ${exits[c]}, stopped in ${stopMs[c]} ms, serving again after ${served} ms`,
        );
      }
      await sleep(Math.min(loadMs, 2000));
    } finally {
      stopped = true;
      await load;
      inbound.close();
      await outbound.close();
      await vg.metrics().catch(() => '');
      exits.push(await vg.stop('SIGTERM'));
      await upstream.close();
    }

    let accepted = 0;
    let lost = 0;
    let notAccepted = 0;
    const lostKinds = new Map<string, number>();
    for (const { id, side, o } of outcomes) {
      const complete = o.status === 200 && o.body === `{"id":"${id}","done":true}`;
      if (seen.has(id) || o.status !== 0) {
        accepted++;
        if (!complete) {
          lost++;
          const kind = `${side} ${o.status} ${o.code ?? o.error ?? ''}`;
          lostKinds.set(kind, (lostKinds.get(kind) ?? 0) + 1);
        }
      } else notAccepted++;
    }
    const maxRestart = Math.max(...restartMs);
    const figures: Record<string, number | string> = {
      'SIGTERM cycles': cycles,
      requests: outcomes.length,
      'accepted requests': accepted,
      'accepted requests lost': lost,
      'refused or reset before being accepted (while stopped)': notAccepted,
      'exit codes': exits.join(', '),
      'stop took ms (max)': Math.max(...stopMs),
      'restart: start-up banner after spawn, ms (max)': Math.max(...bannerMs),
      'restart: first proxied 200 after spawn, ms (max)': maxRestart,
    };
    if (lostKinds.size > 0) figures['lost by kind'] = [...lostKinds].map(([k, v]) => `${k}: ${v}`).join('; ');
    return {
      name: 'Graceful shutdown and restart under load',
      figures,
      target: `no accepted request lost; exit 0; serving again within ${restartBoundMs / 1000} s of the restart`,
      pass: lost === 0 && exits.every((e) => e === 0) && maxRestart <= restartBoundMs && accepted > 0,
    };
  },
};
