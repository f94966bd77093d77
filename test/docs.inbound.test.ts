/**
 * docs/inbound.md's walkthroughs, run as written against a real vaultgate: every shell block in
 * order in one fresh `bash -euo pipefail` session, in a temp dir, each checked for its exit status
 * and for the output block that follows it (test/helpers/doc-walkthrough.ts).
 *
 * The only edits to the commands: the start command is skipped (the test starts vaultgate itself,
 * on free ports), the admin token placeholder becomes the real token, and the documented ports
 * (9000 admin, 8443 inbound, 9443 and 9444 the demo upstreams) become this run's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  freshEnv,
  readSteps,
  runSteps,
  startBashSession,
  type BashSession,
} from './helpers/doc-walkthrough.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

const DOC = 'docs/inbound.md';
const tools = ['bash', 'curl', 'jq', 'openssl'];
const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);

describe.skipIf(missing.length > 0)(`${DOC} walkthroughs`, () => {
  let vg: TestVaultgate;
  let bash: BashSession;
  let work: string;
  let ports: Record<string, number>;

  beforeAll(async () => {
    vg = await startTestVaultgate();
    work = mkdtempSync(join(tmpdir(), 'vaultgate-docs-'));
    const ports_ = vg.vg.ports as { admin: number; inbound: number };
    ports = {
      '9000': ports_.admin,
      '8443': ports_.inbound,
      '9443': await freePort(),
      '9444': await freePort(),
    };
    bash = startBashSession(work, freshEnv(work));
  });

  afterAll(async () => {
    bash?.stop();
    await vg?.stop();
    // DOCS_KEEP=1 keeps the session's files (step-N.sh, step-N.out) for reading a failure.
    if (work && !process.env['DOCS_KEEP']) rmSync(work, { recursive: true, force: true });
    else if (work) process.stdout.write(`docs walkthrough files kept in ${work}\n`);
  });

  it('every command succeeds and prints what the doc shows', { timeout: 240_000 }, async () => {
    const steps = readSteps(readFileSync(DOC, 'utf8'));
    const edit = (text: string): string =>
      text
        .replace('TOKEN=<admin token from the banner>', `TOKEN=${vg.token}`)
        .replace(/\b(9000|8443|9443|9444)\b/g, (p) => String(ports[p]));
    const ran = await runSteps(
      bash,
      steps.filter((step) => !step.script.includes('node dist/src/main.js')),
      { name: 'step', edit, upstreamPorts: [ports['9443'], ports['9444']] as number[] },
    );
    expect(ran).toBeGreaterThan(10);
    // The custom hostnames walkthrough (issue 14) is among what ran.
    expect(steps.some((s) => s.section.startsWith('Custom hostnames'))).toBe(true);
  });
});
