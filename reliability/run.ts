/**
 * `npm run test:reliability [-- --quick | --full] [--only=a,b] [--name=value …]`
 *
 * Loads every module in reliability/scenarios/, runs them (see lib/runner.ts for the order), prints
 * one table of figures and writes reliability/results/latest.md and latest.json. Exit code 1 when a
 * target was missed. Tuning options are `--name=value` flags or RELIABILITY_NAME variables.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { killAllChildren, repoRoot } from './lib/child.js';
import { asScenario, renderTable, runScenarios } from './lib/runner.js';
import type { Mode, Scenario } from './lib/types.js';

function parseArgs(argv: string[]): { mode: Mode; only: string[] | null; options: Record<string, string> } {
  const options: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (k.startsWith('RELIABILITY_') && v !== undefined)
      options[k.slice(12).toLowerCase().replace(/_/g, '-')] = v;
  let mode: Mode = 'full';
  let only: string[] | null = null;
  for (const arg of argv) {
    if (arg === '--quick') mode = 'quick';
    else if (arg === '--full') mode = 'full';
    else if (arg.startsWith('--only=')) only = arg.slice(7).split(',');
    else if (/^--[\w-]+=/.test(arg)) {
      const eq = arg.indexOf('=');
      options[arg.slice(2, eq)] = arg.slice(eq + 1);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return { mode, only, options };
}

/**
 * A module either exports `scenario` (a Scenario), or a `run` (or default) function that takes the
 * context — which also carries `quick: boolean` — and returns one or more rows; its name is the file's.
 */
async function loadScenarios(): Promise<Scenario[]> {
  const dir = join(import.meta.dirname, 'scenarios');
  const out: Scenario[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.js')) continue;
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;
    const scenario = asScenario(file.slice(0, -3), mod);
    if (scenario === undefined)
      throw new Error(`${file} exports neither \`scenario\` nor a \`run\` function`);
    out.push(scenario);
  }
  return out;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    killAllChildren();
    process.exit(130);
  });
const { mode, only, options } = parseArgs(process.argv.slice(2));
let scenarios = await loadScenarios();
if (only !== null) scenarios = scenarios.filter((s) => only.includes(s.name));
const run = await runScenarios(scenarios, mode, options);
const table = renderTable(run);
process.stdout.write('\n' + table);
const results = join(repoRoot(), 'reliability/results');
mkdirSync(results, { recursive: true });
const command = `npm run test:reliability -- ${process.argv.slice(2).join(' ')}`.trim();
writeFileSync(
  join(results, 'latest.md'),
  `# Latest reliability figures\n\nCommand: \`${command}\`\n\n${table}`,
);
writeFileSync(join(results, 'latest.json'), JSON.stringify({ command, ...run }, null, 2) + '\n');
process.stderr.write(`written ${join(results, 'latest.md')}\n`);
process.exit(run.pass ? 0 : 1);
