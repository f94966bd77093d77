/**
 * One contract, every backend: the same assertions run against SQLite and PostgreSQL, each test on a
 * fresh database (a temp dir, or a schema of its own).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReadOnlyRepoError, UniqueViolationError } from '../src/store/open.js';
import type {
  ApiTokenRecord,
  CertificateRequestRecord,
  Store,
  WebhookDeliveryRecord,
  WebhookRecord,
} from '../src/store/types.js';
import {
  STORE_BACKENDS,
  at,
  auditEvent,
  certificate,
  credential,
  hostname,
  route,
  vault,
  type StoreBackend,
} from './helpers/store-fixtures.js';

describe.each(STORE_BACKENDS)('store contract: $name', (backend) => {
  let db: Awaited<ReturnType<StoreBackend['prepare']>>;
  let store: Store;

  beforeEach(async () => {
    db = await backend.prepare();
    store = await db.open();
  });

  afterEach(async () => {
    await store.close();
    await db.dispose();
  });

  it('opens an empty, migrated database at version 0', async () => {
    expect(store.backend).toBe(backend.name);
    expect(await store.version()).toBe(0);
    expect(await store.read.listVaults()).toEqual([]);
    expect(await store.read.listAuditEvents({})).toEqual([]);
  });

  it('bumps the version with every write but a bookkeeping one, which still commits', async () => {
    await store.write((repo) => repo.setMeta('probe', 'a'));
    expect(await store.version()).toBe(1);
    await store.write((repo) => repo.setMeta('probe', 'b'), { bookkeeping: true });
    expect(await store.version()).toBe(1);
    expect(await store.read.getMeta('probe')).toBe('b');
    await expect(
      store.write(
        async (repo) => {
          await repo.setMeta('probe', 'c');
          throw new Error('rolled back');
        },
        { bookkeeping: true },
      ),
    ).rejects.toThrow('rolled back');
    expect(await store.read.getMeta('probe')).toBe('b');
  });

  it('stores meta values and overwrites them', async () => {
    expect(await store.read.getMeta('server_secret')).toBeUndefined();
    await store.write((repo) => repo.setMeta('server_secret', 'a'));
    await store.write((repo) => repo.setMeta('server_secret', 'b'));
    expect(await store.read.getMeta('server_secret')).toBe('b');
  });

  it('inserts, lists in creation order, gets and deletes vaults', async () => {
    await store.write(async (repo) => {
      await repo.insertVault(vault('tntbbbbbbbb', 2));
      await repo.insertVault(vault('tntaaaaaaaa', 1));
    });
    expect((await store.read.listVaults()).map((v) => v.id)).toEqual(['tntaaaaaaaa', 'tntbbbbbbbb']);
    expect(await store.read.getVault('tntbbbbbbbb')).toEqual(vault('tntbbbbbbbb', 2));
    expect(await store.read.getVault('tntmissing0')).toBeUndefined();
    expect(await store.write((repo) => repo.deleteVault('tntaaaaaaaa'))).toBe(true);
    expect(await store.write((repo) => repo.deleteVault('tntaaaaaaaa'))).toBe(false);
    expect((await store.read.listVaults()).map((v) => v.id)).toEqual(['tntbbbbbbbb']);
  });

  it('handles credentials within their vault', async () => {
    await store.write(async (repo) => {
      await repo.insertVault(vault('v1'));
      await repo.insertVault(vault('v2'));
      await repo.insertCredential(credential('v1', 'c2', 'bob', 2));
      await repo.insertCredential(credential('v1', 'c1', 'alice', 1));
      await repo.insertCredential(credential('v2', 'c3', 'carol', 3));
    });
    expect((await store.read.listCredentials()).map((c) => c.id)).toEqual(['c1', 'c2', 'c3']);
    expect((await store.read.listCredentials('v1')).map((c) => c.id)).toEqual(['c1', 'c2']);
    expect(await store.read.getCredential('v1', 'c1')).toEqual(credential('v1', 'c1', 'alice', 1));
    expect(await store.read.getCredential('v2', 'c1')).toBeUndefined();

    const updated = { ...credential('v1', 'c1', 'alice2', 1), status: 'inactive' as const };
    Object.assign(updated, { description: 'rotated', password_hash: 'new', updated_at: at(9) });
    await store.write((repo) => repo.updateCredential(updated));
    expect(await store.read.getCredential('v1', 'c1')).toEqual(updated);

    expect(await store.write((repo) => repo.deleteCredential('v2', 'c1'))).toBe(false);
    expect(await store.write((repo) => repo.deleteCredential('v1', 'c1'))).toBe(true);
    expect(await store.read.getCredential('v1', 'c1')).toBeUndefined();
  });

  it('rejects a second credential with the same username and writes nothing', async () => {
    await store.write(async (repo) => {
      await repo.insertVault(vault('v1'));
      await repo.insertCredential(credential('v1', 'c1', 'alice'));
    });
    const before = await store.version();
    const attempt = store.write(async (repo) => {
      await repo.insertVault(vault('v2'));
      await repo.insertCredential(credential('v2', 'c2', 'alice'));
    });
    await expect(attempt).rejects.toBeInstanceOf(UniqueViolationError);
    await expect(attempt).rejects.toMatchObject({ target: 'credentials.username' });
    expect(await store.read.getVault('v2')).toBeUndefined();
    expect(await store.version()).toBe(before);
  });

  it('assigns routes a monotonic seq and lists them in that order', async () => {
    const seqs: number[] = [];
    await store.write(async (repo) => {
      await repo.insertVault(vault('v1'));
      await repo.insertVault(vault('v2'));
      // Ids and timestamps run against creation order, so only seq can explain the listing.
      seqs.push(await repo.insertRoute(route('v1', 'r-z', 5)));
      seqs.push(await repo.insertRoute(route('v2', 'r-y', 4)));
    });
    seqs.push(await store.write((repo) => repo.insertRoute(route('v1', 'r-x', 3))));
    await store.write((repo) => repo.deleteRoute('v1', 'r-x'));
    seqs.push(await store.write((repo) => repo.insertRoute(route('v1', 'r-w', 2))));

    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect((await store.read.listRoutes()).map((r) => r.id)).toEqual(['r-z', 'r-y', 'r-w']);
    expect((await store.read.listRoutes('v1')).map((r) => [r.id, r.seq])).toEqual([
      ['r-z', seqs[0]],
      ['r-w', seqs[3]],
    ]);
  });

  it('round-trips route JSON fields and keeps seq across updates', async () => {
    const seq = await store.write(async (repo) => {
      await repo.insertVault(vault('v1'));
      return repo.insertRoute(route('v1', 'r1'));
    });
    const stored = await store.read.getRoute('v1', 'r1');
    expect(stored).toEqual({ ...route('v1', 'r1'), seq });
    expect(await store.read.getRoute('v2', 'r1')).toBeUndefined();

    const changed = {
      ...route('v1', 'r1'),
      seq: 999_999,
      port: 8443,
      tags: {},
      upstream_tls: { verify: true },
      updated_at: at(7),
    };
    await store.write((repo) => repo.updateRoute(changed));
    expect(await store.read.getRoute('v1', 'r1')).toEqual({ ...changed, seq });
  });

  it('stores certificates with their metadata and filters them', async () => {
    await store.write(async (repo) => {
      await repo.insertVault(vault('v1'));
      await repo.insertVault(vault('v2'));
      await repo.insertCredential(credential('v1', 'c1'));
      await repo.insertRoute(route('v1', 'r1'));
      await repo.insertCertificate(certificate('v1', 'k1', { credential_id: 'c1' }, 1));
      await repo.insertCertificate(certificate('v1', 'k2', { route_id: 'r1' }, 2));
      await repo.insertCertificate({ ...certificate('v2', 'k3', {}, 3), key_type: 'rsa', key_size: 2048 });
    });
    expect(await store.read.getCertificate('v1', 'k1')).toEqual(
      certificate('v1', 'k1', { credential_id: 'c1' }, 1),
    );
    expect(await store.read.getCertificate('v1', 'k3')).toBeUndefined();
    expect((await store.read.getCertificate('v2', 'k3'))?.key_size).toBe(2048);

    const ids = async (filter?: Parameters<Store['read']['listCertificates']>[0]) =>
      (await store.read.listCertificates(filter)).map((c) => c.id);
    expect(await ids()).toEqual(['k1', 'k2', 'k3']);
    expect(await ids({ vaultId: 'v1' })).toEqual(['k1', 'k2']);
    expect(await ids({ proxyType: 'outbound' })).toEqual(['k1', 'k3']);
    expect(await ids({ vaultId: 'v1', proxyType: 'inbound' })).toEqual(['k2']);

    // Summaries (the records without the two heavy columns), ids in list order, and the heavy columns.
    const full = certificate('v1', 'k1', { credential_id: 'c1' }, 1);
    const { certificate_pem, private_key_sealed, ...summary } = full;
    expect(await store.read.getCertificateMaterial(['k1', 'missing'])).toEqual([
      { id: 'k1', certificate_pem, private_key_sealed },
    ]);
    expect(await store.read.getCertificateMaterial([])).toEqual([]);
    const ids2 = async (filter: Parameters<Store['read']['listCertificateRevisions']>[0]) =>
      (await store.read.listCertificateRevisions(filter)).map((c) => c.id);
    expect(await ids2({ vaultId: 'v1' })).toEqual(['k1', 'k2']);
    expect(await ids2({ proxyType: 'outbound' })).toEqual(['k1', 'k3']);
    expect((await store.read.listCertificateRevisions({ vaultId: 'v1' }))[0]).toEqual({
      id: 'k1',
      updated_at: full.updated_at,
    });
    expect(await store.read.getCertificateSummaries(['k1', 'missing'])).toEqual([summary]);

    expect(await store.read.countCertificatesFor({ credentialId: 'c1' })).toBe(1);
    expect(await store.read.countCertificatesFor({ routeId: 'r1' })).toBe(1);
    expect(await store.read.countCertificatesFor({ routeId: 'nope' })).toBe(0);
    // The duplicate warning's question: this certificate, already tied there?
    expect(
      await store.read.countCertificatesFor({ credentialId: 'c1', fingerprint: full.fingerprint_sha256 }),
    ).toBe(1);
    expect(await store.read.countCertificatesFor({ credentialId: 'c1', fingerprint: 'EF:01' })).toBe(0);

    // PATCH: description and hosts change, with a new revision; the material and the rest do not.
    const edit = {
      description: 'renamed',
      hosts: ['api.edited.test'],
      updated_at: '2030-01-01T00:00:00.000Z',
    };
    expect(await store.write((repo) => repo.updateCertificate('v2', 'k1', edit))).toBe(false);
    expect(await store.write((repo) => repo.updateCertificate('v1', 'k1', edit))).toBe(true);
    expect(await store.read.getCertificate('v1', 'k1')).toEqual({ ...full, ...edit });
    expect((await store.read.listCertificateRevisions({ vaultId: 'v1' }))[0]).toEqual({
      id: 'k1',
      updated_at: edit.updated_at,
    });

    expect(await store.write((repo) => repo.deleteCertificate('v2', 'k1'))).toBe(false);
    expect(await store.write((repo) => repo.deleteCertificate('v1', 'k1'))).toBe(true);
    expect(await store.read.countCertificatesFor({ credentialId: 'c1' })).toBe(0);
  });

  it('stores hostnames, one vault per name, and replaces them whole', async () => {
    await store.write(async (repo) => {
      await repo.insertVault(vault('v1'));
      await repo.insertVault(vault('v2', 1));
      await repo.insertHostname(hostname('v1', 'h1', 'callbacks.acme.test', 1));
      await repo.insertHostname(hostname('v1', 'h2', '*.acme.test', 2));
    });
    await expect(
      store.write((repo) => repo.insertHostname(hostname('v2', 'h3', 'callbacks.acme.test'))),
    ).rejects.toBeInstanceOf(UniqueViolationError);
    expect((await store.read.listHostnames('v1')).map((h) => h.hostname)).toEqual([
      'callbacks.acme.test',
      '*.acme.test',
    ]);
    expect(await store.read.findHostname('*.acme.test')).toMatchObject({ id: 'h2', vault_id: 'v1' });
    const renewed = {
      ...hostname('v1', 'h1', 'callbacks.acme.test', 1),
      not_after: at(99),
      updated_at: at(5),
    };
    renewed.client_auth = { mode: 'off' };
    await store.write((repo) => repo.updateHostname(renewed));
    expect(await store.read.getHostname('v1', 'h1')).toEqual(renewed);
    expect(await store.read.getHostname('v2', 'h1')).toBeUndefined();
    expect((await store.read.countVaultDependants('v1')).hostnames).toBe(2);
    await store.write((repo) =>
      repo.updateVault({ ...vault('v1'), inbound_client_auth: { mode: 'optional', ca_pem: 'x' } }),
    );
    expect((await store.read.getVault('v1'))?.inbound_client_auth).toEqual({ mode: 'optional', ca_pem: 'x' });
    expect(await store.write((repo) => repo.deleteHostname('v1', 'h2'))).toBe(true);
    await store.write((repo) => repo.deleteVault('v1'));
    expect(await store.read.listHostnames()).toEqual([]);
  });

  it('stores certificate requests, pages them, completes and deletes them', async () => {
    const request = (
      vaultId: string,
      id: string,
      n: number,
      ref: { credential_id?: string; route_id?: string },
    ): CertificateRequestRecord => ({
      id,
      vault_id: vaultId,
      proxy_type: ref.route_id === undefined ? 'outbound' : 'inbound',
      credential_id: ref.credential_id ?? null,
      route_id: ref.route_id ?? null,
      description: n === 1 ? 'Visa 2027' : null,
      hosts: n === 1 ? ['api.visa.test'] : [],
      subject: `CN=request-${id}.test`,
      sans: [`DNS:request-${id}.test`],
      key_type: n === 3 ? 'rsa' : 'ec',
      key_size: n === 3 ? 4096 : null,
      curve: n === 3 ? null : 'P-384',
      csr_pem: `-----BEGIN CERTIFICATE REQUEST-----\n${id}\n-----END CERTIFICATE REQUEST-----\n`,
      private_key_sealed: `v1.sealed-${id}`,
      status: 'pending',
      certificate_id: null,
      created_at: at(n),
      completed_at: null,
    });
    const q1 = request('v1', 'q1', 1, { credential_id: 'c1' });
    await store.write(async (repo) => {
      await repo.insertVault(vault('v1'));
      await repo.insertVault(vault('v2', 1));
      await repo.insertCredential(credential('v1', 'c1'));
      await repo.insertRoute(route('v1', 'r1'));
      // Inserted out of creation order: lists follow created_at, not insertion.
      await repo.insertCertificateRequest(request('v1', 'q3', 3, { route_id: 'r1' }));
      await repo.insertCertificateRequest(q1);
      await repo.insertCertificateRequest(request('v1', 'q2', 2, { credential_id: 'c1' }));
      await repo.insertCertificateRequest(request('v2', 'q4', 4, {}));
    });
    expect(await store.read.getCertificateRequest('v1', 'q1')).toEqual(q1);
    expect(await store.read.getCertificateRequest('v2', 'q1')).toBeUndefined();
    expect((await store.read.getCertificateRequest('v1', 'q3'))?.key_size).toBe(4096);

    const page = async (
      status?: 'pending' | 'completed',
      after?: { created_at: string; id: string },
      limit = 10,
    ) =>
      (await store.read.listCertificateRequestPage({ vaultId: 'v1', status }, { after, limit })).map(
        (r) => r.id,
      );
    expect(await page()).toEqual(['q1', 'q2', 'q3']);
    expect(await page(undefined, undefined, 2)).toEqual(['q1', 'q2']);
    expect(await page(undefined, { created_at: at(2), id: 'q2' })).toEqual(['q3']);
    const { private_key_sealed: _sealed, ...summary } = q1;
    expect((await store.read.listCertificateRequestPage({ vaultId: 'v1' }, { limit: 1 }))[0]).toEqual(
      summary,
    );

    expect(await store.read.countPendingCertificateRequestsFor({ credentialId: 'c1' })).toBe(2);
    expect(await store.read.countPendingCertificateRequestsFor({ routeId: 'r1' })).toBe(1);
    expect(await store.read.countPendingCertificateRequestsFor({})).toBe(0);

    // Completing clears the sealed key (the certificate row holds it from then on), once only.
    expect(await store.write((repo) => repo.completeCertificateRequest('v2', 'q1', 'k9', at(5)))).toBe(false);
    expect(await store.write((repo) => repo.completeCertificateRequest('v1', 'q1', 'k9', at(5)))).toBe(true);
    expect(await store.write((repo) => repo.completeCertificateRequest('v1', 'q1', 'k8', at(6)))).toBe(false);
    expect(await store.read.getCertificateRequest('v1', 'q1')).toEqual({
      ...q1,
      status: 'completed',
      certificate_id: 'k9',
      completed_at: at(5),
      private_key_sealed: null,
    });
    expect(await page('completed')).toEqual(['q1']);
    expect(await page('pending')).toEqual(['q2', 'q3']);
    expect(await store.read.countPendingCertificateRequestsFor({ credentialId: 'c1' })).toBe(1);

    expect(await store.write((repo) => repo.deleteCertificateRequest('v2', 'q2'))).toBe(false);
    expect(await store.write((repo) => repo.deleteCertificateRequest('v1', 'q2'))).toBe(true);
    expect(await page()).toEqual(['q1', 'q3']);
    // Deleting the vault takes its requests along, and no other vault's.
    expect(await store.write((repo) => repo.deleteVault('v1'))).toBe(true);
    expect(await store.read.getCertificateRequest('v1', 'q3')).toBeUndefined();
    expect(await store.read.getCertificateRequest('v2', 'q4')).toMatchObject({ id: 'q4' });
  });

  it('counts a vault’s dependants and deletes them with the vault', async () => {
    await store.write(async (repo) => {
      for (const v of ['v1', 'v2']) {
        await repo.insertVault(vault(v));
        await repo.insertCredential(credential(v, `${v}-c1`));
        await repo.insertCredential(credential(v, `${v}-c2`));
        await repo.insertRoute(route(v, `${v}-r1`));
        await repo.insertCertificate(certificate(v, `${v}-k1`, { credential_id: `${v}-c1` }));
        await repo.insertCertificate(certificate(v, `${v}-k2`, { route_id: `${v}-r1` }));
        await repo.insertAuditEvent(auditEvent(`${v}-e1`, v, 1));
      }
    });
    expect(await store.read.countVaultDependants('v1')).toEqual({
      credentials: 2,
      routes: 1,
      certificates: 2,
      hostnames: 0,
    });

    expect(await store.write((repo) => repo.deleteVault('v1'))).toBe(true);
    expect(await store.read.countVaultDependants('v1')).toEqual({
      credentials: 0,
      routes: 0,
      certificates: 0,
      hostnames: 0,
    });
    expect(await store.read.listCredentials('v1')).toEqual([]);
    expect(await store.read.listRoutes('v1')).toEqual([]);
    expect(await store.read.listCertificates({ vaultId: 'v1' })).toEqual([]);
    expect(await store.read.countVaultDependants('v2')).toEqual({
      credentials: 2,
      routes: 1,
      certificates: 2,
      hostnames: 0,
    });
    // The audit trail outlives what it describes.
    expect((await store.read.listAuditEvents({ vault_id: 'v1' })).map((e) => e.id)).toEqual(['v1-e1']);
  });

  it('rolls back everything when fn throws, without bumping the version', async () => {
    await store.write((repo) => repo.insertVault(vault('v1')));
    const before = await store.version();
    const boom = new Error('boom');
    const attempt = store.write(async (repo) => {
      await repo.insertVault(vault('v2'));
      await repo.insertRoute(route('v1', 'r1'));
      await repo.setMeta('k', 'v');
      throw boom;
    });
    await expect(attempt).rejects.toBe(boom);
    expect(await store.read.getVault('v2')).toBeUndefined();
    expect(await store.read.listRoutes()).toEqual([]);
    expect(await store.read.getMeta('k')).toBeUndefined();
    expect(await store.version()).toBe(before);
    // The store is usable afterwards.
    await store.write((repo) => repo.insertVault(vault('v3')));
    expect(await store.version()).toBeGreaterThan(before);
  });

  it('bumps the version on every committed write and returns fn’s result', async () => {
    const versions = [await store.version()];
    for (const id of ['v1', 'v2', 'v3']) {
      expect(await store.write(async (repo) => (await repo.insertVault(vault(id)), id))).toBe(id);
      versions.push(await store.version());
    }
    for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1] ?? 0);
  });

  it('hides an open write transaction from reads until it commits', async () => {
    let seenInside: unknown = 'unset';
    await store.write(async (repo) => {
      await repo.insertVault(vault('v1'));
      expect(await repo.getVault('v1')).toBeDefined();
      seenInside = await store.read.getVault('v1');
    });
    expect(seenInside).toBeUndefined();
    expect(await store.read.getVault('v1')).toBeDefined();
  });

  it('refuses writes through the read repo', async () => {
    await expect(store.read.insertVault(vault('v1'))).rejects.toBeInstanceOf(ReadOnlyRepoError);
    await expect(store.read.setMeta('k', 'v')).rejects.toBeInstanceOf(ReadOnlyRepoError);
    expect(await store.read.listVaults()).toEqual([]);
  });

  it('serialises concurrent writes', async () => {
    const increment = () =>
      store.write(async (repo) => {
        const n = Number((await repo.getMeta('counter')) ?? '0');
        // Yield between read and write: without serialisation the increments would be lost.
        await new Promise((resolve) => setTimeout(resolve, 1));
        await repo.setMeta('counter', String(n + 1));
      });
    const before = await store.version();
    await Promise.all(Array.from({ length: 25 }, increment));
    expect(await store.read.getMeta('counter')).toBe('25');
    expect(await store.version()).toBe(before + 25);
  });

  it('lists audit events newest first, by vault, with a limit', async () => {
    await store.write(async (repo) => {
      await repo.insertAuditEvent(auditEvent('e1', 'v1', 1));
      await repo.insertAuditEvent(auditEvent('e3', 'v1', 3));
      await repo.insertAuditEvent(auditEvent('e2', 'v2', 2));
      await repo.insertAuditEvent(auditEvent('e4', null, 4));
    });
    const ids = async (query: Parameters<Store['read']['listAuditEvents']>[0]) =>
      (await store.read.listAuditEvents(query)).map((e) => e.id);
    expect(await ids({})).toEqual(['e4', 'e3', 'e2', 'e1']);
    expect(await ids({ vault_id: 'v1' })).toEqual(['e3', 'e1']);
    expect(await ids({ limit: 2 })).toEqual(['e4', 'e3']);
    expect(await ids({ vault_id: 'v1', limit: 1 })).toEqual(['e3']);
    expect((await store.read.listAuditEvents({ vault_id: 'v2' }))[0]).toEqual(auditEvent('e2', 'v2', 2));
  });

  it('keeps data across a reopen, and migrating again changes nothing', async () => {
    await store.write(async (repo) => {
      await repo.insertVault(vault('v1'));
      await repo.insertRoute(route('v1', 'r1'));
    });
    const version = await store.version();
    await store.close();
    store = await db.open();
    expect(await store.version()).toBe(version);
    expect((await store.read.listRoutes()).map((r) => r.id)).toEqual(['r1']);
    const seq = await store.write((repo) => repo.insertRoute(route('v1', 'r2')));
    expect(seq).toBeGreaterThan(version);
  });
  describe('API tokens (migration 8)', () => {
    const token = (id: string, name: string, n = 0): ApiTokenRecord => ({
      id,
      name,
      role: 'operator',
      token_hash: `hash-${id}`,
      created_at: at(n),
      expires_at: null,
      last_used_at: null,
    });

    it('keeps names unique without failing, pages in creation order, and takes sessions away with the token', async () => {
      expect(await store.write((repo) => repo.insertApiToken(token('t1', 'ci', 1)))).toBe(true);
      // A second token of that name (two instances creating "bootstrap" at once) changes nothing.
      expect(await store.write((repo) => repo.insertApiToken(token('t2', 'ci', 2)))).toBe(false);
      await store.write((repo) => repo.insertApiToken(token('t3', 'deploy', 3)));
      expect((await store.read.getApiTokenByHash('hash-t1'))?.name).toBe('ci');
      expect((await store.read.getApiTokenByName('deploy'))?.id).toBe('t3');
      const first = await store.read.listApiTokens({ limit: 1 });
      expect(first.map((x) => x.id)).toEqual(['t1']);
      const rest = await store.read.listApiTokens({ after: { created_at: at(1), id: 't1' }, limit: 10 });
      expect(rest.map((x) => x.id)).toEqual(['t3']);

      await store.write((repo) =>
        repo.insertDashboardSession({
          id_hash: 'cookie-hash',
          id: 's1',
          token_id: 't1',
          token_hash: 'hash-t1',
          created_at: at(4),
          expires_at: at(9),
        }),
      );
      await store.write((repo) => repo.touchApiToken('t1', at(5)));
      expect((await store.read.getApiToken('t1'))?.last_used_at).toBe(at(5));
      await store.write((repo) => repo.replaceApiTokenHash('t1', 'hash-new'));
      expect(await store.read.getDashboardSession('cookie-hash')).toBeUndefined();
      expect(await store.read.getApiToken('t1')).toMatchObject({
        token_hash: 'hash-new',
        last_used_at: null,
      });

      await store.write((repo) =>
        repo.insertDashboardSession({
          id_hash: 'cookie-2',
          id: 's2',
          token_id: 't3',
          token_hash: 'hash-t3',
          created_at: at(4),
          expires_at: at(9),
        }),
      );
      expect((await store.write((repo) => repo.deleteApiToken('t3')))?.name).toBe('deploy');
      expect(await store.read.getDashboardSession('cookie-2')).toBeUndefined();
      expect(await store.write((repo) => repo.deleteApiToken('t3'))).toBeUndefined();
    });

    it('filters audit events by actor', async () => {
      for (const [i, actor] of ['token:ci', 'dashboard:ci', 'token:ci'].entries()) {
        await store.write((repo) =>
          repo.insertAuditEvent({
            id: `e${i}`,
            at: at(i),
            actor,
            action: 'vault.created',
            vault_id: null,
            target_id: null,
            client_address: '127.0.0.1',
          }),
        );
      }
      const events = await store.read.listAuditEvents({ actor: 'token:ci' });
      expect(events.map((e) => e.id)).toEqual(['e2', 'e0']);
    });
  });

  describe('webhooks (migration 6)', () => {
    const webhook = (id: string, n = 0): WebhookRecord => ({
      id,
      url: `https://hooks.example/${id}`,
      events: ['certificate.expiring', 'certificate.created'],
      days_before: [30, 7, 1],
      secret_sealed: `sealed:${id}`,
      description: n % 2 === 0 ? null : `hook ${id}`,
      created_at: at(n),
    });
    const delivery = (id: string, webhookId: string, n = 0): WebhookDeliveryRecord => ({
      id,
      webhook_id: webhookId,
      event_id: `evt-${id}`,
      type: 'certificate.created',
      body: `{"id":"evt-${id}"}`,
      status: 'pending',
      attempts: 0,
      next_attempt_at: at(n),
      claimed_until: null,
      last_status_code: null,
      last_error: null,
      attempt_log: [],
      created_at: at(n),
      delivered_at: null,
    });

    it('inserts, lists in creation order, gets and deletes webhooks with their deliveries', async () => {
      await store.write(async (repo) => {
        await repo.insertWebhook(webhook('w2', 2));
        await repo.insertWebhook(webhook('w1', 1));
        await repo.insertWebhookDelivery(delivery('d1', 'w1'));
      });
      expect((await store.read.listWebhooks()).map((w) => w.id)).toEqual(['w1', 'w2']);
      expect(await store.read.getWebhook('w1')).toEqual(webhook('w1', 1));
      expect(await store.read.getWebhook('nope')).toBeUndefined();
      expect(await store.write((repo) => repo.deleteWebhook('w1'))).toBe(true);
      expect(await store.write((repo) => repo.deleteWebhook('w1'))).toBe(false);
      expect(await store.read.getWebhookDelivery('d1')).toBeUndefined();
    });

    it('pages deliveries newest first', async () => {
      await store.write(async (repo) => {
        await repo.insertWebhook(webhook('w1'));
        for (const n of [1, 2, 3]) await repo.insertWebhookDelivery(delivery(`d${n}`, 'w1', n));
      });
      const first = await store.read.listWebhookDeliveries('w1', { limit: 2 });
      expect(first.map((d) => d.id)).toEqual(['d3', 'd2']);
      expect(first[0]).toEqual(delivery('d3', 'w1', 3));
      const last = first[1] as WebhookDeliveryRecord;
      const rest = await store.read.listWebhookDeliveries('w1', {
        before: { created_at: last.created_at, id: last.id },
        limit: 2,
      });
      expect(rest.map((d) => d.id)).toEqual(['d1']);
    });

    it('lets exactly one of many concurrent claims take a due delivery, and records its attempts', async () => {
      await store.write(async (repo) => {
        await repo.insertWebhook(webhook('w1'));
        await repo.insertWebhookDelivery(delivery('d1', 'w1', 10));
      });
      expect(await store.read.listDueWebhookDeliveries(at(9), 10)).toEqual([]);
      expect(await store.read.listDueWebhookDeliveries(at(10), 10)).toEqual(['d1']);
      expect(await store.read.nextWebhookDeliveryAt()).toBe(at(10));
      const claims = await Promise.all(
        Array.from({ length: 5 }, () =>
          store.write((repo) => repo.claimWebhookDelivery('d1', at(10), at(70))),
        ),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      // Leased: not due for anyone else until the lease runs out.
      expect(await store.read.listDueWebhookDeliveries(at(20), 10)).toEqual([]);
      expect(await store.write((repo) => repo.claimWebhookDelivery('d1', at(20), at(80)))).toBe(false);

      const attempt = { at: at(11), status_code: 500, error: 'HTTP 500' };
      const stale = {
        id: 'd1',
        claimed_until: at(99),
        status: 'pending' as const,
        attempt,
        next_attempt_at: at(40),
      };
      expect(await store.write((repo) => repo.recordWebhookAttempt(stale))).toBe(false);
      expect(
        await store.write((repo) => repo.recordWebhookAttempt({ ...stale, claimed_until: at(70) })),
      ).toBe(true);
      const retried = await store.read.getWebhookDelivery('d1');
      expect(retried).toMatchObject({
        status: 'pending',
        attempts: 1,
        claimed_until: null,
        last_status_code: 500,
      });
      expect(retried?.attempt_log).toEqual([attempt]);
      expect(retried?.next_attempt_at).toBe(at(40));

      expect(await store.write((repo) => repo.claimWebhookDelivery('d1', at(40), at(100)))).toBe(true);
      const ok = { at: at(41), status_code: 204, error: null };
      await store.write((repo) =>
        repo.recordWebhookAttempt({
          id: 'd1',
          claimed_until: at(100),
          status: 'delivered',
          attempt: ok,
          next_attempt_at: at(40),
        }),
      );
      const delivered = await store.read.getWebhookDelivery('d1');
      expect(delivered).toMatchObject({
        status: 'delivered',
        attempts: 2,
        delivered_at: at(41),
        last_error: null,
      });
      expect(delivered?.attempt_log.map((a) => a.status_code)).toEqual([500, 204]);
      expect(await store.read.listDueWebhookDeliveries(at(1000), 10)).toEqual([]);
      expect(await store.read.nextWebhookDeliveryAt()).toBeUndefined();
    });

    it('inserts a notification mark once, even when instances race for it', async () => {
      const mark = { subject_id: 'c1', type: 'certificate.expiring' as const, threshold_days: 7 };
      const inserted = await Promise.all(
        Array.from({ length: 4 }, () => store.write((repo) => repo.insertNotificationMark(mark, at(1)))),
      );
      expect(inserted.filter(Boolean)).toHaveLength(1);
      expect(
        await store.write((repo) => repo.insertNotificationMark({ ...mark, threshold_days: 1 }, at(2))),
      ).toBe(true);
      const marks = await store.read.listNotificationMarks(['c1', 'c2']);
      expect(marks.map((m) => m.threshold_days).sort()).toEqual([1, 7]);
    });

    it('lists the certificates that expire by an instant', async () => {
      await store.write(async (repo) => {
        await repo.insertVault(vault('v1'));
        await repo.insertCredential(credential('v1', 'c1'));
        await repo.insertCertificate({
          ...certificate('v1', 'late', { credential_id: 'c1' }),
          not_after: at(500),
        });
        await repo.insertCertificate({
          ...certificate('v1', 'soon', { credential_id: 'c1' }),
          not_after: at(100),
        });
      });
      expect((await store.read.listCertificatesExpiringBy(at(99))).map((c) => c.id)).toEqual([]);
      expect((await store.read.listCertificatesExpiringBy(at(100))).map((c) => c.id)).toEqual(['soon']);
      expect((await store.read.listCertificatesExpiringBy(at(600))).map((c) => c.id)).toEqual([
        'soon',
        'late',
      ]);
    });
  });
});
