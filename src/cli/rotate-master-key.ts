/**
 * `vaultgate rotate-master-key --new-key-file FILE` (SPEC §2, docs/operations.md "Rotating the master
 * key"): with vaultgate stopped, re-seals every sealed value under the new key in one transaction
 * (src/secrets/rotate.ts), then puts the new key where the current one came from. Safe to run again
 * after an interruption at any point: before the commit nothing changed; after it, the database
 * opens with the new key and a re-run only finishes installing it.
 */
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError, loadSettings, type Settings } from '../config/settings.js';
import { Keyring } from '../secrets/keyring.js';
import { RotationRefusedError, rotateMasterKey, type RotationResult } from '../secrets/rotate.js';
import { SQLITE_FILE_NAME, openStore, type Store } from '../store/open.js';
import { ROTATION_INSTANCE_PREFIX, postgresInUse, sqliteInUse } from './rotate-guard.js';

/** A refusal: `error: <sentence>` on stderr, exit 2, nothing changed. */
class Refusal extends Error {}

const USAGE =
  'usage: vaultgate rotate-master-key --new-key-file FILE [--data-dir DIR] [--database-url URL]\n' +
  '  Run with vaultgate stopped. FILE holds the base64 of 32 random bytes (openssl rand -base64 32).\n' +
  '  The current key is read as vaultgate reads it: VAULTGATE_MASTER_KEY, VAULTGATE_MASTER_KEY_FILE\n' +
  '  or <data>/master.key.\n';

/** The test suite's failpoints (VAULTGATE_TEST_ROTATE_FAILPOINT): stop and wait to be killed there. */
type Failpoint = 'mid-transaction' | 'after-commit';

const KEY_FORM = /^[A-Za-z0-9+/]{43}=$/;

function parseKey(text: string, where: string): Buffer {
  const value = text.replace(/\r?\n$/, '');
  const key = Buffer.from(value, 'base64');
  if (!KEY_FORM.test(value) || key.length !== 32)
    throw new Refusal(
      `${where} must hold the base64 of exactly 32 random bytes (for example the output of \`openssl rand -base64 32\`)`,
    );
  return key;
}

