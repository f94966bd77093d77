import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Builds dist/ once before the suite: process-level tests start the real `vaultgate` entry point as a
 * child (exit codes, signals, kill -9), and the dashboard tests need the compiled web assets.
 * Type errors are the typecheck step's business (tsc still emits), so only a missing output fails here.
 */
export default function setup(): void {
  const steps: [string, string[]][] = [
    ['npx', ['tsc', '-p', 'tsconfig.build.json']],
    ['npx', ['tsc', '-p', 'web/tsconfig.json']],
    ['node', ['scripts/copy-web.js']],
  ];
  for (const [cmd, args] of steps) {
    try {
      execFileSync(cmd, args, { stdio: 'pipe' });
    } catch (err) {
      process.stderr.write(
        `build step "${cmd} ${args.join(' ')}" reported errors:\n${String((err as { stdout?: Buffer }).stdout ?? '')}\n`,
      );
    }
  }
  if (!existsSync('dist/src/main.js') || !existsSync('dist/web/index.html'))
    throw new Error('the build produced no dist/');
}
