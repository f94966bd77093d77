import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

/** Two vaultgate instances on one PostgreSQL database, as a horizontally scaled deployment runs. */
describe('two instances sharing PostgreSQL', () => {
  let db: TestDatabase;
  let a: TestVaultgate;
  let b: TestVaultgate;

  beforeAll(async () => {
    db = await createTestDatabase();
    const shared = {
      VAULTGATE_DATABASE_URL: db.url,
      VAULTGATE_MASTER_KEY: randomBytes(32).toString('base64'),
      VAULTGATE_ADMIN_TOKEN: `vgadm_${randomBytes(16).toString('hex')}`,
    };
    // Started together, as a scaled deployment does: only one may create the default vault.
    [a, b] = await Promise.all([startTestVaultgate(shared), startTestVaultgate(shared)]);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  async function until(check: () => boolean, ms: number): Promise<number> {
    const started = Date.now();
    while (!check()) {
      if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return Date.now() - started;
  }

  it('share one default vault and one set of secrets', async () => {
    const fromA = (await a.api('GET', '/vaults')).json.data;
    const fromB = (await b.api('GET', '/vaults')).json.data;
    expect(fromA).toHaveLength(1);
    expect(fromB).toEqual(fromA);
    expect((await a.api('GET', '/local-ca')).text).toBe((await b.api('GET', '/local-ca')).text);
  });

  it('propagate a change made through one instance to the other within 1 second', async () => {
    const vault = (await a.api('POST', '/vaults', { name: 'Propagated' })).json.data;
    await until(() => b.vg.snapshot.current.vaultsById.has(vault.id), 1000);
    const credential = (await b.api('POST', `/vaults/${vault.id}/credentials`, {})).json.data;
    await until(() => a.vg.snapshot.current.credentialsByUsername.has(credential.username), 1000);
    await a.api('PATCH', `/vaults/${vault.id}/credentials/${credential.id}`, { status: 'inactive' });
    const ms = await until(
      () => b.vg.snapshot.current.credentialsByUsername.get(credential.username)?.active === false,
      1000,
    );
    console.log(`change propagated between instances in ${ms} ms`);
  });
});
