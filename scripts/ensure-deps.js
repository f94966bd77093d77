// Makes a fresh checkout runnable with one command: installs npm dependencies when node_modules is
// missing or older than the lockfile, and with --test also makes sure what the test suite talks to
// is there (PostgreSQL running at 127.0.0.1:5432, Debian's Chromium, the openssl, curl and jq CLIs,
// promtool, systemd-analyze, sqlite3, the PostgreSQL client tools and a C++ toolchain).
// Plain JavaScript on purpose: it must run before any dependency is installed.
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import net from 'node:net';

const log = (msg) => process.stderr.write(`[ensure-deps] ${msg}\n`);
const run = (cmd) => execSync(cmd, { stdio: 'inherit' });

function installNodeModules() {
  const stamp = 'node_modules/.package-lock.json';
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= statSync('package-lock.json').mtimeMs) return;
  log('installing npm dependencies (npm ci)…');
  run('npm ci --no-audit --no-fund');
}

function has(command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let aptUpdated = false;
function aptInstall(packages) {
  if (packages.length === 0) return;
  if (process.getuid?.() !== 0) {
    log(`missing Debian packages: ${packages.join(' ')}; install them with apt-get (needs root)`);
    process.exit(1);
  }
  if (!aptUpdated) {
    run('apt-get update -qq');
    aptUpdated = true;
  }
  log(`installing Debian packages: ${packages.join(' ')}…`);
  run(`DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${packages.join(' ')}`);
}

function portOpen(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function ensurePostgres() {
  if (await portOpen(5432)) return;
  log('PostgreSQL is not running at 127.0.0.1:5432; starting it with pg_ctlcluster…');
  try {
    run('pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n 1) main start');
  } catch {
    log(
      'could not start PostgreSQL; the PostgreSQL tests need it at 127.0.0.1:5432 (trust auth, database "test")',
    );
    process.exit(1);
  }
  for (let i = 0; i < 50 && !(await portOpen(5432)); i++) await new Promise((r) => setTimeout(r, 200));
}

installNodeModules();
if (process.argv.includes('--test')) {
  const missing = [];
  if (!existsSync('/usr/bin/chromium')) missing.push('chromium');
  if (!has('openssl')) missing.push('openssl');
  if (!has('curl')) missing.push('curl');
  // docs/inbound.md's walkthrough (run by test/docs.inbound.test.ts) uses jq, as users would.
  if (!has('jq')) missing.push('jq');
  // The release and runbook tests (test/release.pack.test.ts, test/operations.restore.test.ts):
  // systemd-analyze checks deploy/vaultgate.service, the runbooks back up with sqlite3 and pg_dump,
  // and installing the packed tarball compiles better-sqlite3 when no prebuilt binary downloads.
  if (!has('systemd-analyze')) missing.push('systemd');
  if (!has('sqlite3')) missing.push('sqlite3');
  if (!has('pg_dump') || !has('pg_restore') || !has('createdb')) missing.push('postgresql-client');
  for (const tool of ['python3', 'make', 'g++']) if (!has(tool)) missing.push(tool);
  // promtool checks /metrics and docs/ops/ (test/metrics.test.ts, test/metrics.ops.test.ts).
  if (!has('promtool')) missing.push('prometheus');
  aptInstall(missing);
  await ensurePostgres();
}
