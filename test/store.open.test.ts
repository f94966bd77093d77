/** What openStore says when the database cannot be used: one sentence, fit for a terminal, no secrets. */
import { describe, expect, it } from 'vitest';
import { StoreOpenError, openStore } from '../src/store/open.js';

describe('openStore failures', () => {
  it('names VAULTGATE_DATABASE_URL and the reason, never the password', async () => {
    const attempt = openStore({
      dataDir: '/nonexistent',
      databaseUrl: 'postgres://vg:s3cr3t@127.0.0.1:1/test',
    });
    await expect(attempt).rejects.toBeInstanceOf(StoreOpenError);
    const message = await attempt.catch((error: Error) => error.message);
    expect(message).toBe(
      'Cannot connect to the PostgreSQL database in VAULTGATE_DATABASE_URL (127.0.0.1:1/test): the connection was refused.',
    );
    expect(message).not.toContain('s3cr3t');
  });

  it('rejects a URL that is not postgres://', async () => {
    const attempt = openStore({ dataDir: '/nonexistent', databaseUrl: 'mysql://root:pw@localhost/db' });
    await expect(attempt).rejects.toThrow(/^VAULTGATE_DATABASE_URL must start with postgres:\/\//);
  });

  it('reports a missing database with the server’s reason', async () => {
    const attempt = openStore({
      dataDir: '/nonexistent',
      databaseUrl: 'postgres://postgres:pw@127.0.0.1:5432/vaultgate_no_such_db',
    });
    await expect(attempt).rejects.toThrow(/VAULTGATE_DATABASE_URL .*: the database does not exist\.$/);
  });
});
