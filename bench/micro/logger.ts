/**
 * The cost of a request log line (docs/performance.md "Logging"): 100,000 lines shaped like the
 * inbound proxy's `inbound request` line, through a logger module, into /dev/null and into a pipe
 * that this process reads.
 *
 *   npm run build && npx tsc -p tsconfig.bench.json
 *   node dist/bench/micro/logger.js                      # the logger in dist/ (pino)
 *   node dist/bench/micro/logger.js --baseline b9f8518   # … and the hand-written one it replaced
 *
 * It also prices pino's redaction: the same line into a no-op sink through pino without redaction,
 * through vaultgate's logger (explicit paths) and through pino with `*.name` paths (any key, one down).
 *
 * Each measurement runs in a child process of its own, whose stdout is the destination, because
 * that is what a logger writes to. The lines go out in chunks of 1,000 with a turn of the event loop
 * between chunks, as requests would. The child reports, on its IPC channel:
 * - loop_ns: event-loop time per line, the time the log calls themselves took (what a request pays):
 *   the fastest chunk, the figure least disturbed by other processes; and the median chunk;
 * - cpu_ns: CPU time of the whole process per line (the threads that write included), until written;
 * - written_ns: wall time per line until every byte was handed to the destination.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const LINES = 100_000;
const CHUNK = 1_000;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface RequestLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): RequestLog;
}

interface LoggerModule {
  createLogger(level: 'info', base?: Record<string, unknown>): RequestLog;
  flushLogs?: () => Promise<void>;
}

interface Figures {
  loop_ns: number;
  loop_median_ns: number;
  cpu_ns: number;
  written_ns: number;
}

function requestFields(i: number): Record<string, unknown> {
  return {
    request_id: `0190d7c2-8f4e-7a51-b6de-${String(i).padStart(12, '0')}`,
    vault_id: 'tntbn5dxkq7',
    hostname_id: undefined,
    route_id: 'rt_01J8X3W4Z5Y6',
    method: 'GET',
    status: 200,
    upstream_status: 200,
    error: undefined,
    certificate_id: 'crt_01J8X3W4Z5Y7',
    duration_ms: 3,
  };
}

/** Until what was logged is on the destination: pino's flush, or the end of process.stdout's queue. */
function written(mod: LoggerModule): Promise<void> {
  if (mod.flushLogs) return mod.flushLogs();
  return new Promise((r) => process.stdout.write('', () => r()));
}

async function child(modulePath: string): Promise<void> {
  const mod = (await import(pathToFileURL(modulePath).href)) as LoggerModule;
  const log = mod.createLogger('info', { worker: 1 }).child({ component: 'inbound' });
  for (let i = 0; i < 20_000; i++) log.info('inbound request', requestFields(i)); // warm-up
  await written(mod);

  const chunks: number[] = [];
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let c = 0; c < LINES / CHUNK; c++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < CHUNK; i++) log.info('inbound request', requestFields(c * CHUNK + i));
    chunks.push(Number(process.hrtime.bigint() - t) / CHUNK);
    // A turn of the loop between chunks, as between requests: pending writes complete.
    await new Promise((r) => setImmediate(r));
  }
  await written(mod);
  const wall = Number(process.hrtime.bigint() - start);
  const used = process.cpuUsage(cpu);
  chunks.sort((a, b) => a - b);
  const figures: Figures = {
    loop_ns: chunks[0] as number,
    loop_median_ns: chunks[Math.floor(chunks.length / 2)] as number,
    cpu_ns: ((used.user + used.system) * 1000) / LINES,
    written_ns: wall / LINES,
  };
  process.send?.(figures);
}

function measure(modulePath: string, into: 'devnull' | 'pipe'): Promise<Figures> {
  const stdout = into === 'devnull' ? openSync('/dev/null', 'w') : 'pipe';
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', modulePath], {
    stdio: ['ignore', stdout, 'inherit', 'ipc'],
  });
  proc.stdout?.resume(); // the pipe is read as fast as it comes, as a log shipper would
  return new Promise((resolveFigures, reject) => {
    let figures: Figures | undefined;
    proc.on('message', (m: Figures) => (figures = m));
    proc.on('exit', (code) =>
      figures ? resolveFigures(figures) : reject(new Error(`child exited ${code}`)),
    );
  });
}

