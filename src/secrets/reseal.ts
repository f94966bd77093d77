import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/types.js';
import { certificateKeyAad, legacyCertificateKeyAad } from './aad.js';
import { SealError, type Keyring } from './keyring.js';

/** The meta key recording which binding (secrets/aad.ts) the stored certificate keys are sealed under. */
const BINDING_META = 'certificate_key_binding';
/** Issue 13: id, vault, credential or route, and the SHA-256 of the chain. */
const CURRENT_BINDING = '2';

/**
 * Re-seals certificate keys stored under the old id-only binding (`legacyCertificateKeyAad`) under
 * the current one, once, at start-up of the control plane and before any snapshot is built. One
 * store transaction: interrupted (a crash, kill -9), nothing is changed and the next start does it
 * all; instances starting together on one PostgreSQL queue on the transaction and the second finds
 * the work done. A row the old binding does not open (already damaged, or moved) is left as it is:
 * the snapshot builder leaves it out and says so, as it would have before.
 *
 * The re-sealed values no longer open under the old binding, so a copy of an old row restored from
 * a backup into another vault or route does not open either.
 */
export async function resealCertificateKeys(store: Store, keyring: Keyring, logger: Logger): Promise<void> {
  if ((await store.read.getMeta(BINDING_META)) === CURRENT_BINDING) return;
  const result = await store.write(async (repo) => {
    if ((await repo.getMeta(BINDING_META)) === CURRENT_BINDING) return null; // another instance did it
    let resealed = 0;
    const unopenable: string[] = [];
    for (const row of await repo.listCertificates()) {
      let keyPem: Buffer;
      try {
        keyPem = keyring.open(row.private_key_sealed, legacyCertificateKeyAad(row.id));
      } catch (err) {
        if (!(err instanceof SealError)) throw err;
        unopenable.push(row.id);
        continue;
      }
      await repo.replaceCertificateKeySealed(row.id, keyring.seal(keyPem, certificateKeyAad(row)));
      keyPem.fill(0);
      resealed++;
    }
    await repo.setMeta(BINDING_META, CURRENT_BINDING);
    return { resealed, unopenable };
  });
  if (result === null) return;
  if (result.resealed > 0 || result.unopenable.length > 0) {
    logger.info(
      'certificate keys re-sealed under their full binding (id, vault, credential or route, chain)',
      {
        resealed: result.resealed,
      },
    );
  }
  if (result.unopenable.length > 0) {
    logger.error(
      'stored certificate keys that do not open were left as they are; those certificates are not presented',
      {
        certificate_ids: result.unopenable.slice(0, 20),
        count: result.unopenable.length,
      },
    );
  }
}
