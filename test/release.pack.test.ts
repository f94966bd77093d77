/**
 * SLOW (about 3 minutes on an idle 2-core machine, 19 at load 17; most of it is better-sqlite3
 * compiling its native module, 2 CPU-minutes, as it does for a user without a prebuilt binary): the
 * release as users get it. `npm pack` in a copy of the checkout
 * (its prepack builds dist/ from scratch), `deploy/docker-install.sh` — the one `npm install` of the
 * tarball, into a fresh prefix outside the source tree, dependencies from the npm registry — then:
 *   - `npx vaultgate` there on a fresh data dir, the API once, SIGTERM;
 *   - the Docker image's start step: its ENV, CMD and HEALTHCHECK taken from deploy/Dockerfile;
 *   - the systemd unit: `systemd-analyze verify` and `security`, and its ExecStart with its
 *     environment, stopped as KillMode=mixed stops it.
 * One install serves all three (a second would compile better-sqlite3 again). Every step has its own
 * time limit. No container engine or systemd manager runs here: the image is not built and the
 * unit's sandboxing is checked, not exercised (docs/operations.md says what each one does).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const work = mkdtempSync(join(tmpdir(), 'vaultgate-release-'));
/** Where the package is installed: /opt/vaultgate in the image and in the unit. */
const PREFIX = join(work, 'opt-vaultgate');
const MINUTE = 60_000;

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) killTree(c.pid!, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** The environment of a fresh shell: no VAULTGATE_* or npm_* setting of the test run leaks in. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('VAULTGATE_') && !k.toLowerCase().startsWith('npm_')) env[k] = v;
  }
  return { ...env, ...extra };
}

const FREE_PORTS = {
  VAULTGATE_ADMIN_PORT: '0',
  VAULTGATE_INBOUND_PORT: '0',
  VAULTGATE_OUTBOUND_PORT: '0',
  VAULTGATE_OUTBOUND_TLS_PORT: '0',
};

/** Runs a command to completion within `timeout`; its output in the error when it fails. */
function sh(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeout: number },
) {
  try {
    return execFileSync(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? cleanEnv(),
      timeout: opts.timeout,
      encoding: 'utf8',
      stdio: 'pipe',
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; signal?: string };
    throw new Error(
      `${cmd} ${args.join(' ')} failed${e.signal ? ` (${e.signal}: time limit)` : ''}:\n${e.stdout ?? ''}${e.stderr ?? ''}`,
      { cause: err },
    );
  }
}

