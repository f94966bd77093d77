/**
 * Runs scenarios in order (the `last` ones at the end), turns a scenario that throws into a failed
 * row instead of stopping the run, and renders the one table of figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Evidence } from './evidence.js';
import type { Mode, RunContext, Scenario, ScenarioResult } from './types.js';

/** The order of the table; scenarios not listed run after these, alphabetically, then the `last` ones. */
export const ORDER = [
  'cert-churn',
  'shutdown',
  'crash',
  'upstream-faults',
  'client-abuse',
  'auth-abuse',
  'fuzz',
  'event-loop',
  'resource-flood',
  'soak',
  'secrets',
];

export interface RunOutcome {
  mode: Mode;
  startedAt: string;
  seconds: number;
  results: (ScenarioResult & { scenario: string; seconds: number })[];
  pass: boolean;
}

type RunFunction = (ctx: RunContext & { quick: boolean }) => Promise<ScenarioResult | ScenarioResult[]>;

/** The scenario a module describes: its `scenario` export, or its `run`/default function named after the file. */
export function asScenario(name: string, mod: Record<string, unknown>): Scenario | undefined {
  if (typeof mod['scenario'] === 'object' && mod['scenario'] !== null) return mod['scenario'] as Scenario;
  const fn = (typeof mod['run'] === 'function' ? mod['run'] : mod['default']) as RunFunction | undefined;
  if (typeof fn !== 'function') return undefined;
  return { name, run: (ctx) => fn({ ...ctx, quick: ctx.mode === 'quick' }) };
}

export function ordered(scenarios: Scenario[]): Scenario[] {
  const rank = (s: Scenario): number => {
    const i = ORDER.indexOf(s.name);
    return (s.last === true ? 1000 : 0) + (i === -1 ? ORDER.length - 1 : i);
  };
  return [...scenarios].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

export async function runScenarios(
  scenarios: Scenario[],
  mode: Mode,
  options: Record<string, string> = {},
  log: (message: string) => void = (m) => process.stderr.write(m + '\n'),
): Promise<RunOutcome> {
  const dirs: string[] = [];
  const ctx: RunContext = {
    mode,
    evidence: new Evidence(),
    options,
    log,
    tempDir(prefix) {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
  };
  const started = Date.now();
  const results: RunOutcome['results'] = [];
  try {
    for (const scenario of ordered(scenarios)) {
      if (scenario.fullOnly === true && mode !== 'full') continue;
      const t0 = Date.now();
      log(`▶ ${scenario.name}`);
      let rows: ScenarioResult[];
      try {
        const out = await scenario.run(ctx);
        rows = (Array.isArray(out) ? out : [out]).map(withFailures);
      } catch (err) {
        rows = [
          {
            name: scenario.name,
            figures: { error: (err as Error).stack?.split('\n').slice(0, 3).join(' ') ?? String(err) },
            target: 'runs to completion',
            pass: false,
          },
        ];
      }
      const seconds = Math.round((Date.now() - t0) / 100) / 10;
      for (const row of rows) results.push({ ...row, scenario: scenario.name, seconds });
      log(`${rows.every((r) => r.pass) ? '✔' : '✘'} ${scenario.name} (${seconds} s)`);
    }
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
  return {
    mode,
    startedAt: new Date(started).toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
    results,
    pass: results.every((r) => r.pass),
  };
}

/** Rows may list the checks that failed (`failures: string[]`); the table shows them as a figure. */
function withFailures(row: ScenarioResult & { failures?: unknown }): ScenarioResult {
  const { failures, ...rest } = row;
  if (!Array.isArray(failures) || failures.length === 0) return rest;
  return { ...rest, figures: { ...rest.figures, 'failed checks': failures.map(String).join('; ') } };
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The table as Markdown: one row per result, figures as `key: value` lines. */
export function renderTable(run: RunOutcome): string {
  const lines = [
    `Reliability run (${run.mode}), started ${run.startedAt}, ${run.seconds} s in total, ${run.pass ? 'all targets met' : 'SOME TARGETS MISSED'}.`,
    '',
    '| scenario | figures | target | result | time |',
    '|---|---|---|---|---|',
  ];
  for (const r of run.results) {
    const figures = Object.entries(r.figures)
      .map(([k, v]) => `${k}: **${v}**`)
      .join('<br>');
    lines.push(
      `| ${cell(r.name)} | ${cell(figures)} | ${cell(r.target)} | ${r.pass ? 'pass' : 'FAIL'} | ${r.seconds} s |`,
    );
  }
  return lines.join('\n') + '\n';
}