/** The logger module of an older commit, compiled alone (it imports nothing but types). */
function baselineModule(commit: string, dir: string): string {
  const source = spawnSync('git', ['show', `${commit}:src/observability/logger.ts`], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (source.status !== 0) throw new Error(`git show ${commit}: ${source.stderr}`);
  const ts = spawnSync(
    process.execPath,
    [
      '-e',
      `const ts=require('typescript');process.stdout.write(ts.transpileModule(require('fs').readFileSync(0,'utf8'),{compilerOptions:{module:ts.ModuleKind.ESNext,target:ts.ScriptTarget.ES2022}}).outputText)`,
    ],
    { cwd: ROOT, input: source.stdout, encoding: 'utf8' },
  );
  if (ts.status !== 0) throw new Error(`transpile: ${ts.stderr}`);
  const file = join(dir, 'logger.mjs');
  writeFileSync(file, ts.stdout);
  return file;
}

/** ns per line of the fastest of 10 chunks of 1,000 lines through `log`. */
function fastest(log: (i: number) => void): number {
  for (let i = 0; i < 5_000; i++) log(i);
  let best = Infinity;
  for (let c = 0; c < 10; c++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < CHUNK; i++) log(c * CHUNK + i);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / CHUNK);
  }
  return best;
}

async function redactionRows(): Promise<string[]> {
  const { pino } = await import('pino');
  const current = (await import(pathToFileURL(join(ROOT, 'dist/src/observability/logger.js')).href)) as {
    SECRET_FIELDS: readonly string[];
    createLogger(level: 'info', base: object, write: (line: string) => void): RequestLog;
  };
  const quoted = (n: string): string => (/^\w+$/.test(n) ? n : `["${n}"]`);
  const wildcards = current.SECRET_FIELDS.map((n) => (/^\w+$/.test(n) ? `*.${n}` : `*${quoted(n)}`));
  const plain = pino({}, { write: () => undefined });
  const ours = current.createLogger('info', {}, () => undefined);
  const wild = pino({ redact: wildcards }, { write: () => undefined });
  return [
    `| pino, no redaction | ${ns(fastest((i) => plain.info(requestFields(i), 'inbound request')))} |`,
    `| vaultgate's logger (its paths, key-material check, ISO time) | ${ns(fastest((i) => ours.info('inbound request', requestFields(i))))} |`,
    `| pino, ${wildcards.length} \`*.name\` paths | ${ns(fastest((i) => wild.info(requestFields(i), 'inbound request')))} |`,
  ];
}

const ns = (n: number): string => `${Math.round(n).toLocaleString('en')} ns`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1] as string);
  const dir = mkdtempSync(join(tmpdir(), 'vaultgate-logger-bench-'));
  try {
    const modules: [string, string][] = [];
    const at = args.indexOf('--baseline');
    if (at >= 0) modules.push([`baseline ${args[at + 1]}`, baselineModule(args[at + 1] as string, dir)]);
    modules.push(['current (dist/)', join(ROOT, 'dist/src/observability/logger.js')]);
    const rows: string[] = [
      '| logger | destination | event loop per line (fastest / median chunk) | CPU per line | wall until written, per line |',
      '|---|---|---|---|---|',
    ];
    for (const [name, path] of modules)
      for (const into of ['devnull', 'pipe'] as const) {
        const f = await measure(path, into);
        rows.push(
          `| ${name} | ${into === 'devnull' ? '/dev/null' : 'pipe'} | ${ns(f.loop_ns)} / ${ns(f.loop_median_ns)} | ${ns(f.cpu_ns)} | ${ns(f.written_ns)} |`,
        );
      }
    process.stdout.write(`${LINES.toLocaleString('en')} request lines each\n\n${rows.join('\n')}\n\n`);
    const redaction = [
      '| redaction | event loop per line (fastest chunk) |',
      '|---|---|',
      ...(await redactionRows()),
    ];
    process.stdout.write(`${redaction.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
