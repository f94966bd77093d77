import { randomUUID } from 'node:crypto';
import type { Repo, Store } from '../store/types.js';
import {
  certificateKeyAad,
  certificateRequestKeyAad,
  hostnameKeyAad,
  legacyCertificateKeyAad,
  metaSecretAad,
  outboundCaKeyAad,
  webhookSecretAad,
  type MetaSecret,
} from './aad.js';
import { SealError, type Keyring } from './keyring.js';
import { MASTER_KEY_CHECK } from './server-secrets.js';

/**
 * Master-key rotation (SPEC §2, `vaultgate rotate-master-key`): every value sealed under the current
 * master key is opened and sealed again under the new one, each under the binding (aad.ts) it had, in
 * one store transaction. Killed half-way, the transaction never commits and the database is as it
 * was; committed, every value is under the new key. `master_key_check` moves with the rest, so which
 * key opens it tells a re-run where it stands.
 *
 * The server secret's plaintext does not change (it is re-sealed, not replaced): the credential
 * hashes and dashboard session ids keyed with it stay valid.
 */

/**
 * Every column outside `meta` holding a sealed value, as `table.column`, each re-sealed by one of
 * KINDS below. A database with a `*_sealed` column KINDS does not re-seal is refused before anything
 * changes: a new sealed column must get its kind here rather than silently stay under the old key.
 */
export const SEALED_COLUMNS = [
  'certificate_requests.private_key_sealed',
  'certificates.private_key_sealed',
  'hostnames.private_key_sealed',
  'vaults.outbound_ca_key_sealed',
  'webhooks.secret_sealed',
] as const;

/** The sealed secrets vaultgate keeps in `meta` (aad.ts MetaSecret), all of them. */
const META_SECRETS: readonly MetaSecret[] = ['master_key_check', 'server_secret', 'local_ca_key'];

/** What a sealed value looks like (keyring.ts: `v1.` + base64url of at least the 88-byte header). */
const SEALED_FORM = /^v1\.[A-Za-z0-9_-]{117,}$/;

/** A refusal with one sentence for the operator; nothing was changed. */
export class RotationRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RotationRefusedError';
  }
}

/** Which key opens the store's master_key_check: where a rotation (or a re-run of one) stands. */
export type KeyState = 'current' | 'new' | 'neither' | 'empty';

export async function keyState(repo: Repo, current: Keyring, next: Keyring): Promise<KeyState> {
  const check = await repo.getMeta('master_key_check');
  if (check === undefined) return 'empty';
  const opens = (keyring: Keyring): boolean => {
    try {
      return keyring.open(check, metaSecretAad('master_key_check')).toString() === MASTER_KEY_CHECK;
    } catch (err) {
      if (err instanceof SealError) return false;
      throw err;
    }
  };
  if (opens(current)) return 'current';
  return opens(next) ? 'new' : 'neither';
}

export interface RotationHooks {
  /** Called inside the transaction once the checks passed, before the first value is re-sealed. */
  begin?(): void;
  /** One line of progress for the operator (never a key). */
  progress(line: string): void;
  /** Called inside the transaction once part of the rows are re-sealed (the test suite's failpoint). */
  midway?(): Promise<void>;
  /** Called inside the transaction just before it commits; throwing rolls everything back. */
  beforeCommit?(): Promise<void>;
}

export interface RotationResult {
  /** `new`: a run before this one had committed; nothing was re-sealed now. */
  outcome: 'rotated' | 'already';
  /** Values re-sealed, by kind. */
  counts: Record<string, number>;
  /** Values that did not open under the current key: left exactly as they were (see docs/operations.md). */
  unopenable: { kind: string; id: string }[];
}

/** One kind of sealed value: where it lives, and the binding each row's value opens under. */
interface Kind<R> {
  name: string;
  column: (typeof SEALED_COLUMNS)[number];
  rows(repo: Repo): Promise<R[]>;
  id(row: R): string;
  sealed(row: R): string | null;
  /** The bindings to try, in order; the value is re-sealed under the one that opened it. */
  aads(row: R): string[];
}

function kind<R>(k: Kind<R>): Kind<unknown> {
  return k as Kind<unknown>;
}

// The order the progress lines come in; the test suite's failpoint fires after the second.
const KINDS: readonly Kind<unknown>[] = [
  kind({
    name: 'vault outbound CA keys',
    column: 'vaults.outbound_ca_key_sealed',
    rows: (repo) => repo.listVaults(),
    id: (row) => row.id,
    sealed: (row) => row.outbound_ca_key_sealed,
    aads: (row) => [outboundCaKeyAad(row.id)],
  }),
  kind({
    name: 'certificate keys',
    column: 'certificates.private_key_sealed',
    rows: (repo) => repo.listCertificates(),
    id: (row) => row.id,
    sealed: (row) => row.private_key_sealed,
    // A key still under the pre-issue-13 binding (a data dir not started since that upgrade) keeps
    // it: the next start re-seals it under the full binding (reseal.ts), as it would have anyway.
    aads: (row) => [certificateKeyAad(row), legacyCertificateKeyAad(row.id)],
  }),
  kind({
    name: 'pending certificate request keys',
    column: 'certificate_requests.private_key_sealed',
    rows: (repo) => repo.listPendingCertificateRequests(),
    id: (row) => row.id,
    sealed: (row) => row.private_key_sealed,
    aads: (row) => [certificateRequestKeyAad(row)],
  }),
  kind({
    name: 'hostname server keys',
    column: 'hostnames.private_key_sealed',
    rows: (repo) => repo.listHostnames(),
    id: (row) => row.id,
    sealed: (row) => row.private_key_sealed,
    aads: (row) => [hostnameKeyAad(row)],
  }),
  kind({
    name: 'webhook signing secrets',
    column: 'webhooks.secret_sealed',
    rows: (repo) => repo.listWebhooks(),
    id: (row) => row.id,
    sealed: (row) => row.secret_sealed,
    aads: (row) => [webhookSecretAad(row.id)],
  }),
];

