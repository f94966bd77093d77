/**
 * Issue 7 item 4: faulty upstreams behind the inbound and the outbound proxy. Each fault must give
 * its SPEC §5 answer, no client may hang, and vaultgate (a child process) must not keep a socket or
 * file descriptor after the faults are over: its /proc/<pid>/fd count returns to the baseline once
 * the upstreams and clients are gone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  errorCodeOf,
  requestOver,
  tlsConnector,
  tunnelConnector,
  type Connector,
  type Reply,
} from '../../test/helpers/abuse-clients.js';
import { settle, startVaultgateProcess, type VaultgateProcess } from '../../test/helpers/abuse-process.js';
import { checker, type ScenarioOptions, type ScenarioResult } from '../../test/helpers/abuse-scenario.js';
import {
  makePki,
  startAlertUpstream,
  startUpstream,
  type TestUpstream,
} from '../../test/helpers/abuse-upstreams.js';
import { closedPort } from '../../test/helpers/tls-upstream.js';

/** The response timeout vaultgate runs with here, so a stall is judged in seconds, not a minute. */
const RESPONSE_TIMEOUT_MS = 1_500;
/** No client may wait longer than this for any answer. */
const CLIENT_LIMIT_MS = 10_000;

interface Fault {
  name: string;
  start(): Promise<TestUpstream>;
  /** The SPEC §5 code, or 'cut' for a response cut mid-body, or 'ok' for a 200. */
  expect: string;
}

