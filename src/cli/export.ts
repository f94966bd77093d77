import type { CliContext } from './index.js';

/** `vaultgate export …` (SPEC §2 "Command line and declarative configuration"): built in issue 18. */
export const EXPORT_HELP = 'usage: vaultgate export …\n';

export function exportCommand(_args: string[], ctx: CliContext): Promise<number> {
  ctx.stderr.write('error: not_implemented: vaultgate export is not built yet.\n');
  return Promise.resolve(2);
}
