import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring } from '../src/secrets/keyring.js';
import { SnapshotBuilder } from '../src/snapshot/build.js';
import type { RuntimeConfig } from '../src/snapshot/types.js';
import { CERTIFICATES_EPOCH, type Repo } from '../src/store/types.js';
import { makeLeaf } from './helpers/pki-fixtures.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

/**
 * The snapshot follows the certificate change log (migration 4) instead of re-reading every id after
 * each upload; what it builds that way must be exactly what a full re-index builds, and it must fall
 * back to the full re-index whenever the log cannot lead to the current epoch.
 */
/** Only the inbound host names depend on it; these tests compare certificates. */
const DOMAIN = 'vaultgate.test';

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`certificate changes applied one by one (${backend})`, () => {
    const masterKey = randomBytes(32);
    let db: TestDatabase | undefined;
    let t: TestVaultgate;
    let vaultId: string;
    let credentials: string[];

    beforeAll(async () => {
      db = backend === 'postgres' ? await createTestDatabase() : undefined;
      t = await startTestVaultgate({
        VAULTGATE_MASTER_KEY: masterKey.toString('base64'),
        ...(db ? { VAULTGATE_DATABASE_URL: db.url } : {}),
      });
      vaultId = t.vg.defaultVault?.vaultId ?? '';
      credentials = [];
      for (let i = 0; i < 2; i++)
        credentials.push((await t.api('POST', `/vaults/${vaultId}/credentials`, {})).json.data.id);
    });
    afterAll(async () => {
      await t?.stop();
      await db?.drop();
    });

    async function upload(i: number): Promise<string> {
      const leaf = makeLeaf({ cn: `changes-${backend}-${i}.example` });
      const res = await t.api('POST', `/vaults/${vaultId}/certificates`, {
        proxy_type: 'outbound',
        credential_id: credentials[i % 2],
        certificate: leaf.certPem,
        private_key: leaf.keyPem,
      });
      expect(res.status, res.text).toBe(201);
      return res.json.data.id;
    }

    /** The store's reads, counting full id scans. */
    function countingRepo(): { repo: Repo; scans: () => number } {
      let scans = 0;
      const repo = new Proxy(t.vg.store.read, {
        get(target, prop, receiver) {
          if (prop === 'listCertificateRevisions') scans++;
          const value = Reflect.get(target, prop, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      return { repo, scans: () => scans };
    }

    function shape(snapshot: RuntimeConfig): Record<string, string[]> {
      const out: Record<string, string[]> = { all: [...snapshot.certificatesById.keys()].sort() };
      for (const c of snapshot.credentialsByUsername.values())
        out[c.id] = c.certificates.map((x) => x.id).sort();
      return out;
    }

    async function fullBuild(): Promise<RuntimeConfig> {
      return new SnapshotBuilder(new Keyring(masterKey), DOMAIN).build(t.vg.store.read, 0);
    }

    it('applies uploads and deletes from the log, without a scan, and ends where a full index does', async () => {
      const follower = new SnapshotBuilder(new Keyring(masterKey), DOMAIN);
      const { repo, scans } = countingRepo();
      await follower.build(repo, 0);
      expect(scans()).toBe(1);

      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await upload(i));
      let followed = await follower.build(repo, 1);
      for (const id of ids.slice(0, 2)) {
        expect((await t.api('DELETE', `/vaults/${vaultId}/certificates/${id}`)).status).toBe(204);
      }
      ids.push(await upload(5));
      followed = await follower.build(repo, 2);

      expect(scans()).toBe(1);
      expect(shape(followed)).toEqual(shape(await fullBuild()));
      expect(shape(followed).all).toEqual(ids.slice(2).sort());
      // The control plane's own snapshot (refreshed by every API call) agrees too.
      expect(shape(t.vg.snapshot.current)).toEqual(shape(followed));
    });

    it('re-indexes when the log forks (two writers from one epoch) and still ends right', async () => {
      const behind = new SnapshotBuilder(new Keyring(masterKey), DOMAIN);
      const { repo, scans } = countingRepo();
      await behind.build(repo, 0);
      const epoch = await t.vg.store.read.getMeta(CERTIFICATES_EPOCH);
      const first = await upload(10);
      // A second writer that had read the same epoch, as another instance on PostgreSQL can.
      await t.vg.store.write((w) => w.setMeta(CERTIFICATES_EPOCH, epoch ?? ''));
      const second = await upload(11);

      const rebuilt = await behind.build(repo, 1);
      expect(scans()).toBe(2);
      expect(rebuilt.certificatesById.has(first)).toBe(true);
      expect(rebuilt.certificatesById.has(second)).toBe(true);
      expect(shape(rebuilt)).toEqual(shape(await fullBuild()));
      expect(shape(t.vg.snapshot.current)).toEqual(shape(rebuilt));
    });

    it('sees a PATCH of hosts through the log, and through a full re-index after a gap', async () => {
      const follower = new SnapshotBuilder(new Keyring(masterKey), DOMAIN);
      const { repo, scans } = countingRepo();
      const id = await upload(20);
      await follower.build(repo, 0);
      const patch = async (hosts: string[]) =>
        expect((await t.api('PATCH', `/vaults/${vaultId}/certificates/${id}`, { hosts })).status).toBe(200);

      await patch(['followed.example']);
      expect((await follower.build(repo, 1)).certificatesById.get(id)?.hosts).toEqual(['followed.example']);
      expect(scans()).toBe(1);

      // An epoch the log cannot lead from (pruned, or another instance's): the builder re-indexes,
      // and the revision tells it that the row it holds was edited.
      await patch(['reindexed.example']);
      await t.vg.store.write((w) => w.setMeta(CERTIFICATES_EPOCH, 'an epoch with no log'));
      const rebuilt = await follower.build(repo, 2);
      expect(scans()).toBe(2);
      expect(rebuilt.certificatesById.get(id)?.hosts).toEqual(['reindexed.example']);
    });
  });
}
