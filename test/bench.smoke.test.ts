/**
 * The benchmark harness (bench/, issues 8 and 12) in its smoke profile: one round, a second per
 * system, only the systems whose packages are installed (nginx, the upstream of every scenario, is
 * required; the test is skipped without it). It proves the harness still builds, starts and stops
 * every system and writes well-formed results. The figures are never asserted: they depend on the
 * machine. The parsers and the target arithmetic are checked on fixed inputs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseHeySummary } from '../bench/load/hey.js';
import { foreignLoad } from '../bench/lib/machine-load.js';
import { recordProfileWindow, summarizeProfiles } from '../bench/lib/profile.js';
import { checkTargets } from '../bench/lib/report.js';
import type { Scenario, SystemResult } from '../bench/lib/results.js';

const hasNginx = spawnSync('sh', ['-c', 'command -v nginx || test -x /usr/sbin/nginx']).status === 0;
const out = mkdtempSync(join(tmpdir(), 'vaultgate-bench-smoke-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe.skipIf(!hasNginx)('bench harness (smoke)', () => {
  it('runs every scenario once and writes latest.json and latest.md', { timeout: 240_000 }, () => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.bench.json'], { stdio: 'pipe' });
    const run = spawnSync(process.execPath, ['dist/bench/run.js', '--smoke', '--out', out], {
      encoding: 'utf8',
      timeout: 220_000,
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);

    const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    expect(results.mode).toBe('smoke');
    expect(results.machine.cpus).toBeGreaterThan(0);
    expect(results.machine.node).toBe(process.version);
    expect(typeof results.machine.openssl).toBe('string');
    expect(Number.isNaN(Date.parse(results.date))).toBe(false);
    expect(results.scenarios.map((s: { name: string }) => s.name)).toEqual([
      'inbound-keepalive',
      'inbound-keepalive-all-cores',
      'inbound-new-connections',
      'inbound-hostnames',
      'outbound-intercept',
      'outbound-intercept-hey',
      'outbound-new-hosts',
      'scale',
    ]);
    expect(typeof results.machine_load.foreign_cpu_share).toBe('number');
    expect(typeof results.machine_load.loaded).toBe('boolean');
    for (const scenario of results.scenarios) {
      expect(typeof scenario.load.foreign_cpu_share).toBe('number');
      expect(scenario.rounds).toBeGreaterThan(0);
      expect(scenario.concurrency).toBeGreaterThan(0);
      // Every system either has results or is listed as skipped with a reason.
      expect(Object.keys(scenario.results).length + Object.keys(scenario.skipped).length).toBeGreaterThan(0);
      for (const why of Object.values(scenario.skipped)) expect(typeof why).toBe('string');
      for (const result of Object.values(scenario.results) as Record<string, unknown>[]) {
        if (!('rps' in result)) continue;
        expect(typeof result['rps']).toBe('number');
        // A system that answered nothing has no latency (null in JSON); one that answered has both.
        if ((result['rps'] as number) > 0)
          for (const key of ['p50_ms', 'p99_ms']) expect(typeof result[key], key).toBe('number');
        for (const key of ['cpu_s_per_10k', 'rss_mb'])
          expect(['number', 'object']).toContain(typeof result[key]);
        expect(Array.isArray(result['rounds_rps'])).toBe(true);
      }
    }
    // vaultgate itself is always measured where its scenario ran, and node-reference needs only Node.
    for (const name of ['inbound-keepalive', 'inbound-keepalive-all-cores']) {
      const inbound = results.scenarios.find((s: { name: string }) => s.name === name);
      expect(inbound.results['node-reference'].rps, name).toBeGreaterThan(0);
    }
    // Issue 14: both vaultgates served new connections for their hostnames (every handshake's
    // certificate verified for its SNI), the many-hostnames one holding the smoke profile's 20.
    const hostnames = results.scenarios.find((s: { name: string }) => s.name === 'inbound-hostnames');
    expect(hostnames.results['vaultgate-1-hostname'].hostnames).toBe(1);
    expect(hostnames.results['vaultgate-many-hostnames'].hostnames).toBe(20);
    for (const name of ['vaultgate-1-hostname', 'vaultgate-many-hostnames']) {
      expect(hostnames.results[name].rps, name).toBeGreaterThan(0);
      expect(hostnames.results[name].errors, name).toBe(0);
    }
    const outbound = results.scenarios.find((s: { name: string }) => s.name === 'outbound-intercept');
    expect(outbound.results.vaultgate.rps).toBeGreaterThan(0);
    const hey = results.scenarios.find((s: { name: string }) => s.name === 'outbound-intercept-hey');
    if (hey.skipped['*'] === undefined) expect(hey.results.vaultgate.rps).toBeGreaterThan(0);
    const scale = results.scenarios.find((s: { name: string }) => s.name === 'scale');
    expect(scale.results.vaultgate.certificates).toBe(20);
    expect(scale.results.vaultgate.idle_rss_worker_max_mb).toBeGreaterThan(0);
    expect(Array.isArray(results.targets)).toBe(true);
    for (const t of results.targets) expect([true, false, null]).toContain(t.met);

    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    expect(md).toContain('| scenario | target | measured | met | machine |');
    expect(md).toContain('## outbound-intercept');
    expect(md).toContain('## inbound-hostnames');
  });
});

describe('bench report arithmetic', () => {
  it("reads requests, errors and percentiles from hey's summary", () => {
    const text = [
      'Summary:',
      '  Total:\t2.0000 secs',
      '  Requests/sec:\t21.5000',
      '',
      'Latency distribution:',
      '  50% in 0.0032 secs',
      '  99% in 0.0435 secs',
      '',
      'Status code distribution:',
      '  [200]\t40 responses',
      '  [503]\t1 responses',
      '',
      'Error distribution:',
      '  [2]\tGet "https://127.0.0.1:1/": EOF',
      '',
    ].join('\n');
    const r = parseHeySummary(text);
    expect(r.requests).toBe(40);
    expect(r.rps).toBe(20);
    expect(r.errors).toBe(3);
    expect(r.p50Ms).toBeCloseTo(3.2);
    expect(r.p99Ms).toBeCloseTo(43.5);
    expect(r.firstError).toBe('status 503');
    // Too few answers for a 99 % line: the slowest one stands in.
    const few = parseHeySummary(
      'Summary:\n  Total:\t1.0000 secs\n  Slowest:\t0.5000 secs\n\nLatency distribution:\n  50% in 0.2000 secs\n  0% in 0.0000 secs\n\nStatus code distribution:\n  [200]\t52 responses\n',
    );
    expect(few.p99Ms).toBeCloseTo(500);
    expect(few.requests).toBe(52);
  });

  it('counts only the CPU the bench did not use as other load', () => {
    const from = { busy: 1000, total: 4000, bench: 500, loadavg: 0 };
    const quiet = foreignLoad(from, { busy: 2900, total: 6000, bench: 2300, loadavg: 2 });
    expect(quiet.foreign_cpu_share).toBe(0.05);
    expect(quiet.loaded).toBe(false);
    const loaded = foreignLoad(from, { busy: 3000, total: 6000, bench: 2300, loadavg: 2 });
    expect(loaded.foreign_cpu_share).toBe(0.1);
    expect(loaded.loaded).toBe(true);
  });

  it('sums self time over the processes of a start, within the measured windows only', () => {
    const dir = join(out, 'profiles', '01-x-vaultgate');
    mkdirSync(dir, { recursive: true });
    const node = (id: number, functionName: string): object => ({
      id,
      callFrame: { functionName, url: 'file:///w/dist/src/proxy/x.js', lineNumber: id },
    });
    // Samples 1 ms apart from t = 1,000,000 µs: 3 × hot, then 2 × cold after the window closes.
    const profile = (pid: number): void =>
      writeFileSync(
        join(dir, `CPU.20260101.000000.${pid}.0.001.cpuprofile`),
        JSON.stringify({
          startTime: 1_000_000,
          nodes: [node(1, '(idle)'), node(2, 'hot'), node(3, 'cold')],
          samples: [2, 2, 2, 1, 3, 3],
          timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000],
        }),
      );
    profile(11);
    profile(12);
    recordProfileWindow(dir, 1_000_000, 1_003_500);
    const summary = summarizeProfiles(dir, out);
    expect(summary?.processes.map((p) => p.pid).sort()).toEqual([11, 12]);
    expect(summary?.top.map((t) => [t.function, t.self_ms])).toEqual([['hot', 6]]);
    expect(summary?.top[0]?.where).toBe('dist/src/proxy/x.js:3');
    expect(summary?.busy_ms).toBe(6);
  });

  it('checks the issue 12 and 14 targets as met, missed or not measured', () => {
    const result = (rps: number, p99: number, workers = '1 worker + control plane'): SystemResult => ({
      rps,
      p50_ms: 1,
      p99_ms: p99,
      cpu_s_per_10k: 1,
      rss_mb: 1,
      workers,
      rounds_rps: [rps],
      errors: 0,
      upstream_conns_per_10k: 1,
    });
    const scenario = (name: string, results: Scenario['results'], loaded = false): Scenario => ({
      name,
      description: '',
      generator: '',
      concurrency: 64,
      rounds: 3,
      duration_s: 10,
      results,
      skipped: {},
      notes: [],
      load: { foreign_cpu_share: loaded ? 0.2 : 0, bench_cpu_share: 0.8, loaded },
    });
    const targets = checkTargets([
      scenario('inbound-keepalive', {
        vaultgate: result(9000, 5),
        'node-reference': result(10_000, 4),
        nginx: result(20_000, 2),
      }),
      scenario(
        'inbound-keepalive-all-cores',
        {
          vaultgate: result(5000, 5, '1 process (VAULTGATE_WORKERS=2 not used by this build)'),
          nginx: result(20_000, 2),
        },
        true,
      ),
      scenario('scale', { vaultgate: { certificates: 1000, rss_mb: 250, rss_after_traffic_mb: 320 } }),
      scenario('inbound-hostnames', {
        'vaultgate-1-hostname': { ...result(500, 200), hostnames: 1 },
        'vaultgate-many-hostnames': { ...result(460, 210), hostnames: 1000 },
      }),
    ]);
    const find = (text: string): (typeof targets)[number] | undefined =>
      targets.find((t) => t.target.includes(text));
    expect(find('0.9 × node-reference')).toMatchObject({ value: '0.90×', met: true, loaded: false });
    expect(find('0.5 × nginx (1 worker)')).toMatchObject({ value: '0.45×', met: false });
    expect(find('p99 ≤ 2 × nginx')).toMatchObject({ value: '2.50×', met: false });
    expect(find('all cores')).toMatchObject({ met: false, loaded: true });
    expect(find('all cores')?.note).toContain('one process');
    expect(find('12 × mitmproxy')).toMatchObject({ value: 'not measured', met: null });
    // The larger loaded figure counts, and 1,000 certificates cannot decide a 10,000 target.
    expect(find('10,000 certificates')).toMatchObject({ value: '320 MB', met: null });
    expect(find('1,000 custom hostnames')).toMatchObject({ value: '0.92×', met: true });
    // Fewer than 1,000 hostnames (the smoke run's 20) cannot decide the target.
    const few = checkTargets([
      scenario('inbound-hostnames', {
        'vaultgate-1-hostname': { ...result(500, 200), hostnames: 1 },
        'vaultgate-many-hostnames': { ...result(300, 210), hostnames: 20 },
      }),
    ]).find((t) => t.target.includes('1,000 custom hostnames'));
    expect(few).toMatchObject({ value: '0.60×', met: null });
    expect(few?.note).toContain('only 20 hostnames');
  });
});
