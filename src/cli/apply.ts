import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { FileRefusedError, readSource } from '../declarative/source.js';
import {
  ForeignRouteError,
  PartialApplyError,
  planVgsApply,
  runPlan,
  type Plan,
} from '../declarative/sync.js';
import { planVaultApply, type FileReader } from '../declarative/vault-sync.js';
import { parseVaultFile } from '../declarative/vault-file.js';
import { looksLikeVgs, parseVgsRoutes } from '../declarative/vgs.js';
import { ApiError } from './api-client.js';
import type { CliContext } from './index.js';

/** `vaultgate apply …` (SPEC §2 "Command line and declarative configuration"; docs/declarative.md). */
export const APPLY_HELP = `usage: vaultgate apply -f FILE --vault ID [--dry-run]

Makes a vault match a YAML file (docs/declarative.md): VGS route YAML (a top-level "data:" list, as
\`vgs routes get\` writes it) creates or replaces routes by id; a whole-vault file (vaultgate export)
also carries credentials, certificates and hostnames. Nothing in the vault that the file does not
mention is deleted. Applying the same file again changes nothing ("0 changed").

  -f FILE, --file FILE   the YAML file ("-" reads stdin); cert_file/key_file paths in it are
                         relative to its folder
  --vault ID             the vault to change (required)
  --dry-run              print what would change and change nothing

A file with anything vaultgate cannot honour (route filters in "entries", unknown attributes) is
refused whole before anything changes, naming the route and the line.
Exit codes: 0 done, 1 the API refused (what was and was not applied is printed), 2 bad usage or a
refused file.
`;

interface ApplyArgs {
  file: string;
  vault: string;
  dryRun: boolean;
}

function readArgs(args: readonly string[]): ApplyArgs | string {
  let file: string | undefined;
  let vault: string | undefined;
  let dryRun = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '-f' || arg === '--file') file = args[++i];
    else if (arg === '--vault') vault = args[++i];
    else if (arg === '--dry-run') dryRun = true;
    else return `unknown argument "${arg}"`;
  }
  if (!file) return '-f FILE is required';
  if (!vault) return '--vault ID is required';
  return { file, vault, dryRun };
}

function readInput(file: string, ctx: CliContext): Promise<string> {
  if (file !== '-') return Promise.resolve(readFileSync(file, 'utf8'));
  return new Promise((resolve, reject) => {
    let text = '';
    ctx.stdin.setEncoding('utf8');
    ctx.stdin.on('data', (d: string) => (text += d));
    ctx.stdin.on('end', () => resolve(text));
    ctx.stdin.on('error', reject);
  });
}

/** Files a vault file refers to, relative to its folder (the working directory for stdin). */
function fileReader(file: string): FileReader {
  const base = file === '-' ? process.cwd() : dirname(file);
  const resolve = (p: string): string => (isAbsolute(p) ? p : join(base, p));
  return {
    read(p) {
      try {
        return readFileSync(resolve(p), 'utf8');
      } catch {
        return undefined;
      }
    },
    show: (p) => relative(process.cwd(), resolve(p)) || '.',
  };
}

export async function applyCommand(args: string[], ctx: CliContext): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    ctx.stdout.write(APPLY_HELP);
    return 0;
  }
  const parsed = readArgs(args);
  if (typeof parsed === 'string') {
    ctx.stderr.write(`error: usage: ${parsed}; run vaultgate apply --help.\n`);
    return 2;
  }
  const name = parsed.file === '-' ? 'stdin' : parsed.file;
  let text: string;
  try {
    text = await readInput(parsed.file, ctx);
  } catch (err) {
    ctx.stderr.write(`error: usage: cannot read ${name}: ${(err as Error).message}\n`);
    return 2;
  }
  const print = (line: string): void => void ctx.stdout.write(`${line}\n`);
  try {
    const vgs = looksLikeVgs(readSource(text).value);
    const api = ctx.client();
    const plan: Plan = vgs
      ? await planVgsApply(api, parsed.vault, parseVgsRoutes(text))
      : await planVaultApply(api, parsed.vault, parseVaultFile(text), fileReader(parsed.file));
    const changes = plan.lines.filter((l) => !l.startsWith('='));
    if (parsed.dryRun) {
      for (const line of plan.lines) print(line);
      print(
        `dry run: ${plan.steps.length} to change, ${plan.unchanged} unchanged${plan.notCarried.length ? `, ${plan.notCarried.length} not carried` : ''}; nothing was changed`,
      );
      return 0;
    }
    for (const line of changes) print(line);
    await runPlan(plan, print);
    print(
      `${plan.steps.length} changed, ${plan.unchanged} unchanged${plan.notCarried.length ? `, ${plan.notCarried.length} not carried (see the "!" lines above)` : ''}`,
    );
    return 0;
  } catch (err) {
    if (err instanceof FileRefusedError) {
      ctx.stderr.write(`error: file_refused: ${name} was refused whole; nothing was applied:\n`);
      for (const p of err.problems) {
        ctx.stderr.write(`  ${name}:${p.line}: ${p.item ? `${p.item}: ` : ''}${p.message}\n`);
      }
      return 2;
    }
    if (err instanceof ForeignRouteError) {
      ctx.stderr.write(`error: invalid_field: ${err.message}\n`);
      return 1;
    }
    if (err instanceof PartialApplyError) {
      const cause = err.failure;
      const code = cause instanceof ApiError ? cause.code : 'error';
      ctx.stderr.write(`error: ${code}: ${err.message}\n`);
      ctx.stderr.write(`applied (${err.applied.length}):${err.applied.map((l) => `\n  ${l}`).join('')}\n`);
      ctx.stderr.write(
        `not applied (${err.notApplied.length}):${err.notApplied.map((l) => `\n  ${l}`).join('')}\n`,
      );
      return 1;
    }
    if (err instanceof ApiError) {
      ctx.stderr.write(`error: ${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
