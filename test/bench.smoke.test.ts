/**
 * The benchmark harness (bench/, issue 8) in its smoke profile: one round, a second per system, only
 * the systems whose packages are installed (nginx, the upstream of every scenario, is required; the
 * test is skipped without it). It proves the harness still builds, starts and stops every system and
 * writes well-formed results. The figures are never asserted: they depend on the machine.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

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
      'outbound-intercept',
      'outbound-new-hosts',
      'scale',
    ]);
    for (const scenario of results.scenarios) {
      expect(scenario.rounds).toBeGreaterThan(0);
      expect(scenario.concurrency).toBeGreaterThan(0);
      // Every system either has results or is listed as skipped with a reason.
      expect(Object.keys(scenario.results).length + Object.keys(scenario.skipped).length).toBeGreaterThan(0);
      for (const why of Object.values(scenario.skipped)) expect(typeof why).toBe('string');
      for (const result of Object.values(scenario.results) as Record<string, unknown>[]) {
        if (!('rps' in result)) continue;
        for (const key of ['rps', 'p50_ms', 'p99_ms']) expect(typeof result[key]).toBe('number');
        for (const key of ['cpu_s_per_10k', 'rss_mb'])
          expect(['number', 'object']).toContain(typeof result[key]);
        expect(Array.isArray(result['rounds_rps'])).toBe(true);
      }
    }
    // vaultgate itself is always measured where its scenario ran.
    const outbound = results.scenarios.find((s: { name: string }) => s.name === 'outbound-intercept');
    expect(outbound.results.vaultgate.rps).toBeGreaterThan(0);
    const scale = results.scenarios.find((s: { name: string }) => s.name === 'scale');
    expect(scale.results.vaultgate.certificates).toBe(20);
    expect(Array.isArray(results.targets)).toBe(true);
    for (const t of results.targets) expect([true, false, null]).toContain(t.met);

    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    expect(md).toContain('| scenario | target | measured | met |');
    expect(md).toContain('## outbound-intercept');
  });
});