function readKeyFile(path: string, what: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Refusal(`${what} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseKey(text, `${what} ${path}`);
}

/** `--new-key-file FILE` out of the arguments; the rest are the server's own flags (--data-dir…). */
function splitArgs(args: readonly string[]): { newKeyFile: string; rest: string[] } {
  let newKeyFile: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--new-key-file') newKeyFile = args[++i];
    else if (arg.startsWith('--new-key-file=')) newKeyFile = arg.slice('--new-key-file='.length);
    else if (arg === '--new-key' || arg.startsWith('--new-key='))
      // Refused without looking at the value: a key on the command line is visible in `ps`.
      throw new Refusal(
        'the new key is never taken on the command line (ps shows it); use --new-key-file FILE',
      );
    else rest.push(arg);
  }
  if (newKeyFile === undefined || newKeyFile === '')
    throw new Refusal('--new-key-file FILE is required (FILE holds the base64 of 32 random bytes)');
  return { newKeyFile, rest };
}

/** Where the current key came from: the data dir's master.key (which we replace) or the operator's setting. */
type KeySource = { kind: 'data-dir'; path: string } | { kind: 'setting'; name: string };

function currentKey(
  settings: Settings,
  rest: readonly string[],
  env: NodeJS.ProcessEnv,
): { key: Buffer; source: KeySource } {
  if (settings.masterKey !== undefined) {
    const fileFlag = rest.findIndex((a) => a === '--master-key-file' || a.startsWith('--master-key-file='));
    const name =
      fileFlag !== -1 || (env['VAULTGATE_MASTER_KEY_FILE'] ?? '') !== ''
        ? 'VAULTGATE_MASTER_KEY_FILE'
        : 'VAULTGATE_MASTER_KEY';
    return { key: settings.masterKey, source: { kind: 'setting', name } };
  }
  const path = join(settings.dataDir, 'master.key');
  // Never created here (the server would): a missing key means the wrong data dir, not a new one.
  if (!existsSync(path))
    throw new Refusal(
      `there is no current master key: ${path} does not exist and neither VAULTGATE_MASTER_KEY nor VAULTGATE_MASTER_KEY_FILE is set; check VAULTGATE_DATA_DIR`,
    );
  return { key: readKeyFile(path, 'the current master key'), source: { kind: 'data-dir', path } };
}

/** Replaces `path` by a file holding the key, atomically and durably: temp file, fsync, rename, fsync the dir. */
function installKeyFile(path: string, key: Buffer): void {
  const temp = `${path}.rotating`;
  // Left by a run killed while writing it: start afresh, so the mode is surely ours ('wx' sets it).
  rmSync(temp, { force: true });
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, key.toString('base64') + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  // The rename is durable once the directory entry is: fsync the directory too.
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

async function failpoint(
  env: NodeJS.ProcessEnv,
  at: Failpoint,
  stderr: NodeJS.WritableStream,
): Promise<void> {
  if (env['VAULTGATE_TEST_ROTATE_FAILPOINT'] !== at) return;
  stderr.write(`failpoint ${at}: waiting to be killed\n`);
  await new Promise<never>(() => setInterval(() => undefined, 60_000));
}

async function guard(settings: Settings, store: Store | undefined): Promise<void> {
  if (settings.databaseUrl === undefined) {
    const file = join(settings.dataDir, SQLITE_FILE_NAME);
    if (!existsSync(file))
      throw new Refusal(
        `there is no vaultgate database at ${file}; check VAULTGATE_DATA_DIR (or set VAULTGATE_DATABASE_URL)`,
      );
    const busy = await sqliteInUse(file);
    if (busy !== undefined) throw new Refusal(busy);
    return;
  }
  const busy = await postgresInUse(settings.databaseUrl, {
    ownPoolOpen: store !== undefined,
    settle: store === undefined,
  });
  if (busy !== undefined) throw new Refusal(busy);
}

function summary(result: RotationResult): string {
  const parts = Object.entries(result.counts).map(([kind, n]) => `${n} ${kind}`);
  const total = Object.values(result.counts).reduce((a, b) => a + b, 0);
  return `re-sealed ${total} values under the new master key (${parts.join(', ')})`;
}

async function run(args: string[], env: NodeJS.ProcessEnv, stderr: NodeJS.WritableStream): Promise<number> {
  const { newKeyFile, rest } = splitArgs(args);
  let settings: Settings;
  try {
    settings = loadSettings(env, rest);
  } catch (err) {
    if (err instanceof ConfigError) throw new Refusal(err.message.replace(/\.$/, ''));
    throw err;
  }
  const next = readKeyFile(newKeyFile, 'the new key file');
  if ((statSync(newKeyFile).mode & 0o077) !== 0)
    stderr.write(`warning: ${newKeyFile} can be read by other users; keep it mode 0600 (chmod 600)\n`);
  const { key: current, source } = currentKey(settings, rest, env);
  if (current.equals(next))
    throw new Refusal('the new key is the current master key; generate a new one (openssl rand -base64 32)');

  await guard(settings, undefined);
  let store: Store;
  try {
    store = await openStore({
      dataDir: settings.dataDir,
      databaseUrl: settings.databaseUrl,
      instanceId: `${ROTATION_INSTANCE_PREFIX}${randomUUID()}`,
    });
  } catch (err) {
    throw new Refusal((err as Error).message.replace(/\.$/, ''));
  }
  const currentRing = new Keyring(current);
  const nextRing = new Keyring(next);
  let result: RotationResult;
  try {
    result = await rotateMasterKey(store, currentRing, nextRing, {
      begin: () =>
        stderr.write(
          `re-sealing every sealed value under the new master key (${store.backend}, one transaction)\n`,
        ),
      progress: (line) => stderr.write(`  ${line}\n`),
      midway: () => failpoint(env, 'mid-transaction', stderr),
      // An instance started since the first look holds the old key: roll back rather than commit.
      beforeCommit: () => (settings.databaseUrl === undefined ? Promise.resolve() : guard(settings, store)),
    });
  } catch (err) {
    if (err instanceof RotationRefusedError) throw new Refusal(err.message);
    throw err;
  } finally {
    await store.close();
  }

  if (result.outcome === 'already') {
    stderr.write(
      'the database is already sealed under the new master key (a previous run committed); finishing\n',
    );
  } else {
    stderr.write(`committed: ${summary(result)}\n`);
    for (const { kind, id } of result.unopenable)
      stderr.write(`warning: left as it was, since it does not open with the current key: ${kind} ${id}\n`);
  }
  await failpoint(env, 'after-commit', stderr);

  if (source.kind === 'data-dir') {
    installKeyFile(source.path, next);
    stderr.write(`installed the new master key in ${source.path} (mode 0600)\n`);
    stderr.write('done: start vaultgate as before; backups taken before now need the old key\n');
  } else {
    stderr.write(
      `done: the database now opens only with the new key; replace ${source.name} with the contents of ${newKeyFile} for every instance, then start vaultgate\n`,
    );
  }
  return 0;
}

export async function rotateMasterKeyCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    return await run(args, env, process.stderr);
  } catch (err) {
    if (err instanceof Refusal) {
      process.stderr.write(`error: ${err.message}.\n`);
      return 2;
    }
    // A failure half-way (the database went away, a full disk): the transaction did not commit, or
    // it did and only the key file is missing; a re-run finds out which and finishes.
    process.stderr.write(
      `error: the rotation stopped: ${(err as Error).message}; run the same command again to finish it.\n`,
    );
    return 1;
  }
}
