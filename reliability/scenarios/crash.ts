/**
 * Issue 7 item 3: kill -9 at random moments while the management API takes writes (vaults,
 * credentials, routes, from four concurrent writers). Every acknowledged (2xx) write is recorded;
 * after each kill the SQLite file must pass `PRAGMA integrity_check` and the process must start again
 * on it. At the end, after one more kill, every acknowledged write must be there.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { freePorts, VaultgateChild } from '../lib/child.js';
import { numberOption } from '../lib/options.js';
import type { RunContext, Scenario, ScenarioResult } from '../lib/types.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Acked {
  kind: 'vault' | 'credential' | 'route';
  vaultId: string;
  id: string;
}

/** Opens the file as vaultgate would (recovering the WAL) and runs SQLite's own consistency check. */
function integrity(file: string): string {
  const db = new Database(file, { timeout: 5000 });
  try {
    return (db.pragma('integrity_check', { simple: true }) as string) ?? 'no answer';
  } finally {
    db.close();
  }
}

export const scenario: Scenario = {
  name: 'crash',
  async run(ctx: RunContext): Promise<ScenarioResult> {
    const total = numberOption(ctx, 'crash-writes', { quick: 200, full: 1000 });
    const killCount = numberOption(ctx, 'crash-kills', { quick: 4, full: 10 });
    const dir = ctx.tempDir('vaultgate-rel-crash-');
    const dataDir = join(dir, 'data');
    const dbFile = join(dataDir, 'vaultgate.db');
    const ports = await freePorts();
    const start = (): Promise<VaultgateChild> =>
      VaultgateChild.start({ dataDir, name: 'crash', evidence: ctx.evidence, ports });

    let vg = await start();
    let up: Promise<void> = Promise.resolve();
    const acked: Acked[] = [];
    const vaults: string[] = [];
    let attempted = 0;
    let failed = 0;
    let kills = 0;
    const checks: string[] = [];
    let restartFailures = 0;

    const writeOnce = async (): Promise<void> => {
      const r = Math.random();
      const vaultId = vaults[Math.floor(Math.random() * vaults.length)];
      attempted++;
      const n = attempted;
      try {
        if (vaultId === undefined || r < 0.2) {
          const res = await vg.api('POST', '/vaults', { name: `crash ${n}`, environment: 'sandbox' }, 5000);
          if (res.status === 201) {
            vaults.push(res.json.data.id as string);
            acked.push({ kind: 'vault', vaultId: res.json.data.id, id: res.json.data.id });
          } else failed++;
        } else if (r < 0.6) {
          const res = await vg.api(
            'POST',
            `/vaults/${vaultId}/credentials`,
            { description: `crash ${n}` },
            5000,
          );
          if (res.status === 201) {
            ctx.evidence.addPassword(`crash credential ${n}`, res.json.data.password, res.json.data.username);
            acked.push({ kind: 'credential', vaultId, id: res.json.data.id });
          } else failed++;
        } else {
          const body = {
            destination_override_endpoint: `https://crash-${n}.example:8443`,
            tags: { n: String(n) },
          };
          const res = await vg.api('POST', `/vaults/${vaultId}/routes`, body, 5000);
          if (res.status === 201) acked.push({ kind: 'route', vaultId, id: res.json.data.id });
          else failed++;
        }
      } catch {
        failed++; // no answer: the process died under it (not acknowledged)
        await sleep(10);
      }
    };

    const writers = Array.from({ length: 4 }, async () => {
      while (attempted < total) {
        await up;
        await writeOnce();
      }
    });
    // Kills at random points of the write stream (so they land among writes however fast the machine
    // is), each a random few milliseconds after its point is passed.
    const points = Array.from({ length: killCount }, () => Math.floor(Math.random() * total)).sort(
      (a, b) => a - b,
    );
    const killer = (async () => {
      for (const point of points) {
        for (let w = 0; attempted < point && w < 60_000; w++) await sleep(5);
        await sleep(Math.random() * 30);
        if (attempted >= total) break;
        let release: () => void = () => {};
        up = new Promise((r) => (release = r));
        await vg.crash();
        kills++;
        checks.push(integrity(dbFile));
        try {
          vg = await start();
        } catch (err) {
          restartFailures++;
          ctx.log(`crash: restart failed: ${(err as Error).message}`);
          vg = await start();
        }
        release();
      }
    })();
    await Promise.all([...writers, killer]);

    // One last kill right after the last acknowledged write, then the count.
    await vg.crash();
    kills++;
    checks.push(integrity(dbFile));
    vg = await start();
    let lost = 0;
    const present = new Set<string>();
    try {
      const list = await vg.must('GET', '/vaults', undefined, 200);
      for (const v of list.json.data as { id: string }[]) present.add(`vault:${v.id}`);
      for (const vaultId of new Set(acked.map((a) => a.vaultId))) {
        if (!present.has(`vault:${vaultId}`)) continue;
        const creds = await vg.must('GET', `/vaults/${vaultId}/credentials`, undefined, 200);
        for (const c of creds.json.data as { id: string }[]) present.add(`credential:${c.id}`);
        const routes = await vg.must('GET', `/vaults/${vaultId}/routes`, undefined, 200);
        for (const r of routes.json.data as { id: string }[]) present.add(`route:${r.id}`);
      }
      for (const a of acked) if (!present.has(`${a.kind}:${a.id}`)) lost++;
      await vg.metrics();
    } finally {
      await vg.stop('SIGTERM');
    }
    const bad = checks.filter((c) => c !== 'ok');
    return {
      name: 'Crash safety (kill -9 during API writes, SQLite)',
      figures: {
        'writes attempted': attempted,
        'writes acknowledged (2xx)': acked.length,
        'writes without an answer or refused': failed,
        'kill -9': kills,
        'acknowledged writes lost': lost,
        'integrity_check not ok': bad.length === 0 ? 0 : `${bad.length} (${bad[0]})`,
        'restarts that failed': restartFailures,
      },
      target: '0 acknowledged writes lost; integrity_check ok after every kill; every restart succeeds',
      pass: lost === 0 && bad.length === 0 && restartFailures === 0 && acked.length > 0 && kills >= 2,
    };
  },
};
