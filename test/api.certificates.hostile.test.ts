import { createPrivateKey } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malformedUploads } from './helpers/malformed-uploads.js';
import { chainPem, makeCa, makeLeaf, makePkcs12 } from './helpers/pki-fixtures.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

let t: TestVaultgate;
let vault: { id: string };
let credential: { id: string };
const logLines: string[] = [];

beforeAll(async () => {
  t = await startTestVaultgate({}, { logLines });
  vault = (await t.api('POST', '/vaults', { name: 'Hostile uploads' })).json.data;
  credential = (await t.api('POST', `/vaults/${vault.id}/credentials`, {})).json.data;
});
afterAll(async () => {
  await t.stop();
});

const count = async (): Promise<number> =>
  (await t.api('GET', `/vaults/${vault.id}/certificates`)).json.data.length;

describe('malformed uploads over HTTP', () => {
  it('answers every one of 200+ malformed uploads with a 4xx and a stable code, storing nothing', async () => {
    const corpus = malformedUploads();
    expect(corpus.length).toBeGreaterThanOrEqual(200);
    const before = await count();
    const auditBefore = (await t.api('GET', `/audit-events?vault_id=${vault.id}&limit=1000`)).json.data
      .length;
    const codes = new Map<string, number>();
    let sent = 0;
    for (const { name, input, code } of corpus) {
      try {
        JSON.stringify(input);
      } catch {
        continue; // a few entries hold values JSON cannot carry (BigInt); the library test covers them
      }
      sent++;
      const res = await t.api('POST', `/vaults/${vault.id}/certificates`, {
        proxy_type: 'outbound',
        credential_id: credential.id,
        ...input,
      });
      expect(res.status, name).toBeGreaterThanOrEqual(400);
      expect(res.status, `${name}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
      expect(res.json?.error?.code, name).toMatch(/^[a-z0-9_]+$/);
      if (code !== undefined) expect(res.json.error.code, name).toBe(code);
      expect(typeof res.json.error.message).toBe('string');
      codes.set(res.json.error.code, (codes.get(res.json.error.code) ?? 0) + 1);
    }
    expect(sent).toBeGreaterThanOrEqual(200);
    expect(await count()).toBe(before);
    expect((await t.api('GET', `/audit-events?vault_id=${vault.id}&limit=1000`)).json.data.length).toBe(
      auditBefore,
    );
    expect((await fetch(`${t.adminUrl}/healthz`)).status).toBe(200);
    // A spread of codes, not one catch-all.
    expect(codes.size).toBeGreaterThanOrEqual(6);
  });

  it('answers wrong JSON types and shapes with 4xx', async () => {
    const bodies = [
      'null',
      '[]',
      '"x"',
      '42',
      '{"proxy_type": ["outbound"]}',
      '{"certificate": {"a": 1}}',
      '{"hosts": "a"}',
    ];
    for (const body of bodies) {
      const res = await t.api('POST', `/vaults/${vault.id}/certificates`, body);
      expect(res.status, body).toBeGreaterThanOrEqual(400);
      expect(res.status, body).toBeLessThan(500);
    }
  });
});

describe('private keys never leak', () => {
  it('keeps every uploaded key out of responses, logs and the database file', async () => {
    const ca = makeCa({ cn: 'Leak Test CA' });
    const leaves = [
      makeLeaf({ issuer: ca, cn: 'leak-rsa.example', keyType: 'rsa2048' }),
      makeLeaf({ issuer: ca, cn: 'leak-ec.example', keyType: 'p384' }),
      makeLeaf({ issuer: ca, cn: 'leak-ed.example', keyType: 'ed25519' }),
    ];
    const bodies: string[] = [];
    for (const [i, leaf] of leaves.entries()) {
      const upload =
        i === 0
          ? { pkcs12: makePkcs12(leaf, { passphrase: 'p12 pass' }), passphrase: 'p12 pass' }
          : { certificate: chainPem(leaf), private_key: leaf.keyPem };
      const res = await t.api('POST', `/vaults/${vault.id}/certificates`, {
        proxy_type: 'outbound',
        credential_id: credential.id,
        ...upload,
      });
      expect(res.status, res.text).toBe(201);
      bodies.push(res.text);
      bodies.push((await t.api('GET', `/vaults/${vault.id}/certificates/${res.json.data.id}`)).text);
    }
    bodies.push((await t.api('GET', `/vaults/${vault.id}/certificates`)).text);
    bodies.push((await t.api('GET', `/audit-events?limit=1000`)).text);
    bodies.push(
      await fetch(`${t.adminUrl}/metrics`, { headers: { authorization: `Bearer ${t.token}` } }).then((r) =>
        r.text(),
      ),
    );
    await t.vg.stop(1000); // flush the WAL so the database file holds everything
    const files = readdirSync(t.dataDir)
      .filter((n) => n !== 'master.key' && n !== 'admin-token')
      .map((n) => readFileSync(join(t.dataDir, n)));
    const text = [...bodies, ...logLines].join('\n');
    expect(logLines.length).toBeGreaterThan(0);

    for (const leaf of leaves) {
      // The private parts only: RSA and EC PKCS#8 keys also carry the public key, which the
      // certificate rightly shows, so whole-key fragments would match public material.
      const jwk = createPrivateKey(leaf.keyPem).export({ format: 'jwk' }) as Record<
        string,
        string | undefined
      >;
      const secrets = ['d', 'p', 'q', 'dp', 'dq', 'qi']
        .map((k) => jwk[k])
        .filter((v): v is string => v !== undefined)
        .map((v) => Buffer.from(v, 'base64url'));
      expect(secrets.length).toBeGreaterThan(0);
      for (const secret of secrets) {
        for (const form of [
          secret.toString('base64'),
          secret.toString('base64url'),
          secret.toString('hex'),
        ]) {
          expect(
            text.includes(form.slice(0, 24)),
            `a private value (${form.slice(0, 8)}…) in a response or log`,
          ).toBe(false);
        }
        for (let i = 0; i + 16 <= secret.length; i += 8) {
          const window = secret.subarray(i, i + 16);
          for (const file of files) expect(file.includes(window), 'raw private bytes in a file').toBe(false);
        }
        for (const file of files) {
          expect(
            file.includes(Buffer.from(secret.toString('base64').slice(0, 24))),
            'private base64 in a file',
          ).toBe(false);
        }
      }
      const certText = chainPem(leaf);
      for (const line of leaf.keyPem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) {
        if (certText.includes(line)) continue;
        expect(text.includes(line), 'a line of the key PEM in a response or log').toBe(false);
        for (const file of files)
          expect(file.includes(Buffer.from(line)), 'a line of the key PEM in a file').toBe(false);
      }
    }
    expect(text).not.toContain('p12 pass');
    expect(text).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
  });
});
