import type { CliContext } from './index.js';

/** `vaultgate apply …` (SPEC §2 "Command line and declarative configuration"): built in issue 18. */
export const APPLY_HELP = 'usage: vaultgate apply …\n';

export function applyCommand(_args: string[], ctx: CliContext): Promise<number> {
  ctx.stderr.write('error: not_implemented: vaultgate apply is not built yet.\n');
  return Promise.resolve(2);
}
