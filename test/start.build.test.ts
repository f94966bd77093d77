/**
 * `npm start` compiles only when dist/ is missing or older than its sources (scripts/ensure-build.js),
 * checked on a throwaway project whose "build" script records that it ran.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '..', 'scripts', 'ensure-build.js');
const dir = mkdtempSync(join(tmpdir(), 'vaultgate-ensure-build-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ensureBuild(): number {
  execFileSync(process.execPath, [SCRIPT], { cwd: dir, stdio: 'pipe' });
  return readFileSync(join(dir, 'builds.log'), 'utf8').split('\n').filter(Boolean).length;
}

describe('npm start without a rebuild', () => {
  it('builds once, then only after a source changes', () => {
    const build =
      "require('fs').mkdirSync('dist/src',{recursive:true});require('fs').writeFileSync('dist/src/main.js','');require('fs').appendFileSync('builds.log','built\\n')";
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'fixture', scripts: { build: `node -e "${build}"` } }),
    );
    mkdirSync(join(dir, 'src'));
    const source = join(dir, 'src', 'main.ts');
    writeFileSync(source, 'export {};\n');
    const past = new Date(Date.now() - 3_600_000);
    utimesSync(source, past, past);
    utimesSync(join(dir, 'package.json'), past, past);
    utimesSync(join(dir, 'src'), past, past);
    writeFileSync(join(dir, 'builds.log'), '');

    expect(ensureBuild()).toBe(1);
    expect(ensureBuild()).toBe(1);
    const future = new Date(Date.now() + 3_600_000);
    utimesSync(source, future, future);
    expect(ensureBuild()).toBe(2);
    expect(ensureBuild()).toBe(2);
  });
});
