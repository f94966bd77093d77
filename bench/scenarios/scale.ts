/**
 * Scenario 5: vaultgate holding many certificates (10,000 in the full run): time to upload them
 * through the API, `GET …/certificates` latency, resident memory, cold start, and how many upstream
 * TLS handshakes 10,000 keep-alive requests cause (pool reuse works when that stays near the number
 * of concurrent connections). vaultgate runs as `npm start` would on this machine: as many
 * data-plane workers as CPUs (VAULTGATE_WORKERS), pinned to the proxy CPU like every system. Before
 * the uploads, its idle resident memory is read per process (control plane, each worker); every
 * memory figure after that is the sum over its whole process tree.
 *
 * The certificates are made in-process with @peculiar/x509 (each with its own P-256 key), spread over
 * credentials 100 to a credential and scoped to distinct hosts, as a large outbound user would have.
 */
import { webcrypto } from 'node:crypto';
import { join } from 'node:path';
import type { BenchContext } from '../context.js';
import { runTunnel } from '../load/tunnel.js';
import { cpuSeconds, processTree, rssMb, sleep } from '../lib/proc.js';
import { median, percentile, round, type Scenario } from '../lib/results.js';
import { EC, loadX509, pem } from '../lib/x509.js';
import {
  configureVault,
  dataPlanePids,
  describeWorkers,
  spawnVaultgate,
  type VaultgateProcess,
} from '../systems/vaultgate.js';

async function makeCertificates(count: number): Promise<{ certificate: string; private_key: string }[]> {
  const x509 = await loadX509();
  const caKeys = await webcrypto.subtle.generateKey(EC, false, ['sign', 'verify']);
  const out: { certificate: string; private_key: string }[] = [];
  for (let i = 0; i < count; i++) {
    const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: (i + 1).toString(16).padStart(8, '0'),
      subject: `CN=client-${i}.bench.example, O=vaultgate bench`,
      issuer: 'CN=bench scale CA, O=vaultgate bench',
      notBefore: new Date(Date.now() - 3_600_000),
      notAfter: new Date(Date.now() + 365 * 86_400_000),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
    });
    out.push({
      certificate: cert.toString('pem'),
      private_key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    });
  }
  return out;
}

async function timeList(vg: VaultgateProcess, vaultId: string, times: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    // Lists are paged since issue 15: the largest page is the heaviest answer a client can ask for.
    await vg.api('GET', `/vaults/${vaultId}/certificates?limit=1000`);
    ms.push(performance.now() - t0);
  }
  return ms;
}

