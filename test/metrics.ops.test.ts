/**
 * The operations files shipped in docs/ops/, checked with Prometheus' own promtool: the alert rules
 * load, their unit tests (alerts.test.yml) pass, and every query of the Grafana dashboard is valid
 * PromQL. That they use only metrics vaultgate exposes is checked against a real scrape in
 * test/metrics.test.ts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { promtool } from './helpers/prometheus-text.js';

describe('docs/ops', () => {
  it('alerts.yml passes promtool check rules', () => {
    const run = promtool(['check', 'rules', 'docs/ops/alerts.yml']);
    expect(run.output).toContain('SUCCESS: 5 rules found');
    expect(run.status).toBe(0);
  });

  it('alerts.yml fires as its unit tests say (promtool test rules)', () => {
    const run = promtool(['test', 'rules', 'docs/ops/alerts.test.yml']);
    expect(run.output).toContain('SUCCESS');
    expect(run.status, run.output).toBe(0);
  });

  it("every query of grafana-dashboard.json is valid PromQL (as recording rules, Grafana's variables filled in)", () => {
    const dashboard = JSON.parse(readFileSync('docs/ops/grafana-dashboard.json', 'utf8')) as {
      panels: { targets?: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const rules = exprs.map(
      (e, i) =>
        `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(
          e.replaceAll('$__rate_interval', '5m').replaceAll('$vault', '.*'),
        )}\n`,
    );
    const file = join(mkdtempSync(join(tmpdir(), 'vaultgate-dashboard-')), 'queries.yml');
    writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('')}`);
    const run = promtool(['check', 'rules', file]);
    expect(run.output).toContain(`SUCCESS: ${exprs.length} rules found`);
    expect(run.status).toBe(0);
  });
});
