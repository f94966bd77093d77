import { afterAll, describe, expect, it } from 'vitest';
import { VaultgateError } from '../errors.js';
import { makeLeaf, openssl } from '../../test/helpers/pki-fixtures.js';
import { JobTimeLimitError, OffloadPool } from './pool.js';

const pools: OffloadPool[] = [];
const pool = (options: ConstructorParameters<typeof OffloadPool>[0] = {}): OffloadPool => {
  const p = new OffloadPool(options);
  pools.push(p);
  return p;
};
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe('OffloadPool', () => {
  it('runs parseUpload in a thread and returns plain data', async () => {
    const leaf = makeLeaf({ cn: 'offload.example' });
    const parsed = await pool().run('parseUpload', { certificate: leaf.certPem, private_key: leaf.keyPem });
    expect(parsed.metadata.subject).toContain('offload.example');
    expect(parsed.privateKeyPem).toContain('BEGIN PRIVATE KEY');
  });

  it('carries a VaultgateError back with its code, message and field', async () => {
    const err = await pool()
      .run('parseUpload', { certificate: 'not pem', private_key: 'x' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VaultgateError);
    expect(err).toMatchObject({ code: 'invalid_certificate', field: 'certificate', status: 422 });
  });

  it('terminates a job past its time limit and replaces the thread for the next one', async () => {
    // PBKDF2 at the accepted maximum (10^6 iterations) takes ~0.7 s here: far past a 50 ms limit, which the cheap jobs here (well under 1 ms) never meet even on a loaded machine.
    const leaf = makeLeaf({ cn: 'slow.example' });
    const slowKey = openssl(
      ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-iter', '1000000', '-passout', 'pass:pw'],
      leaf.keyPem,
    ).toString();
    const p = pool({ size: 1, timeLimitMs: 50 });
    // Warm up: the first job includes starting the thread, which the limit does not count.
    await p.run('checkHostEndpoint', '(.*)');
    const queuedBehind = p.run('checkHostEndpoint', 'api\\.example\\.com');
    const err = await p
      .run('parseUpload', { certificate: leaf.certPem, private_key: slowKey, passphrase: 'wrong' })
      .catch((e: unknown) => e);
    await expect(queuedBehind).resolves.toBeNull();
    expect(err).toBeInstanceOf(JobTimeLimitError);
    expect((err as JobTimeLimitError).limitMs).toBe(50);
    await expect(p.run('checkHostEndpoint', '(a)\\1')).rejects.toMatchObject({ code: 'invalid_field' });
    expect(p.threads).toBe(1);
  });

  it('rejects queued work once closed', async () => {
    const p = pool();
    await p.close();
    await expect(p.run('checkHostEndpoint', '(.*)')).rejects.toThrow(/closed/);
  });
});
