/**
 * Reads a Prometheus text exposition (what GET /metrics answers) into samples, the way a scraper
 * would, so tests can assert on values by name and labels; `promtool` is what checks its syntax.
 */
import { spawnSync } from 'node:child_process';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  text: string;
  samples: Sample[];
  /** Family names with their `# TYPE` (a histogram's samples are `<name>_bucket|_sum|_count`). */
  types: Map<string, string>;
  /** The sum of the samples named `name` whose labels include all of `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
  /** The samples named `name` whose labels include all of `labels`. */
  find(name: string, labels?: Record<string, string>): Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseScrape(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice('# TYPE '.length).split(' ');
      types.set(name as string, type as string);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL))
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, '$1');
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  const find = (name: string, labels: Record<string, string> = {}): Sample[] =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return {
    text,
    samples,
    types,
    find,
    sum: (name, labels) => find(name, labels).reduce((a, s) => a + s.value, 0),
  };
}

/** Runs promtool (Debian's `prometheus` package; `node scripts/ensure-deps.js --test` installs it). */
export function promtool(args: string[], input?: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { input, encoding: 'utf8' });
  if (run.error)
    throw new Error(`promtool: ${run.error.message} (node scripts/ensure-deps.js --test installs it)`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