function openAny(
  keyring: Keyring,
  sealed: string,
  aads: string[],
): { plain: Buffer; aad: string } | undefined {
  for (const aad of aads) {
    try {
      return { plain: keyring.open(sealed, aad), aad };
    } catch (err) {
      if (!(err instanceof SealError)) throw err;
    }
  }
  return undefined;
}

/** Refuses a schema holding sealed values this code does not know how to re-seal. */
async function checkSchema(repo: Repo, dialect: Store['backend']): Promise<void> {
  // The columns re-sealed below, not the list above: a kind dropped from KINDS is refused too.
  const known = new Set<string>(KINDS.map((k) => k.column));
  const unknown = (await repo.listSealedColumns(dialect)).filter((c) => !known.has(c));
  if (unknown.length > 0) {
    throw new RotationRefusedError(
      `the database has sealed column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} that this vaultgate cannot re-seal; run rotate-master-key of the vaultgate version that created ${unknown.length > 1 ? 'them' : 'it'}`,
    );
  }
}

async function resealMeta(repo: Repo, current: Keyring, next: Keyring): Promise<number> {
  let count = 0;
  for (const key of META_SECRETS) {
    const sealed = await repo.getMeta(key);
    if (sealed === undefined) continue;
    let plain: Buffer;
    try {
      plain = current.open(sealed, metaSecretAad(key));
    } catch (err) {
      if (!(err instanceof SealError)) throw err;
      // These are vaultgate's own secrets: without them nothing else works, so nothing is changed.
      throw new RotationRefusedError(
        `the store's ${key} does not open with the current master key although its master_key_check does; the database is damaged, restore it from a backup`,
      );
    }
    await repo.setMeta(key, next.seal(plain, metaSecretAad(key)));
    plain.fill(0);
    count++;
  }
  return count;
}

/** Meta values in sealed form that are none of META_SECRETS: a secret this code would forget. */
async function checkMeta(repo: Repo): Promise<void> {
  const known = new Set<string>(META_SECRETS);
  const unknown = (await repo.listMeta())
    .filter((row) => !known.has(row.key) && SEALED_FORM.test(row.value))
    .map((row) => row.key);
  if (unknown.length > 0) {
    throw new RotationRefusedError(
      `the database has sealed meta value${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} that this vaultgate cannot re-seal; run rotate-master-key of the vaultgate version that created ${unknown.length > 1 ? 'them' : 'it'}`,
    );
  }
}

/**
 * Re-seals everything under `next` in one transaction. Refuses (RotationRefusedError, nothing
 * changed) when neither key opens the store, when the store holds no data yet, or when the schema
 * has a sealed column this code does not know.
 */
export async function rotateMasterKey(
  store: Store,
  current: Keyring,
  next: Keyring,
  hooks: RotationHooks,
): Promise<RotationResult> {
  return store.write(async (repo) => {
    await checkSchema(repo, store.backend);
    await checkMeta(repo);
    // Read again inside the transaction: another run may have committed since the caller looked.
    const state = await keyState(repo, current, next);
    if (state === 'new') return { outcome: 'already', counts: {}, unopenable: [] };
    if (state === 'empty') {
      throw new RotationRefusedError(
        'the database holds no vaultgate data yet (it was never started); there is nothing to rotate',
      );
    }
    if (state === 'neither') {
      throw new RotationRefusedError(
        'neither the current master key nor the new one opens this database; check VAULTGATE_MASTER_KEY, VAULTGATE_MASTER_KEY_FILE or <data>/master.key',
      );
    }
    hooks.begin?.();
    const counts: Record<string, number> = {};
    const unopenable: { kind: string; id: string }[] = [];
    counts['vaultgate secrets (meta)'] = await resealMeta(repo, current, next);
    hooks.progress(`re-sealed ${counts['vaultgate secrets (meta)']} vaultgate secrets (meta)`);
    for (const [index, k] of KINDS.entries()) {
      let count = 0;
      for (const row of await k.rows(repo)) {
        const sealed = k.sealed(row);
        if (sealed === null) continue;
        const opened = openAny(current, sealed, k.aads(row));
        if (opened === undefined) {
          unopenable.push({ kind: k.name, id: k.id(row) });
          continue;
        }
        await repo.replaceSealedValue(k.column, k.id(row), next.seal(opened.plain, opened.aad));
        opened.plain.fill(0);
        count++;
      }
      counts[k.name] = count;
      hooks.progress(`re-sealed ${count} ${k.name}`);
      if (k.column === 'certificates.private_key_sealed' && count > 0)
        await repo.noteCertificateKeysRewritten();
      if (index === 1) await hooks.midway?.();
    }
    // In the same transaction: the audit trail says when the key changed exactly when it did.
    await repo.insertAuditEvent({
      id: randomUUID(),
      at: new Date().toISOString(),
      actor: 'system',
      action: 'master_key.rotated',
      vault_id: null,
      target_id: null,
      client_address: null,
    });
    await hooks.beforeCommit?.();
    return { outcome: 'rotated', counts, unopenable };
  });
}
