/**
 * Running a Markdown document's shell walkthrough as a reader would: its shell blocks in order, in
 * one bash session (variables and files carry over, as in the reader's terminal), each checked for
 * its exit status and for what the document says it prints. Used by the tests of docs/inbound.md and
 * README.md.
 *
 * The document's conventions:
 * - A shell block is a fence with the info string `sh`, `bash`, `shell` or `console`.
 * - An untagged fence after a shell block (prose between them is fine, another command is not) is
 *   what that block prints: its non-empty lines must appear among the printed ones, in order, each
 *   equal to a printed line (trailing spaces ignored; `…` stands for any text within the line).
 * - `<!-- not run: <reason> -->` on the line before a shell block (blank lines between are fine)
 *   says a test does not run it, and why.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { delimiter, join } from 'node:path';
import { expect } from 'vitest';

export interface Step {
  /** The heading the block is under, for failure messages. */
  section: string;
  /** 1-based line of the opening fence in the document. */
  line: number;
  script: string;
  /** What the block prints, from the untagged block that follows it. */
  expected: string | undefined;
  /** The reason given by a `<!-- not run: … -->` marker before the block. */
  notRun: string | undefined;
}

const SHELL = new Set(['sh', 'bash', 'shell', 'console']);
const NOT_RUN = /^<!--\s*not run:\s*(.*?)\s*-->$/;

/** The shell blocks of a Markdown document, each with the output block that follows it. */
export function readSteps(markdown: string): Step[] {
  const steps: Step[] = [];
  let section = '';
  let fence: { lang: string; line: number; lines: string[] } | undefined;
  let last: Step | undefined;
  let notRun: string | undefined;
  for (const [n, line] of markdown.split('\n').entries()) {
    if (fence === undefined) {
      if (line.startsWith('#')) section = line.replace(/^#+\s*/, '');
      const open = /^```(\w*)\s*$/.exec(line);
      if (open) fence = { lang: open[1] ?? '', line: n + 1, lines: [] };
      else if (line.trim() !== '') notRun = NOT_RUN.exec(line.trim())?.[1];
      continue;
    }
    if (line.startsWith('```')) {
      const text = fence.lines.join('\n');
      if (SHELL.has(fence.lang)) {
        last = { section, line: fence.line, script: text, expected: undefined, notRun };
        steps.push(last);
      } else if (fence.lang === '' && last !== undefined && last.expected === undefined) {
        last.expected = text;
      }
      fence = undefined;
      notRun = undefined;
      continue;
    }
    fence.lines.push(line);
  }
  return steps;
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

export function freePort(): Promise<number> {
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
export async function listening(port: number, timeoutMs = 15_000): Promise<void> {
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

/**
 * The environment of a fresh terminal: PATH (without the node_modules/.bin entries npm and vitest
 * add) and HOME (the session's directory, so no ~/.curlrc or the like applies). Nothing else.
 */
export function freshEnv(home: string): Record<string, string> {
  const path = (process.env['PATH'] ?? '/usr/bin:/bin')
    .split(delimiter)
    .filter((dir) => !dir.includes('node_modules'))
    .join(delimiter);
  return { PATH: path, HOME: home, LANG: 'C.UTF-8' };
}

export interface BashSession {
  /**
   * Runs one block in the session; its exit status and everything it printed (stdout and stderr).
   * A failing command ends the session (`-e`), and its status is the one returned.
   */
  run(name: string, script: string): Promise<{ status: number; output: string }>;
  /** Ends the session and everything it started (its process group). */
  stop(): void;
}

/**
 * One `bash -euo pipefail` in `dir` with `env`, fed block after block on stdin. It leads a process
 * group of its own, so the demo upstreams a walkthrough starts with `&` end with it. Each block is
 * written to `<name>.sh` and prints into `<name>.out` in `dir`.
 */
export function startBashSession(dir: string, env: Record<string, string>): BashSession {
  const bash: ChildProcessWithoutNullStreams = spawn('bash', ['--noprofile', '--norc', '-euo', 'pipefail'], {
    cwd: dir,
    env,
    detached: true,
  });
  let stdout = '';
  let exitStatus: number | undefined;
  bash.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number>((resolve) =>
    bash.once('exit', (code) => {
      exitStatus = code ?? 128;
      resolve(exitStatus);
    }),
  );
  const output = (name: string): string => {
    try {
      return readFileSync(join(dir, `${name}.out`), 'utf8');
    } catch {
      return '';
    }
  };
  return {
    async run(name, script) {
      if (exitStatus !== undefined) throw new Error(`the session already ended with ${exitStatus}`);
      // Absolute paths: a block may change the session's directory.
      const file = join(dir, name);
      writeFileSync(`${file}.sh`, `${script}\n`);
      const marker = `__${name}_done__`;
      const from = stdout.length;
      const done = new Promise<void>((resolve) => {
        const check = (): void => {
          if (!stdout.includes(marker, from)) return;
          bash.stdout.off('data', check);
          resolve();
        };
        bash.stdout.on('data', check);
      });
      bash.stdin.write(`source '${file}.sh' > '${file}.out' 2>&1 < /dev/null; echo ${marker}\n`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} did not finish within 60 s`)), 60_000);
      });
      try {
        const status = await Promise.race([done.then(() => 0), exited, timeout]);
        return { status, output: output(name) };
      } finally {
        clearTimeout(timer);
      }
    },
    stop() {
      if (bash.pid === undefined) return;
      try {
        process.kill(-bash.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    },
  };
}

/**
 * Runs `steps` in order in `session`, as the reader would: `edit` (the test's only edits: ports,
 * placeholders) applied to each block and to its output block; each must exit 0 and print what the
 * document shows. After a block that starts a demo upstream with `&`, waits until every port of
 * `upstreamPorts` named in it listens, as the reader would before going on. Returns how many ran.
 */
export async function runSteps(
  session: BashSession,
  steps: Step[],
  options: { name: string; edit: (text: string) => string; upstreamPorts: number[] },
): Promise<number> {
  let ran = 0;
  for (const [i, step] of steps.entries()) {
    const script = options.edit(step.script);
    const { status, output } = await session.run(`${options.name}-${i}`, script);
    const where = `${step.section}, block at line ${step.line}:\n${script}\n--- printed:\n${output}`;
    expect(status, where).toBe(0);
    if (step.expected !== undefined)
      expect(firstMissing(options.edit(step.expected), output), where).toBeUndefined();
    if (/&\s*$/m.test(script)) {
      for (const port of options.upstreamPorts) if (script.includes(String(port))) await listening(port);
    }
    ran++;
  }
  return ran;
}