export async function runScale(ctx: BenchContext): Promise<Scenario> {
  const n = ctx.certificates;
  const scenario: Scenario = {
    name: 'scale',
    description: `vaultgate with ${n} stored certificates`,
    generator: 'management API client; bench/load/tunnel-worker for the pool check',
    concurrency: ctx.concurrency,
    rounds: 1,
    duration_s: 0,
    results: {},
    skipped: {},
    notes: [],
  };
  const t0 = performance.now();
  const dataDir = join(ctx.dir, 'vaultgate-scale');
  ctx.log(`  making ${n} certificates`);
  const material = await makeCertificates(n);
  const workers = ctx.cpus;
  const spawn = (): Promise<VaultgateProcess> =>
    spawnVaultgate(dataDir, ctx.pki.caFile, ctx.proxyCpus, {
      workers,
      profileDir: ctx.profileDir('scale-vaultgate'),
    });
  let vg = await spawn();
  try {
    const vault = await configureVault(vg, ctx.pki, ctx.upstream.port);
    // Idle: configured (one vault, route, credential, two certificates), no traffic yet. A moment for
    // the workers to finish applying the configuration's snapshots.
    await sleep(ctx.mode === 'smoke' ? 200 : 2000);
    const root = vg.started.child.pid as number;
    const idleWorkers = dataPlanePids(root).map((pid) => rssMb([pid]));
    const idleTree = rssMb(processTree(root));
    const workersSeen = describeWorkers(root, workers);
    const credentials: string[] = [];
    for (let i = 0; i < Math.ceil(n / 100); i++) {
      credentials.push((await vg.api<{ id: string }>('POST', `/vaults/${vault.id}/credentials`, {})).id);
    }
    // Eight uploads in flight, like a migration script; bounded by a time budget so a slow API cannot
    // hold the whole run hostage (the figure then says how far it got). The cost of one upload is
    // timed alone (PROBE sequential uploads) once 100 certificates are stored and again at the end,
    // so the two figures differ only in the number of certificates stored (issue 15: flat).
    const budgetMs = ctx.mode === 'full' ? 480_000 : 60_000;
    const probeSize = ctx.mode === 'smoke' ? 5 : 50;
    const uploadStart = performance.now();
    let next = 0;
    let uploaded = 0;
    const uploadOne = async (): Promise<void> => {
      const i = next++;
      await vg.api('POST', `/vaults/${vault.id}/certificates`, {
        proxy_type: 'outbound',
        credential_id: credentials[Math.floor(i / 100)],
        description: `scale ${i}`,
        hosts: [`api-${i}.bench.example`],
        ...material[i],
      });
      uploaded++;
    };
    const uploadUntil = async (count: number): Promise<void> => {
      const uploader = async (): Promise<void> => {
        while (next < count && performance.now() - uploadStart < budgetMs) await uploadOne();
      };
      await Promise.all(Array.from({ length: 8 }, uploader));
    };
    // CPU time over the whole process tree as well: on a loaded machine the wall time of one upload
    // mostly says how busy the machine was, the CPU it took says what vaultgate did.
    const probe = async (): Promise<{ stored: number; ms: number[]; cpuMs: number }> => {
      const stored = uploaded;
      const ms: number[] = [];
      const cpu0 = cpuSeconds(processTree(root));
      for (let k = 0; k < probeSize && next < n; k++) {
        const t = performance.now();
        await uploadOne();
        ms.push(performance.now() - t);
      }
      return { stored, ms, cpuMs: ((cpuSeconds(processTree(root)) - cpu0) * 1000) / Math.max(1, ms.length) };
    };
    await uploadUntil(Math.min(100, n));
    const probeSmall = await probe();
    await uploadUntil(n - probeSize);
    const probeLarge = await probe();
    const uploadS = (performance.now() - uploadStart) / 1000;
    ctx.log(`  uploaded ${uploaded} certificates in ${uploadS.toFixed(1)} s`);
    if (uploaded < n)
      scenario.notes.push(`Upload stopped by its time budget after ${uploaded} of ${n} certificates.`);

    const list = await timeList(vg, vault.id, ctx.mode === 'smoke' ? 3 : 20);
    const rssLoaded = rssMb(processTree(vg.started.child.pid as number));
    const rssLoadedWorkers = dataPlanePids(vg.started.child.pid as number).map((pid) => rssMb([pid]));

    // Pool reuse: 10,000 keep-alive requests over `concurrency` connections through the inbound proxy.
    const requests = ctx.mode === 'smoke' ? 1000 : 10_000;
    const accepts0 = await ctx.upstream.accepts();
    const load = await runTunnel(
      {
        target: { host: '127.0.0.1', port: vg.ports.inbound },
        servername: vault.inboundHost,
        hostHeader: vault.inboundHost,
        caPem: await vg.api<string>('GET', '/local-ca'),
        connections: ctx.concurrency,
        durationMs: 120_000,
        maxRequests: requests,
      },
      ctx.clientCpus,
    );
    const handshakes = (await ctx.upstream.accepts()) - accepts0;
    const rssAfterTraffic = rssMb(processTree(vg.started.child.pid as number));

    await vg.started.stop();
    vg = await spawn();
    const coldStartMs = vg.startMs;
    const rssCold = rssMb(processTree(vg.started.child.pid as number));
    const listCold = await timeList(vg, vault.id, 1);

    scenario.results['vaultgate'] = {
      workers: workersSeen,
      idle_rss_worker_max_mb: round(Math.max(...idleWorkers), 1),
      idle_rss_control_plane_mb: round(idleTree - idleWorkers.reduce((a, b) => a + b, 0), 1),
      idle_rss_total_mb: round(idleTree, 1),
      certificates: uploaded,
      upload_s: round(uploadS, 1),
      uploads_per_s: round(uploaded / uploadS, 0),
      upload_ms_p50_small: round(median(probeSmall.ms), 1),
      upload_stored_small: probeSmall.stored,
      upload_ms_p50_large: round(median(probeLarge.ms), 1),
      upload_stored_large: probeLarge.stored,
      upload_cost_ratio: round(median(probeLarge.ms) / median(probeSmall.ms), 2),
      upload_cpu_ms_small: round(probeSmall.cpuMs, 1),
      upload_cpu_ms_large: round(probeLarge.cpuMs, 1),
      upload_cpu_ratio: round(probeLarge.cpuMs / probeSmall.cpuMs, 2),
      list_p50_ms: round(median(list), 1),
      list_p99_ms: round(percentile(list, 99), 1),
      list_first_after_start_ms: round(listCold[0] ?? NaN, 1),
      cold_start_ms: round(coldStartMs, 0),
      rss_mb: round(rssLoaded, 1),
      rss_worker_max_mb: round(Math.max(...rssLoadedWorkers), 1),
      rss_after_traffic_mb: round(rssAfterTraffic, 1),
      rss_after_cold_start_mb: round(rssCold, 1),
      pool_check_requests: load.requests,
      pool_check_errors: load.errors,
      upstream_handshakes: handshakes,
      upstream_handshakes_per_10k: round((handshakes / Math.max(1, load.requests)) * 10_000, 1),
      client_connections: ctx.concurrency,
    };
    ctx.log(`  ${JSON.stringify(scenario.results['vaultgate'])}`);
    scenario.notes.push(
      `vaultgate with VAULTGATE_WORKERS=${workers} (${workersSeen}). idle_*: resident memory after configuration, before any upload or traffic; idle_rss_control_plane_mb is the tree minus the workers (0 when one process does everything). rss_mb, rss_after_traffic_mb, rss_after_cold_start_mb: summed over the whole process tree.`,
      `upload_ms_p50_small / _large: the median of ${probeSize} uploads made one at a time with upload_stored_small / _large certificates already stored; upload_cost_ratio = large / small (issue 15's target: ≤ 1.5 at 10,000 against 100); upload_cpu_ms_*: CPU time of the whole process tree per upload during the same probes (less sensitive to a loaded machine).`,
      `cold_start_ms: from spawning the process until /readyz answers 200, with the ${uploaded} certificates stored. rss_mb: after the uploads; handshakes counted by the upstream (nginx stub_status accepts) for ${requests} requests on ${ctx.concurrency} keep-alive client connections.`,
    );
  } finally {
    await vg.started.stop();
  }
  scenario.duration_s = round((performance.now() - t0) / 1000, 1);
  return scenario;
}
