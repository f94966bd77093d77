// `npm start` without a compile on every start: builds dist/ only when it is missing or older than
// what it is built from (the sources, the dashboard, the compiler settings, the lockfile), as make
// would. Plain JavaScript so that it runs before anything is compiled.
//
// `--clean` (npm pack's prepack) always builds, from an empty dist/src and dist/web: tsc never removes
// the output of a source that was deleted or renamed, and a release must not ship such leftovers.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const STAMP = 'dist/.build-stamp';
const INPUTS = ['src', 'web', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];

/** The newest modification time under a file or directory. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let max = stat.mtimeMs;
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

const clean = process.argv.includes('--clean');
if (clean) for (const dir of ['dist/src', 'dist/web', STAMP]) rmSync(dir, { recursive: true, force: true });
const built = existsSync(STAMP) && existsSync('dist/src/main.js') ? statSync(STAMP).mtimeMs : -1;
const sources = Math.max(...INPUTS.map(newest));
if (built < sources) {
  process.stderr.write(
    clean
      ? '[ensure-build] compiling vaultgate from scratch for the package…\n'
      : '[ensure-build] compiling vaultgate (sources changed since the last build)…\n',
  );
  execSync('npm run build --silent', { stdio: 'inherit' });
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  // Never older than what it was built from, even if a source carries a future time (a clock skew).
  // (+1 ms: file times are kept finer than a millisecond, and rounding must not put it just before.)
  const at = (Math.max(Date.now(), sources) + 1) / 1000;
  utimesSync(STAMP, at, at);
}