/** The live (non-zombie) processes below `pid`, from /proc. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z') parentOf.set(Number(entry), Number(ppid));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (p: number): void => {
    for (const [child, parent] of parentOf) {
      if (parent !== p) continue;
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function killTree(pid: number, signal: NodeJS.Signals): void {
  for (const p of [...descendants(pid), pid]) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

/** Resolves once none of `pids` runs any more; rejects after `ms`. */
async function allGone(pids: number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (pids.some(alive)) {
    if (Date.now() > deadline)
      throw new Error(`still running after ${ms} ms: ${pids.filter(alive).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Launched {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  ports: { admin: number; inbound: number; outbound: number; outbound_tls: number };
  token: string;
}

/** Starts a command that runs vaultgate and waits for its banner (stderr) and ports.json. */
async function launch(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string>; dataDir: string },
): Promise<Launched> {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no banner within 2 minutes:\n${stderr}${stdout}`)),
      2 * MINUTE,
    );
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!stderr.includes('vaultgate is running')) return;
      clearTimeout(timer);
      resolve();
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before its banner:\n${stderr}${stdout}`));
    });
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    ports: JSON.parse(readFileSync(join(opts.dataDir, 'ports.json'), 'utf8')),
    token: readFileSync(join(opts.dataDir, 'admin-token'), 'utf8').trim(),
  };
}

/** /readyz and one authenticated API call: the default vault of a first start is listed. */
async function expectServing(v: Launched): Promise<void> {
  const base = `http://127.0.0.1:${v.ports.admin}`;
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  const res = await fetch(`${base}/api/v1/vaults`, { headers: { authorization: `Bearer ${v.token}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data: { environment: string }[] };
  expect(body.data.map((vault) => vault.environment)).toEqual(['sandbox']);
  // The banner is human text on stderr; stdout is the JSON log stream alone.
  for (const line of v.stdout().split('\n').filter(Boolean))
    expect(() => JSON.parse(line), line).not.toThrow();
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });
}

let tarball: string | undefined;
let installed = false;

describe('release (SLOW: packs, installs from the npm registry, compiles better-sqlite3)', () => {
  it(
    'npm pack builds dist/ from scratch and packs the program, not the checkout',
    () => {
      // A copy: prepack empties dist/src, which the other test files of this run are executing.
      const src = join(work, 'src');
      const skip = new Set(['node_modules', 'dist', '.git', 'data', 'test-artifacts']);
      cpSync(ROOT, src, {
        recursive: true,
        filter: (from) => {
          const rel = relative(ROOT, from);
          return !skip.has(rel.split('/')[0]!) && !rel.endsWith('/results') && !rel.endsWith('.tgz');
        },
      });
      // The checkout's dev dependencies: prepack compiles with them.
      symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'));
      sh('npm', ['pack', '--pack-destination', work], { cwd: src, timeout: 5 * MINUTE });
      tarball = join(work, `vaultgate-${VERSION}.tgz`);
      expect(existsSync(tarball)).toBe(true);

      const files = sh('tar', ['-tzf', tarball], { timeout: MINUTE }).split('\n').filter(Boolean);
      for (const f of [
        'package/package.json',
        'package/bin/vaultgate.js',
        'package/dist/src/main.js',
        'package/dist/src/dataplane/worker.js',
        'package/dist/src/offload/worker.js',
        'package/dist/web/index.html',
        'package/deploy/docker-install.sh',
        'package/deploy/healthcheck.mjs',
        'package/deploy/vaultgate.service',
        'package/deploy/vaultgate.env',
        'package/docs/operations.md',
      ])
        expect(files).toContain(f);
      const strays = files.filter(
        (f) =>
          /^package\/(src|test|bench|reliability|scripts|web\/src|node_modules)\//.test(f) ||
          /\.(ts|map)$/.test(f) ||
          f.endsWith('.test.js'),
      );
      expect(strays).toEqual([]);
    },
    6 * MINUTE,
  );

  it(
    'deploy/docker-install.sh installs it into a fresh prefix outside the checkout',
    () => {
      expect(tarball, 'the pack step failed').toBeDefined();
      expect(relative(ROOT, PREFIX).startsWith('..')).toBe(true);
      // No node_modules above the prefix could stand in for a dependency the package forgot.
      for (let dir = dirname(PREFIX); dir !== dirname(dir); dir = dirname(dir))
        expect(existsSync(join(dir, 'node_modules')), dir).toBe(false);
      const out = sh('sh', [join(ROOT, 'deploy', 'docker-install.sh'), tarball!, PREFIX], {
        timeout: 25 * MINUTE,
      });
      expect(out.trim().split('\n').at(-1)).toBe(`vaultgate ${VERSION}`);
      expect(
        existsSync(join(PREFIX, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')),
      ).toBe(true);
      installed = true;
    },
    26 * MINUTE,
  );

  it(
    'npx vaultgate starts on a fresh directory with the embedded defaults and stops on SIGTERM',
    async () => {
      expect(installed, 'the install step failed').toBe(true);
      // `--no`: never fetch a same-named package from the registry should the local one be missing.
      expect(
        sh('npx', ['--no', '--', 'vaultgate', '--version'], { cwd: PREFIX, timeout: MINUTE }).trim(),
      ).toBe(`vaultgate ${VERSION}`);
      const dataDir = join(work, 'npx-data');
      const env = cleanEnv({ ...FREE_PORTS, VAULTGATE_DATA_DIR: dataDir, VAULTGATE_WORKERS: '1' });
      const first = await launch('npx', ['--no', '--', 'vaultgate'], { cwd: PREFIX, env, dataDir });
      expect(first.stderr()).toContain(first.token); // a first start shows the token it created
      await expectServing(first);
      // SIGTERM to vaultgate (npx runs it as npx → sh → vaultgate): it drains and exits 0, and npx with it.
      const tree = descendants(first.child.pid!);
      const vaultgate = tree.find((p) =>
        readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('.bin/vaultgate'),
      );
      expect(vaultgate, `no vaultgate among ${tree.join(', ')}`).toBeDefined();
      process.kill(vaultgate!, 'SIGTERM');
      expect(await first.exited, first.stderr()).toEqual({ code: 0, signal: null });
      await allGone(tree, 15_000);

      // SIGTERM to npx itself: npm passes it to its shell only, and vaultgate, seeing that shell gone,
      // stops as on SIGTERM (bin/vaultgate.js) instead of running on, orphaned, with the ports bound.
      const second = await launch('npx', ['--no', '--', 'vaultgate'], { cwd: PREFIX, env, dataDir });
      expect(second.stderr()).not.toContain(second.token); // later starts print no secret
      await expectServing(second);
      const tree2 = descendants(second.child.pid!);
      second.child.kill('SIGTERM');
      await second.exited;
      await allGone(tree2, 20_000);
      expect(await refused(second.ports.admin)).toBe(true);
    },
    6 * MINUTE,
  );

  it(
    "the Docker image's start step: its ENV and CMD start vaultgate, its HEALTHCHECK follows it, SIGTERM exits 0",
    async () => {
      expect(installed, 'the install step failed').toBe(true);
      const dockerfile = readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8');
      const stages = dockerfile.split(/^FROM /m).slice(1);
      expect(stages.map((s) => s.split(/\s/)[0])).toEqual(['node:20-bookworm-slim', 'node:20-bookworm-slim']);
      // The build stage installs with the script the previous test ran, into the prefix the image runs.
      expect(stages[0]).toMatch(/sh deploy\/docker-install\.sh \/tmp\/vaultgate-\*\.tgz \/opt\/vaultgate/);
      const runtime = instructions(stages[1]!);
      const at = (s: string): string => s.replaceAll('/opt/vaultgate', PREFIX);

      const imageEnv: Record<string, string> = {};
      for (const value of runtime.get('ENV') ?? []) {
        for (const m of value.matchAll(/([A-Z_][A-Z0-9_]*)=(\S*)/g)) {
          imageEnv[m[1]!] = at(m[2]!).replace(/\$\{?PATH\}?/, process.env['PATH'] ?? '/usr/bin:/bin');
        }
      }
      const dataDir = imageEnv['VAULTGATE_DATA_DIR']!;
      expect(JSON.parse(runtime.get('VOLUME')![0]!)).toEqual([dataDir]);
      expect(runtime.get('EXPOSE')![0]!.split(/\s+/)).toEqual(['9000', '8443', '8080', '8444']);
      expect(runtime.get('USER')![0]).toBe('vaultgate');
      const cmd = JSON.parse(runtime.get('CMD')![0]!) as string[];
      const healthcheck = JSON.parse(/CMD (\[.*\])/.exec(runtime.get('HEALTHCHECK')![0]!)![1]!).map(
        at,
      ) as string[];

      // The volume, here a fresh directory; free ports instead of 9000… on this shared machine.
      const volume = join(work, 'docker-volume');
      mkdirSync(volume, { mode: 0o700 });
      const env = {
        PATH: imageEnv['PATH']!,
        HOME: volume,
        ...imageEnv,
        ...FREE_PORTS,
        VAULTGATE_DATA_DIR: volume,
        VAULTGATE_WORKERS: '1',
      };
      const health = (): number | null => {
        try {
          execFileSync(healthcheck[0]!, healthcheck.slice(1), { env, stdio: 'pipe', timeout: 10_000 });
          return 0;
        } catch (err) {
          return (err as { status: number | null }).status;
        }
      };
      expect(health()).toBe(1); // not started
      const v = await launch(cmd[0]!, cmd.slice(1), { cwd: volume, env, dataDir: volume });
      expect(health()).toBe(0);
      await expectServing(v);
      v.child.kill('SIGTERM'); // docker stop: SIGTERM to PID 1
      expect(await v.exited, v.stderr()).toEqual({ code: 0, signal: null });
      expect(health()).toBe(1);
    },
    4 * MINUTE,
  );

  it(
    'the systemd unit passes systemd-analyze, and its ExecStart with its environment runs and drains',
    async () => {
      expect(installed, 'the install step failed').toBe(true);
      const at = (s: string): string => s.replaceAll('/opt/vaultgate', PREFIX);
      const unit = readFileSync(join(ROOT, 'deploy', 'vaultgate.service'), 'utf8');
      const file = join(work, 'vaultgate.service');
      // verify also checks that ExecStart names an executable: the one the install step put there.
      writeFileSync(file, at(unit));
      const verify = analyze(['verify', file]);
      expect(verify.output, verify.output).toBe('');
      expect(verify.status).toBe(0);
      // Exposure 2.0 or less ("OK"); the analysis reads the file only.
      const security = analyze(['security', '--offline=yes', '--threshold=20', file]);
      expect(security.status, security.output).toBe(0);

      const service = directives(unit, 'Service');
      expect(service.get('KillMode')).toEqual(['mixed']);
      expect(service.get('Restart')).toEqual(['on-failure']);
      expect(service.get('User')).toEqual(['vaultgate']);
      expect(service.get('EnvironmentFile')).toEqual(['-/etc/vaultgate/vaultgate.env']);
      const stateDir = join(work, 'systemd-state'); // StateDirectory=vaultgate → /var/lib/vaultgate
      mkdirSync(stateDir, { mode: 0o700 });
      const unitEnv: Record<string, string> = {};
      for (const line of service.get('Environment') ?? []) {
        const [k, ...v] = line.split('=');
        unitEnv[k!] = v.join('=').replace('/var/lib/vaultgate', stateDir);
      }
      expect(unitEnv['VAULTGATE_DATA_DIR']).toBe(stateDir);
      // EnvironmentFile: the example the package ships for /etc/vaultgate/vaultgate.env.
      for (const line of readFileSync(join(ROOT, 'deploy', 'vaultgate.env'), 'utf8').split('\n')) {
        const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
        if (m) unitEnv[m[1]!] = m[2]!;
      }
      const [exec, ...args] = at(service.get('ExecStart')![0]!).split(/\s+/);
      // systemd's environment: its PATH and what the unit sets, nothing of this shell.
      const env = {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: stateDir,
        ...unitEnv,
        ...FREE_PORTS,
        VAULTGATE_WORKERS: '2',
      };
      const v = await launch(exec!, args, { cwd: stateDir, env, dataDir: stateDir });
      await expectServing(v);
      const workers = descendants(v.child.pid!);
      expect(workers.length).toBeGreaterThanOrEqual(2);
      v.child.kill('SIGTERM'); // KillMode=mixed: the main process alone
      expect(await v.exited, v.stderr()).toEqual({ code: 0, signal: null });
      // Nothing left for systemd's final SIGKILL: the workers drained and exited on their own.
      await allGone(workers, 5_000);
    },
    4 * MINUTE,
  );
});

/** Exit status and everything printed (stdout and stderr). */
function analyze(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8', timeout: MINUTE });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A Dockerfile stage's instructions (continuation lines joined), by keyword, in order. */
function instructions(stage: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const joined = stage.replace(/\\\n\s*/g, ' ');
  for (const line of joined.split('\n')) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    found.set(m[1]!, [...(found.get(m[1]!) ?? []), m[2]!.trim()]);
  }
  return found;
}

/** A unit file section's directives, by name, in order. */
function directives(unit: string, section: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  let current = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) current = line.slice(1, -1);
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (current !== section || !m) continue;
    found.set(m[1]!, [...(found.get(m[1]!) ?? []), m[2]!]);
  }
  return found;
}
