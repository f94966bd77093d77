/**
 * Admin requests that, before issue 11, each held vaultgate's event loop for 0.5–11 s (and every
 * proxied request with it): hostile key-derivation parameters, a quadratic whitespace run, a
 * `ca_pem` of thousands of BEGIN markers, and a catastrophic `host_endpoint`. Each entry says what
 * a fixed vaultgate answers. Shared by test/event-loop.probe.test.ts and the reliability suite.
 */
import forge from 'node-forge';
import { makeLeaf, openssl } from './pki-fixtures.js';

export interface HostileRequest {
  readonly name: string;
  /** Relative to /vaults/<id>: `certificates` (with proxy_type/credential_id added) or `routes`. */
  readonly resource: 'certificates' | 'routes';
  readonly body: Record<string, unknown>;
  /** What a fixed vaultgate answers. */
  readonly status: number;
  /** Acceptable codes: a derivation near its cap may also meet the offload time limit on a busy machine. */
  readonly codes?: readonly string[];
}

export function pemBody(pem: string): Buffer {
  return Buffer.from(
    pem
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('-----'))
      .join(''),
    'base64',
  );
}

export function armour(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Replaces the INTEGER at `path` (child indexes) of a DER structure. */
export function patchInteger(der: Buffer, path: readonly number[], value: number): Buffer {
  const root = forge.asn1.fromDer(der.toString('binary'));
  let node = root;
  for (const index of path) node = (node.value as forge.asn1.Asn1[])[index] as forge.asn1.Asn1;
  node.value = forge.asn1.integerToDer(value).getBytes();
  return Buffer.from(forge.asn1.toDer(root).getBytes(), 'binary');
}

export function hostileRequests(): HostileRequest[] {
  const leaf = makeLeaf({ cn: 'hostile.example' });
  // `openssl pkcs8 -scrypt` writes N=16384, r=8, p=1; p is then raised to 100 without re-encrypting
  // (a wrong passphrase is what an attacker sends anyway). EncryptedPrivateKeyInfo → algorithm →
  // PBES2 params → keyDerivationFunc → scrypt params → p.
  const scrypt = pemBody(
    openssl(['pkcs8', '-topk8', '-scrypt', '-passout', 'pass:right'], leaf.keyPem).toString(),
  );
  const pbkdf2AtCap = openssl(
    ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-iter', '1000000', '-passout', 'pass:right'],
    leaf.keyPem,
  ).toString();
  return [
    {
      name: 'encrypted PKCS#8 with scrypt p=100, wrong passphrase',
      resource: 'certificates',
      body: {
        certificate: leaf.certPem,
        private_key: armour('ENCRYPTED PRIVATE KEY', patchInteger(scrypt, [0, 1, 0, 1, 3], 100)),
        passphrase: 'wrong',
      },
      status: 422,
      codes: ['invalid_private_key'],
    },
    {
      name: 'certificate with a line of 80 KB of spaces between two characters',
      resource: 'certificates',
      body: { certificate: `${leaf.certPem}x${' '.repeat(80_000)}x\n` },
      // The whitespace is outside any block and ignored; the bundle has no key.
      status: 422,
      codes: ['invalid_private_key'],
    },
    {
      name: 'encrypted PKCS#8 with PBKDF2 at the 1,000,000-iteration cap, wrong passphrase',
      resource: 'certificates',
      body: { certificate: leaf.certPem, private_key: pbkdf2AtCap, passphrase: 'wrong' },
      status: 422,
      // ≈ 0.7 s alone; on a machine loaded ×5 it can pass the 4 s limit, refused then with the limit named.
      codes: ['bad_passphrase', 'invalid_private_key'],
    },
    {
      name: 'route ca_pem of 9,000 BEGIN markers',
      resource: 'routes',
      body: {
        destination_override_endpoint: '*',
        upstream_tls: { ca_pem: '-----BEGIN CERTIFICATE-----\n'.repeat(9_000) },
      },
      status: 422,
      codes: ['invalid_field'],
    },
    {
      name: 'route ca_pem of 9,000 BEGIN markers without line breaks',
      resource: 'routes',
      body: {
        destination_override_endpoint: '*',
        upstream_tls: { ca_pem: '-----BEGIN CERTIFICATE-----'.repeat(9_000) },
      },
      status: 422,
      codes: ['invalid_field'],
    },
    {
      name: 'route host_endpoint with nested repetition (catastrophic for a backtracking engine)',
      resource: 'routes',
      body: { destination_override_endpoint: '*', host_endpoint: '(([a-z-]+)+)+\\.(x+x+)+y' },
      // Matched in linear time now, so nothing to refuse.
      status: 201,
    },
  ];
}
