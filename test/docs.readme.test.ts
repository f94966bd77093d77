/**
 * README.md's walkthroughs, run as written from a fresh shell: vaultgate is started as the quick
 * start's `npm start` starts it (`node dist/src/main.js` in a directory of its own, so its data is in
 * `./data`), with nothing in its environment but PATH and HOME and free ports; then every shell block
 * runs in order in one fresh `bash -euo pipefail` in that directory, with the same clean
 * environment, each checked for its exit status and for the output block that follows it
 * (test/helpers/doc-walkthrough.ts). A shell block the test does not run must say why
 * (`<!-- not run: … -->`), so a new walkthrough cannot be left unchecked.
 *
 * The only edit to the commands: the documented ports (9000 admin, 8443 inbound, 8080 outbound,
 * 8444 outbound over TLS, 9443 the demo bank) become this run's.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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
import { MAIN } from './helpers/process.js';

const README = 'README.md';
const tools = ['bash', 'curl', 'jq', 'openssl'];
const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const steps = readSteps(readFileSync(README, 'utf8'));

/** A block's commands: its lines without comments and blank lines. */
const commands = (script: string): string[] =>
  script
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

describe('README.md shell blocks', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };

  it('every shell block is run by this test or says why not', () => {
    expect(steps.length).toBeGreaterThan(4);
    for (const step of steps)
      if (step.notRun !== undefined)
        expect(step.notRun.length, `${README} line ${step.line}: give the reason`).toBeGreaterThan(10);
  });

  it('the quick start is npm start and npm test, and they do what it says', () => {
    const quickStart = steps.find((s) => s.section === 'Quick start');
    expect(quickStart).toBeDefined();
    expect(commands(quickStart!.script)).toEqual(['npm start', 'npm test']);
    // npm start: install, build when stale, then the entry point this test starts.
    expect(pkg.scripts['start']).toMatch(
      /ensure-deps\.js && .*ensure-build\.js && node dist\/src\/main\.js$/,
    );
    expect(pkg.scripts['test']).toMatch(/vitest run$/);
    // CI runs the README's test command.
    expect(commands(readFileSync('.ci/run', 'utf8'))).toContain('npm test');
  });

  it('every curl that sends a body says it is JSON', () => {
    let bodies = 0;
    for (const step of steps)
      for (const command of step.script.replace(/\\\n/g, ' ').split(/\n|\|/)) {
        if (!/\bcurl\b/.test(command) || !/\s(-d|--data\S*)\s/.test(command)) continue;
        bodies++;
        expect(command, `${README} line ${step.line}`).toMatch(
          /-H "\$JSON"|content-type: application\/json/i,
        );
      }
    expect(bodies).toBeGreaterThan(5);
    // $JSON is what it says.
    expect(steps.some((s) => s.script.includes(`JSON='content-type: application/json'`))).toBe(true);
  });

  it('every npm command a block shows is a script of package.json', () => {
    for (const step of steps)
      for (const line of commands(step.script)) {
        const npm = /^npm (?:run )?([\w:-]+)/.exec(line);
        if (npm?.[1] !== undefined)
          expect(pkg.scripts, `${README} line ${step.line}`).toHaveProperty([npm[1]]);
      }
  });
});

describe.skipIf(missing.length > 0)('README.md walkthroughs from a fresh shell', () => {
  let work: string;
  let vaultgate: ChildProcess;
  let exited: Promise<unknown>;
  let stdout = '';
  let stderr = '';
  let bash: BashSession;
  let ports: Record<string, number>;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'vaultgate-readme-'));
    vaultgate = spawn(process.execPath, [MAIN], {
      cwd: work,
      env: {
        ...freshEnv(work),
        VAULTGATE_ADMIN_PORT: '0',
        VAULTGATE_INBOUND_PORT: '0',
        VAULTGATE_OUTBOUND_PORT: '0',
        VAULTGATE_OUTBOUND_TLS_PORT: '0',
      },
    });
    exited = new Promise((resolve) => vaultgate.once('exit', resolve));
    vaultgate.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    // The banner ends with the ports line; ports.json is written before it.
    await new Promise<void>((resolve, reject) => {
      vaultgate.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/^ {2}Ports .*\n/m.test(stderr)) resolve();
      });
      vaultgate.once('exit', (code) => reject(new Error(`vaultgate exited with ${code}: ${stderr}`)));
    });
    const started = JSON.parse(readFileSync(join(work, 'data/ports.json'), 'utf8')) as Record<string, number>;
    await ready(`http://127.0.0.1:${started['admin']}/readyz`);
    ports = {
      '9000': started['admin']!,
      '8443': started['inbound']!,
      '8080': started['outbound']!,
      '8444': started['outbound_tls']!,
      '9443': await freePort(),
    };
    bash = startBashSession(work, freshEnv(work));
  });

  afterAll(async () => {
    bash?.stop();
    if (vaultgate?.exitCode === null) {
      vaultgate.kill('SIGTERM');
      await exited;
    }
    // DOCS_KEEP=1 keeps the session's files (readme-N.sh, readme-N.out, data/) for reading a failure.
    if (work && !process.env['DOCS_KEEP']) rmSync(work, { recursive: true, force: true });
    else if (work) process.stdout.write(`README walkthrough files kept in ${work}\n`);
  });

  it('the first start prints its banner on stderr and only JSON lines on stdout', () => {
    const token = readFileSync(join(work, 'data/admin-token'), 'utf8').trim();
    expect(stderr).toContain('vaultgate is running');
    expect(stderr).toContain(token);
    expect(stdout).not.toContain(token);
    for (const line of stdout.split('\n').filter((l) => l !== ''))
      expect(() => JSON.parse(line)).not.toThrow();
  });

  it(
    'every block runs as written, top to bottom, and prints what the README shows',
    { timeout: 240_000 },
    async () => {
      const edit = (text: string): string =>
        text.replace(/\b(9000|8443|8080|8444|9443)\b/g, (p) => String(ports[p]));
      const runnable = steps.filter((step) => step.notRun === undefined);
      const ran = await runSteps(bash, runnable, { name: 'readme', edit, upstreamPorts: [ports['9443']!] });
      expect(ran).toBeGreaterThanOrEqual(5);
      for (const section of [
        'Using the API',
        'The outbound proxy, end to end',
        'The inbound proxy, end to end',
      ])
        expect(runnable.map((s) => s.section)).toContain(section);
    },
  );
});

/** Resolves once the readiness endpoint answers 200 (every worker serves the snapshot). */
async function ready(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(url).then(
      async (res) => (await res.arrayBuffer(), res.status),
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline)
      throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last ${status})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
