import { randomBytes } from 'node:crypto';
import { createCa } from '../pki/ca.js';
import type { Store } from '../store/types.js';
import { metaSecretAad } from './aad.js';
import { SealError, type Keyring } from './keyring.js';

/** The master key given does not open this data: refuse to start rather than fail per request. */
export class MasterKeyMismatchError extends Error {
  constructor() {
    super(
      'The master key does not match this data directory or database: start vaultgate with the VAULTGATE_MASTER_KEY (or master.key) that was used when the data was created.',
    );
    this.name = 'MasterKeyMismatchError';
  }
}

export interface ServerSecrets {
  /** Keys credential hashes and dashboard sessions. */
  serverSecret: Buffer;
  localCa: { certPem: string; keyPem: string };
}

/** The plaintext of master_key_check: the key that opens it is the store's (rotate.ts reads it too). */
export const MASTER_KEY_CHECK = 'vaultgate master key check v1';
const AAD = {
  check: metaSecretAad('master_key_check'),
  serverSecret: metaSecretAad('server_secret'),
  localCaKey: metaSecretAad('local_ca_key'),
};

/**
 * Loads the secrets vaultgate generates for itself, creating them on the first start. They live in the
 * store (sealed), not in files, so every instance sharing a PostgreSQL database uses the same ones.
 * The check value is opened first: a wrong master key stops the start with one clear sentence.
 */
export async function loadServerSecrets(store: Store, keyring: Keyring): Promise<ServerSecrets> {
  const existing = await store.read.getMeta('master_key_check');
  if (existing === undefined) {
    // Generated outside the transaction: a CA key takes milliseconds we need not hold a lock for.
    const fresh = await createCa({ commonName: 'vaultgate local CA' });
    await store.write(async (repo) => {
      if ((await repo.getMeta('master_key_check')) !== undefined) return; // another instance won the race
      await repo.setMeta('master_key_check', keyring.seal(MASTER_KEY_CHECK, AAD.check));
      await repo.setMeta('server_secret', keyring.seal(randomBytes(32), AAD.serverSecret));
      await repo.setMeta('local_ca_cert_pem', fresh.certPem);
      await repo.setMeta('local_ca_key', keyring.seal(fresh.keyPem, AAD.localCaKey));
    });
  }
  const read = async (key: string): Promise<string> => {
    const value = await store.read.getMeta(key);
    if (value === undefined) throw new Error(`the store is missing its ${key}; the database is damaged`);
    return value;
  };
  try {
    if (keyring.open(await read('master_key_check'), AAD.check).toString() !== MASTER_KEY_CHECK)
      throw new MasterKeyMismatchError();
  } catch (err) {
    if (err instanceof SealError) throw new MasterKeyMismatchError();
    throw err;
  }
  return {
    serverSecret: keyring.open(await read('server_secret'), AAD.serverSecret),
    localCa: {
      certPem: await read('local_ca_cert_pem'),
      keyPem: keyring.open(await read('local_ca_key'), AAD.localCaKey).toString('utf8'),
    },
  };
}
