/**
 * Issue 7 item 9, run after every other scenario: every private key uploaded, every credential
 * password and admin token created during the run is looked for in everything the run saw — the
 * child processes' output (minus the start-up banner, which by SPEC §1 shows the token and the
 * default credential once), every management API and proxied response body, /metrics, and every file
 * of every data dir except master.key and admin-token (the SQLite file, its WAL, ports.json).
 */
import type { RunContext, Scenario, ScenarioResult } from '../lib/types.js';

export const scenario: Scenario = {
  name: 'secrets',
  last: true,
  async run(ctx: RunContext): Promise<ScenarioResult> {
    const report = ctx.evidence.scan();
    const found = report.findings.length;
    const figures: Record<string, number | string> = {
      'secrets looked for': `${report.secrets['private key']} private keys, ${report.secrets['credential password']} credential passwords, ${report.secrets['admin token']} admin tokens`,
      scanned: `${report.sources} sources, ${(report.bytes / 1048576).toFixed(1)} MiB, ${report.pieces} distinct 16-byte pieces`,
      'occurrences found': found,
    };
    if (found > 0)
      figures['where'] = report.findings
        .slice(0, 10)
        .map((f) => `${f.kind} "${f.secret}" in ${f.source}`)
        .join('; ');
    return {
      name: 'Secrets in logs, responses, /metrics, database and data dir',
      figures,
      target:
        '0 occurrences of any private key (PEM lines, base64 or raw DER), credential password or admin token',
      pass: found === 0 && report.secrets['private key'] > 0 && report.secrets['admin token'] > 0,
    };
  },
};
