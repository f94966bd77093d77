/**
 * docs/inbound.md's walkthroughs, run as written against a real vaultgate: every ```sh block in order
 * in one bash session (variables and files carry over, as in the reader's terminal), in a temp dir.
 * Each block must succeed, and an untagged block right after it (what the reader should see) must
 * appear in what it printed: its non-empty lines, in order, each equal to a printed line (trailing
 * spaces ignored; `…` stands for any text within the line).
 *
 * The only edits to the commands: the start command is skipped (the test starts vaultgate itself,
 * on free ports), the admin token placeholder becomes the real token, and the documented ports
 * (9000 admin, 8443 inbound, 9443 and 9444 the demo upstreams) become this run's.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

const DOC = 'docs/inbound.md';
const tools = ['bash', 'curl', 'jq', 'openssl'];
const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);

interface Step {
  /** The heading the block is under, for failure messages. */
  section: string;
  script: string;
  expected: string | undefined;
}

/** The sh blocks of the doc, each with the untagged block that follows it, if one does. */
function readSteps(markdown: string): Step[] {
  const steps: Step[] = [];
  let section = '';
  let fence: { lang: string; lines: string[] } | undefined;
  let last: Step | undefined;
  for (const line of markdown.split('\n')) {
    if (fence === undefined) {
      if (line.startsWith('#')) section = line.replace(/^#+\s*/, '');
      const open = /^```(\w*)\s*$/.exec(line);
      if (open) fence = { lang: open[1] ?? '', lines: [] };
      // Prose between a command and its output is fine; another command is not.
      continue;
    }
    if (line.startsWith('```')) {
      const text = fence.lines.join('\n');
      if (fence.lang === 'sh') {
        last = { section, script: text, expected: undefined };
        steps.push(last);
      } else if (fence.lang === '' && last !== undefined && last.expected === undefined) {
        last.expected = text;
      }
      fence = undefined;
      continue;
    }
    fence.lines.push(line);
  }
  return steps;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once 127.0.0.1:port accepts a connection: a demo upstream started with `&` is up. */
async function listening(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The expected lines, in order, among the printed ones; the first one missing, or undefined. */
export function firstMissing(expected: string, printed: string): string | undefined {
  const lines = printed.split('\n').map((l) => l.replace(/\r$/, '').trimEnd());
  let at = 0;
  for (const want of expected.split('\n').map((l) => l.trimEnd())) {
    if (want.trim() === '') continue;
    const pattern = new RegExp(
      `^${want
        .split('…')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    const found = lines.findIndex((line, i) => i >= at && pattern.test(line));
    if (found === -1) return want;
    at = found + 1;
  }
  return undefined;
}

describe.skipIf(missing.length > 0)(`${DOC} walkthroughs`, () => {
  let vg: TestVaultgate;
  let bash: ChildProcessWithoutNullStreams;
  let work: string;
  let stdout = '';
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
    // A process group of its own, so the demo upstreams the doc starts with `&` end with it.
    bash = spawn('bash', ['--noprofile', '--norc'], { cwd: work, detached: true, env: { ...process.env } });
    bash.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  });

  afterAll(async () => {
    if (bash?.pid !== undefined) {
      try {
        process.kill(-bash.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await vg?.stop();
    // DOCS_KEEP=1 keeps the session's files (step-N.sh, step-N.out) for reading a failure.
    if (work && !process.env['DOCS_KEEP']) rmSync(work, { recursive: true, force: true });
    else if (work) process.stdout.write(`docs walkthrough files kept in ${work}\n`);
  });

  /** Runs one block in the session; its exit status and everything it printed. */
  const run = async (i: number, script: string): Promise<{ status: number; output: string }> => {
    writeFileSync(join(work, `step-${i}.sh`), `${script}\n`);
    const marker = `__step_${i}_done_`;
    const from = stdout.length;
    bash.stdin.write(`source step-${i}.sh > step-${i}.out 2>&1 < /dev/null; echo "${marker}$?"\n`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const m = new RegExp(`${marker}(\\d+)`).exec(stdout.slice(from));
      if (m) return { status: Number(m[1]), output: readFileSync(join(work, `step-${i}.out`), 'utf8') };
      if (Date.now() > deadline) throw new Error(`step ${i} did not finish within 60 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('every command succeeds and prints what the doc shows', { timeout: 240_000 }, async () => {
    const steps = readSteps(readFileSync(DOC, 'utf8'));
    const edit = (text: string): string =>
      text
        .replace('TOKEN=<admin token from the banner>', `TOKEN=${vg.token}`)
        .replace(/\b(9000|8443|9443|9444)\b/g, (p) => String(ports[p]));
    let ran = 0;
    for (const [i, step] of steps.entries()) {
      if (step.script.includes('node dist/src/main.js')) continue;
      const script = edit(step.script);
      const { status, output } = await run(i, script);
      const where = `${step.section}, block ${i + 1}:\n${script}\n--- printed:\n${output}`;
      expect(status, where).toBe(0);
      if (step.expected !== undefined)
        expect(firstMissing(edit(step.expected), output), where).toBeUndefined();
      // A demo upstream started in the background: wait until it listens, as the reader would.
      if (/&\s*$/m.test(script)) {
        for (const port of [ports['9443'], ports['9444']] as number[])
          if (script.includes(String(port))) await listening(port);
      }
      ran++;
    }
    expect(ran).toBeGreaterThan(10);
    // The custom hostnames walkthrough (issue 14) is among what ran.
    expect(steps.some((s) => s.section.startsWith('Custom hostnames'))).toBe(true);
  });
});