export async function run(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const started = Date.now();
  const { check, failures } = checker();
  const figures: Record<string, number | string> = {};
  const pki = await makePki();
  const dir = mkdtempSync(join(tmpdir(), 'vaultgate-faults-'));
  writeFileSync(join(dir, 'root.pem'), pki.root.certPem);
  const upstreams: TestUpstream[] = [];
  let vg: VaultgateProcess | undefined;
  try {
    vg = await startVaultgateProcess(
      {
        VAULTGATE_UPSTREAM_CA_FILE: join(dir, 'root.pem'),
        VAULTGATE_UPSTREAM_RESPONSE_TIMEOUT_MS: String(RESPONSE_TIMEOUT_MS),
        VAULTGATE_UPSTREAM_CONNECT_TIMEOUT_MS: '2000',
      },
      options.evidence,
    );
    const refusedPort = await closedPort();
    const faults: Fault[] = [
      { name: 'healthy', start: () => startUpstream({ behaviour: 'ok', tls: pki.server }), expect: 'ok' },
      {
        name: 'reset mid-response',
        start: () => startUpstream({ behaviour: 'reset-mid-response', tls: pki.server }),
        expect: 'cut',
      },
      {
        name: 'stall before headers',
        start: () => startUpstream({ behaviour: 'stall', tls: pki.server }),
        expect: 'upstream_timeout',
      },
      { name: 'TLS alert', start: () => startAlertUpstream(), expect: 'upstream_tls_error' },
      {
        name: 'expired certificate',
        start: () => startUpstream({ behaviour: 'ok', tls: pki.expired }),
        expect: 'upstream_certificate_untrusted',
      },
      {
        name: 'wrong-host certificate',
        start: () => startUpstream({ behaviour: 'ok', tls: pki.otherHost }),
        expect: 'upstream_certificate_untrusted',
      },
      {
        name: 'closes idle pooled connections',
        start: () => startUpstream({ behaviour: 'idle-close', tls: pki.server, idleCloseMs: 0 }),
        expect: 'ok',
      },
      {
        name: 'connection refused',
        start: async () => ({
          port: refusedPort,
          url: `https://localhost:${refusedPort}`,
          paths: [],
          close: async () => {},
        }),
        expect: 'upstream_unreachable',
      },
    ];

    // One vault per fault for the inbound proxy (a vault's first matching route wins); the default
    // vault's credential for the outbound proxy, whose CONNECT names the upstream.
    const outboundCa = (await vg.api('GET', `/vaults/${vg.vaultId}/outbound-ca`)).text;
    const routes: {
      fault: Fault;
      upstream: TestUpstream;
      inbound: Connector;
      host: string;
      outbound: Connector;
    }[] = [];
    for (const fault of faults) {
      const upstream = await fault.start();
      upstreams.push(upstream);
      const vault = await vg.api('POST', '/vaults', { name: fault.name, environment: 'sandbox' });
      const { id, inbound_host: host } = (vault.json as { data: { id: string; inbound_host: string } }).data;
      const route = await vg.api('POST', `/vaults/${id}/routes`, {
        destination_override_endpoint: upstream.url,
      });
      if (route.status !== 201) throw new Error(`route for ${fault.name}: ${route.text}`);
      routes.push({
        fault,
        upstream,
        host,
        inbound: tlsConnector(vg.proc.ports.inbound, vg.localCa, host),
        outbound: tunnelConnector({
          port: vg.proc.ports.outbound,
          cred: vg.credential,
          target: `localhost:${upstream.port}`,
          ca: outboundCa,
        }),
      });
    }

    const outcome = (reply: Reply): string =>
      reply.cut ? 'cut' : reply.status === 200 ? 'ok' : errorCodeOf(reply) || `status ${reply.status}`;
    const once = async (connect: Connector, host: string): Promise<{ got: string; ms: number }> => {
      const t0 = Date.now();
      try {
        const reply = await requestOver(connect, {
          host,
          ms: CLIENT_LIMIT_MS,
          headers: { connection: 'keep-alive' },
        });
        return { got: outcome(reply), ms: Date.now() - t0 };
      } catch (err) {
        return { got: `client error: ${(err as Error).message}`, ms: Date.now() - t0 };
      }
    };

    // Warm-up, then the baseline: what the process holds with no request in flight.
    for (const r of routes.filter((x) => x.fault.name === 'healthy')) {
      await once(r.inbound, r.host);
      await once(r.outbound, 'localhost');
    }
    await new Promise((r) => setTimeout(r, 500));
    const baseline = vg.fds();

    const rounds = options.quick ? 2 : 20;
    let hung = 0;
    let wrong = 0;
    let total = 0;
    for (const r of routes) {
      for (const via of ['inbound', 'outbound'] as const) {
        const seen = new Map<string, number>();
        let slowest = 0;
        for (let i = 0; i < rounds; i++) {
          const { got, ms } = await once(
            via === 'inbound' ? r.inbound : r.outbound,
            via === 'inbound' ? r.host : 'localhost',
          );
          total++;
          slowest = Math.max(slowest, ms);
          seen.set(got, (seen.get(got) ?? 0) + 1);
          if (got.startsWith('client error')) hung++;
          if (got !== r.fault.expect) wrong++;
          // idle-close: give the upstream time to close the pooled connection before the next round.
          if (r.fault.name === 'closes idle pooled connections')
            await new Promise((res) => setTimeout(res, 30));
        }
        const summary = [...seen].map(([k, n]) => `${k}×${n}`).join(', ');
        figures[`${via}: ${r.fault.name}`] = `${summary} (slowest ${slowest} ms)`;
        check(
          seen.size === 1 && seen.has(r.fault.expect),
          `${via}: ${r.fault.name} gave ${summary}, expected ${r.fault.expect}`,
        );
        check(slowest <= CLIENT_LIMIT_MS, `${via}: ${r.fault.name} took ${slowest} ms`);
      }
    }
    figures['requests'] = total;
    figures['wrong answers'] = wrong;
    figures['clients left hanging'] = hung;

    // The faults are over: upstreams close, so must every socket vaultgate opened toward them.
    for (const u of upstreams) await u.close();
    upstreams.length = 0;
    const after = await settle(() => vg!.fds(), baseline, 20_000);
    figures['open fds: baseline'] = baseline;
    figures['open fds: after faults + settle'] = after;
    figures['leaked fds'] = Math.max(0, after - baseline);
    check(
      after <= baseline,
      `vaultgate holds ${after - baseline} more file descriptor(s) than before the faults`,
    );
    check(vg.alive(), 'the vaultgate process died');
    figures['duration (s)'] = Math.round((Date.now() - started) / 1000);
    return {
      name: 'upstream-faults',
      figures,
      target: 'every fault gives its SPEC §5 answer, 0 clients hanging, 0 leaked fds',
      pass: failures.length === 0,
      failures,
    };
  } catch (err) {
    failures.push(`scenario error: ${(err as Error).stack ?? String(err)}`);
    return { name: 'upstream-faults', figures, target: 'no scenario error', pass: false, failures };
  } finally {
    await vg?.stop();
    for (const u of upstreams) await u.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export default run;
