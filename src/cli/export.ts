import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportVault, exportVgs } from '../declarative/export.js';
import { ApiError } from './api-client.js';
import type { CliContext } from './index.js';

/** `vaultgate export …` (SPEC §2 "Command line and declarative configuration"; docs/declarative.md). */
export const EXPORT_HELP = `usage: vaultgate export --vault ID [--format vault|vgs] [--out-dir DIR]

Writes a vault's configuration as YAML (docs/declarative.md).

  --vault ID        the vault to export (required)
  --format vgs      its routes as VGS route YAML, the file \`vgs routes get\` writes
  --format vault    (default) the whole vault: routes, credentials (no passwords), certificates and
                    hostnames (metadata, with cert_file/key_file paths for apply)
  --out-dir DIR     write DIR/vault.yaml (or DIR/routes.yaml) and the public certificate chains
                    under DIR instead of printing the YAML; private keys are never exported

Without --out-dir the YAML goes to stdout. Exit codes: 0 done, 1 the API refused, 2 bad usage.
`;

interface ExportArgs {
  vault: string;
  format: 'vault' | 'vgs';
  outDir?: string;
}

function readArgs(args: readonly string[]): ExportArgs | string {
  let vault: string | undefined;
  let format: ExportArgs['format'] = 'vault';
  let outDir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = (): string | undefined => args[++i];
    if (arg === '--vault') vault = value();
    else if (arg === '--format') {
      const f = value();
      if (f !== 'vgs' && f !== 'vault') return `--format is "vgs" or "vault", not "${f ?? ''}"`;
      format = f;
    } else if (arg === '--out-dir') outDir = value();
    else return `unknown argument "${arg}"`;
  }
  if (!vault) return '--vault ID is required';
  return { vault, format, ...(outDir ? { outDir } : {}) };
}

export async function exportCommand(args: string[], ctx: CliContext): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    ctx.stdout.write(EXPORT_HELP);
    return 0;
  }
  const parsed = readArgs(args);
  if (typeof parsed === 'string') {
    ctx.stderr.write(`error: usage: ${parsed}; run vaultgate export --help.\n`);
    return 2;
  }
  try {
    const api = ctx.client();
    const out =
      parsed.format === 'vgs'
        ? { yaml: await exportVgs(api, parsed.vault), files: [], keyFiles: [] }
        : await exportVault(api, parsed.vault);
    if (parsed.outDir === undefined) {
      ctx.stdout.write(out.yaml);
      if (out.files.length > 0) {
        ctx.stderr.write(
          `note: ${out.files.length} certificate chain(s) are referred to by cert_file but not written; run with --out-dir DIR to write them.\n`,
        );
      }
      return 0;
    }
    const main = join(parsed.outDir, parsed.format === 'vgs' ? 'routes.yaml' : 'vault.yaml');
    for (const f of out.files) {
      mkdirSync(join(parsed.outDir, f.path, '..'), { recursive: true });
      writeFileSync(join(parsed.outDir, f.path), f.text);
    }
    mkdirSync(parsed.outDir, { recursive: true });
    writeFileSync(main, out.yaml);
    ctx.stdout.write(`wrote ${main} and ${out.files.length} certificate chain(s)\n`);
    if (out.keyFiles.length > 0) {
      ctx.stdout.write(
        `before apply, put the private keys you hold at (relative to ${parsed.outDir}):\n${out.keyFiles.map((k) => `  ${k}\n`).join('')}`,
      );
    }
    return 0;
  } catch (err) {
    if (err instanceof ApiError) {
      ctx.stderr.write(`error: ${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
