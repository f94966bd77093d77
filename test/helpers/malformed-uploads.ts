/**
 * A corpus of malformed certificate uploads (the `certificate` / `private_key` / `passphrase` /
 * `pkcs12` fields of `POST …/certificates`), every one of which must be refused with a 4xx error —
 * never accepted, never a crash, never a hang. Used by the library test (src/certificates) and meant
 * for the API-level test too, where each entry becomes a request body.
 *
 * Deterministic: the same seed gives the same corpus. Built from real material made by
 * pki-fixtures.ts, then damaged.
 *
 * Deliberately absent: bit flips in RSA private keys. RSA keys carry redundant private values (d and
 * the CRT parameters); OpenSSL signs with the CRT values and checks the result, so a flipped bit in
 * `d` leaves a key that still works — not a malformed upload. Likewise flips in a PKCS#12 without a
 * MAC can land in a friendly-name attribute that nothing reads.
 */
import forge from 'node-forge';
import {
  chainPem,
  convertKey,
  makeCa,
  makeCsr,
  makeKey,
  makeLeaf,
  makePkcs12,
  publicKeyOf,
} from './pki-fixtures.js';

export interface MalformedUpload {
  readonly name: string;
  /** The upload as a JSON body would carry it (plus a few values JSON cannot express). */
  readonly input: Record<string, unknown>;
  /** The code it must be refused with, where exactly one is right. */
  readonly code?: string;
}

/** mulberry32: tiny, seedable, good enough to pick bits to flip. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pemBody(pem: string): Buffer {
  const b64 = pem
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('-----'))
    .join('');
  return Buffer.from(b64, 'base64');
}

function armour(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Flips one random bit within the byte ranges [start, end) given (the whole buffer by default). */
function flipBit(
  der: Buffer,
  random: () => number,
  ranges: readonly [number, number][] = [[0, der.length]],
): Buffer {
  const copy = Buffer.from(der);
  const total = ranges.reduce((n, [start, end]) => n + end - start, 0);
  let offset = Math.floor(random() * total);
  let byte = 0;
  for (const [start, end] of ranges) {
    if (offset < end - start) {
      byte = start + offset;
      break;
    }
    offset -= end - start;
  }
  const bit = byte * 8 + Math.floor(random() * 8);
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
}

/** Replaces the INTEGER found at `path` (child indexes) in a DER structure; forge re-encodes lengths. */
function patchInteger(der: Buffer, path: readonly number[], value: number): Buffer {
  const root = forge.asn1.fromDer(der.toString('binary'));
  let node = root;
  for (const index of path) node = (node.value as forge.asn1.Asn1[])[index] as forge.asn1.Asn1;
  node.value = forge.asn1.integerToDer(value).getBytes();
  return Buffer.from(forge.asn1.toDer(root).getBytes(), 'binary');
}

/** Replaces the OID found at `path` (child indexes) in a DER structure. */
function patchOid(der: Buffer, path: readonly number[], value: string): Buffer {
  const root = forge.asn1.fromDer(der.toString('binary'));
  let node = root;
  for (const index of path) node = (node.value as forge.asn1.Asn1[])[index] as forge.asn1.Asn1;
  node.value = forge.asn1.oidToDer(value).getBytes();
  return Buffer.from(forge.asn1.toDer(root).getBytes(), 'binary');
}

/**
 * Keys encrypted (passphrase `pw`) with schemes OpenSSL 3 cannot run without its legacy provider or
 * does not know at all — each must be refused as invalid_private_key, never as bad_passphrase (the
 * passphrase is right; vaultgate cannot use the algorithm). Made without the legacy provider, which
 * not every openssl build ships: a legacy PEM header naming DES, and PKCS#8 structures whose
 * algorithm identifiers are swapped for ones OpenSSL refuses.
 */
export function unsupportedEncryptedKeys(keyPem: string): [name: string, pem: string][] {
  const legacy = convertKey(keyPem, 'legacy-encrypted', 'pw');
  const [, iv] = /DEK-Info: AES-128-CBC,([0-9A-F]+)/.exec(legacy) ?? [];
  if (iv === undefined) throw new Error('unexpected legacy PEM header');
  const pkcs8 = pemBody(convertKey(keyPem, 'encrypted-pkcs8', 'pw'));
  // EncryptedPrivateKeyInfo → algorithm [0] → { PBES2 oid [0,0], params [0,1] → { KDF [0,1,0], cipher [0,1,1] } }
  const kdfParams = (
    (forge.asn1.fromDer(pkcs8.toString('binary')).value[0] as forge.asn1.Asn1).value[1] as forge.asn1.Asn1
  ).value as forge.asn1.Asn1[];
  const prfIndex =
    (((kdfParams[0] as forge.asn1.Asn1).value[1] as forge.asn1.Asn1).value as unknown[]).length - 1;
  const encrypted = (der: Buffer): string => armour('ENCRYPTED PRIVATE KEY', der);
  return [
    [
      'legacy PEM encrypted with DES-CBC',
      legacy.replace(/AES-128-CBC,[0-9A-F]+/, `DES-CBC,${iv.slice(0, 16)}`),
    ],
    ['legacy PEM naming an unknown cipher', legacy.replace('AES-128-CBC', 'FOO-128-CBC')],
    ['PKCS#8 with an unknown encryption scheme', encrypted(patchOid(pkcs8, [0, 0], '1.2.3.4.7'))],
    ['PKCS#8 PBES2 with DES-CBC', encrypted(patchOid(pkcs8, [0, 1, 1, 0], '1.3.14.3.2.7'))],
    ['PKCS#8 PBES2 with an unknown cipher', encrypted(patchOid(pkcs8, [0, 1, 1, 0], '1.2.3.4.5'))],
    ['PKCS#8 PBES2 with an unknown KDF', encrypted(patchOid(pkcs8, [0, 1, 0, 0], '1.2.3.4.6'))],
    [
      'PKCS#8 PBKDF2 with an unknown PRF',
      encrypted(patchOid(pkcs8, [0, 1, 0, 1, prfIndex, 0], '1.2.840.113549.2.99')),
    ],
  ];
}

export function malformedUploads(seed = 20240229): MalformedUpload[] {
  const random = prng(seed);
  const out: MalformedUpload[] = [];
  const add = (name: string, input: Record<string, unknown>, code?: string): void => {
    out.push(code === undefined ? { name, input } : { name, input, code });
  };

  const root = makeCa({ cn: 'Malformed Root' });
  const intermediate = makeCa({ cn: 'Malformed Intermediate', issuer: root });
  const leaf = makeLeaf({ issuer: intermediate, cn: 'malformed.example' });
  const edLeaf = makeLeaf({ cn: 'malformed-ed.example', keyType: 'ed25519' });
  const other = makeLeaf({ cn: 'someone-else.example' });
  const fullChain = leaf.certPem + intermediate.certPem + root.certPem;
  const leafDer = pemBody(leaf.certPem);
  const keyDer = pemBody(leaf.keyPem);

  // Truncated PEM: cut anywhere (missing END line), and cut inside the base64 with the END restored.
  for (let i = 1; i <= 12; i++) {
    const cut = Math.floor((leaf.certPem.length * i) / 13);
    add(`certificate truncated at ${cut} chars`, {
      certificate: leaf.certPem.slice(0, cut),
      private_key: leaf.keyPem,
    });
  }
  for (let i = 1; i <= 12; i++) {
    const der = leafDer.subarray(0, Math.floor((leafDer.length * i) / 13));
    add(`certificate DER truncated to ${der.length} bytes`, {
      certificate: armour('CERTIFICATE', der),
      private_key: leaf.keyPem,
    });
  }
  for (let i = 1; i <= 6; i++) {
    const der = keyDer.subarray(0, Math.floor((keyDer.length * i) / 7));
    add(`private key DER truncated to ${der.length} bytes`, {
      certificate: leaf.certPem,
      private_key: armour('PRIVATE KEY', der),
    });
  }

  // Bit flips in the leaf and the intermediate of a full chain: every byte of each is covered by a
  // signature made by a certificate we hold. (Not in the root: its issuer name is covered only by
  // its own signature, so a flip there leaves a plausible certificate of an absent issuer.)
  const chainParts = [leaf.certPem, intermediate.certPem, root.certPem].map(pemBody);
  for (let i = 0; i < 40; i++) {
    const which = i % 2;
    const parts = chainParts.map((der, j) => armour('CERTIFICATE', j === which ? flipBit(der, random) : der));
    add(`bit flip in chain certificate ${which} (#${i})`, {
      certificate: parts.join(''),
      private_key: leaf.keyPem,
    });
  }
  // Bit flips in the key material of EC and Ed25519 keys (they have no redundant private values).
  // Only the key bytes: elsewhere a flip can make an equivalent key — PKCS#8 version 0 → 1 is a
  // legal OneAsymmetricKey (RFC 5958), and 0x04 → 0x06/0x07 is the same point in hybrid form.
  // P-256 PKCS#8 as OpenSSL writes it (138 bytes): scalar at 36..67, point coordinates at 74..137.
  if (keyDer.length !== 138) throw new Error('unexpected P-256 PKCS#8 layout');
  for (let i = 0; i < 20; i++) {
    add(`bit flip in EC private key (#${i})`, {
      certificate: fullChain,
      private_key: armour(
        'PRIVATE KEY',
        flipBit(keyDer, random, [
          [36, 68],
          [74, 138],
        ]),
      ),
    });
  }
  for (let i = 0; i < 10; i++) {
    add(`bit flip in Ed25519 private key (#${i})`, {
      certificate: edLeaf.certPem,
      private_key: armour('PRIVATE KEY', flipBit(pemBody(edLeaf.keyPem), random, [[16, 48]])),
    });
  }

  // PKCS#12, truncated and bit-flipped (files with a MAC: every byte is covered or structural).
  for (const encryption of ['modern', 'legacy'] as const) {
    const p12 = Buffer.from(makePkcs12(leaf, { encryption, passphrase: 'pw' }), 'base64');
    for (let i = 1; i <= 6; i++) {
      const cut = p12.subarray(0, Math.floor((p12.length * i) / 7));
      add(`${encryption} PKCS#12 truncated to ${cut.length} bytes`, {
        pkcs12: cut.toString('base64'),
        passphrase: 'pw',
      });
    }
    for (let i = 0; i < 15; i++) {
      add(`bit flip in ${encryption} PKCS#12 (#${i})`, {
        pkcs12: flipBit(p12, random).toString('base64'),
        passphrase: 'pw',
      });
    }
    // PFX → macData (index 2) → iterations (index 2): a MAC that would take hours to derive.
    add(`${encryption} PKCS#12 asking for 2^31-1 MAC iterations`, {
      pkcs12: patchInteger(p12, [2, 2], 0x7fffffff).toString('base64'),
      passphrase: 'pw',
    });
  }
  // EncryptedPrivateKeyInfo → algorithm → PBES2 params → KDF → PBKDF2 params → iterationCount.
  const encrypted = pemBody(convertKey(leaf.keyPem, 'encrypted-pkcs8', 'pw'));
  for (const [name, pem] of unsupportedEncryptedKeys(leaf.keyPem)) {
    add(
      `key encrypted with an unsupported algorithm: ${name}`,
      { certificate: leaf.certPem, private_key: pem, passphrase: 'pw' },
      'invalid_private_key',
    );
  }
  // Certificates the TLS stack refuses to send (SPEC §2 weak_signature, unusable_certificate).
  const sha1Leaf = makeLeaf({ issuer: intermediate, cn: 'sha1-leaf.example', digest: 'sha1' });
  add(
    'leaf signed with SHA-1',
    { certificate: chainPem(sha1Leaf), private_key: sha1Leaf.keyPem },
    'weak_signature',
  );
  const sha1Intermediate = makeCa({ cn: 'Malformed SHA-1 Intermediate', issuer: root, digest: 'sha1' });
  const underSha1 = makeLeaf({ issuer: sha1Intermediate, cn: 'under-sha1.example' });
  add(
    'intermediate signed with SHA-1',
    { certificate: chainPem(underSha1), private_key: underSha1.keyPem },
    'weak_signature',
  );
  const md5Ca = makeCa({ cn: 'Malformed RSA CA', keyType: 'rsa2048' });
  const md5Leaf = makeLeaf({ issuer: md5Ca, cn: 'md5-leaf.example', digest: 'md5' });
  add(
    'leaf signed with MD5',
    { certificate: chainPem(md5Leaf), private_key: md5Leaf.keyPem },
    'weak_signature',
  );
  const weakCa = makeCa({ cn: 'Malformed 512-bit CA', keyType: 'rsa512' });
  const underWeakCa = makeLeaf({ issuer: weakCa, cn: 'under-weak-ca.example' });
  add(
    'chain whose CA key is 512 bits',
    { certificate: chainPem(underWeakCa), private_key: underWeakCa.keyPem },
    'unusable_certificate',
  );

  add('encrypted PKCS#8 asking for 2^31-1 PBKDF2 iterations', {
    certificate: leaf.certPem,
    private_key: armour('ENCRYPTED PRIVATE KEY', patchInteger(encrypted, [0, 1, 0, 1, 1], 0x7fffffff)),
    passphrase: 'pw',
  });

  // Wrong things in the right place.
  const csr = makeCsr(leaf.keyPem);
  const pub = publicKeyOf(leaf.keyPem);
  add('CSR as certificate', { certificate: csr, private_key: leaf.keyPem });
  add('public key as private key', { certificate: leaf.certPem, private_key: pub });
  add('public key as certificate', { certificate: pub, private_key: leaf.keyPem });
  add('certificate as private key', { certificate: leaf.certPem, private_key: leaf.certPem });
  add('private key as certificate', { certificate: leaf.keyPem, private_key: leaf.keyPem });
  add('only a key in the bundle', { certificate: leaf.keyPem });
  add('certificate without key', { certificate: leaf.certPem });
  add('key without certificate', { private_key: leaf.keyPem });
  add('two keys in the bundle', { certificate: leaf.certPem + leaf.keyPem + other.keyPem });
  add('key in bundle and in private_key', {
    certificate: leaf.certPem + leaf.keyPem,
    private_key: leaf.keyPem,
  });
  for (const label of [
    'PKCS7',
    'TRUSTED CERTIFICATE',
    'X509 CRL',
    'OPENSSH PRIVATE KEY',
    'DSA PRIVATE KEY',
    'FOO BAR',
  ]) {
    add(`"${label}" block as certificate`, { certificate: armour(label, leafDer), private_key: leaf.keyPem });
    add(`"${label}" block as private key`, { certificate: leaf.certPem, private_key: armour(label, keyDer) });
  }
  add('certificate DER under a key label', {
    certificate: leaf.certPem,
    private_key: armour('PRIVATE KEY', leafDer),
  });
  add('key DER under a certificate label', {
    certificate: armour('CERTIFICATE', keyDer),
    private_key: leaf.keyPem,
  });
  add('END label differs', {
    certificate: leaf.certPem.replace('END CERTIFICATE', 'END CERTIFICATES'),
    private_key: leaf.keyPem,
  });
  add('END without BEGIN', { certificate: '-----END CERTIFICATE-----\n', private_key: leaf.keyPem });
  add('BEGIN inside BEGIN', {
    certificate: leaf.certPem.replace('\n', `\n${leaf.certPem}`),
    private_key: leaf.keyPem,
  });
  add('bare base64 DER as certificate', {
    certificate: leafDer.toString('base64'),
    private_key: leaf.keyPem,
  });
  add('bare base64 DER as key', { certificate: leaf.certPem, private_key: keyDer.toString('base64') });
  add('certificate DER as pkcs12', { pkcs12: leafDer.toString('base64') });
  add('PEM as pkcs12', { pkcs12: leaf.certPem });
  add('misplaced base64 padding', {
    certificate: leaf.certPem.replace(/\n(-----END)/, '=A\n$1'),
    private_key: leaf.keyPem,
  });

  // Keys that belong to other certificates.
  for (const keyType of ['p256', 'p384', 'ed25519', 'rsa2048'] as const) {
    add(`${keyType} key of another certificate`, {
      certificate: fullChain,
      private_key: makeKey(keyType, 'stranger'),
    });
  }
  add('key of the intermediate with the leaf', {
    certificate: leaf.certPem,
    private_key: intermediate.keyPem,
  });

  // Noise.
  for (let i = 0; i < 15; i++) {
    const noise = Buffer.from(
      Array.from({ length: 1 + Math.floor(random() * 2000) }, () => Math.floor(random() * 256)),
    );
    add(`random bytes as certificate (#${i})`, {
      certificate: armour('CERTIFICATE', noise),
      private_key: leaf.keyPem,
    });
    add(`random bytes as key (#${i})`, {
      certificate: leaf.certPem,
      private_key: armour('PRIVATE KEY', noise),
    });
    add(`random bytes as pkcs12 (#${i})`, { pkcs12: noise.toString('base64'), passphrase: 'pw' });
  }
  for (const junk of ['%%%%', 'not base64 at all!', '====', 'QUJD=', 'QQ', '\u0000\u0000\u0000\u0000']) {
    add(`invalid base64 ${JSON.stringify(junk)} as pkcs12`, { pkcs12: junk });
  }

  // NUL bytes and Unicode where base64 belongs.
  for (const intruder of ['\u0000', '\u200b', '\u202e', 'é', '😀', 'Ａ', '\ufeff', '\u00a0']) {
    const at = leaf.certPem.indexOf('\n', 40) + 10;
    add(`${JSON.stringify(intruder)} inside certificate base64`, {
      certificate: leaf.certPem.slice(0, at) + intruder + leaf.certPem.slice(at),
      private_key: leaf.keyPem,
    });
    add(`${JSON.stringify(intruder)} inside key base64`, {
      certificate: leaf.certPem,
      private_key: leaf.keyPem.replace('\n', `\n${intruder}`),
    });
  }
  add('unicode label', {
    certificate: leaf.certPem.replace(/CERTIFICATE/g, 'CERTIFICATÉ'),
    private_key: leaf.keyPem,
  });
  add('only unicode', { certificate: '证书 🔐 сертификат', private_key: 'ключ' });

  // Too much.
  add('chain of 50 certificates', {
    certificate: leaf.certPem + intermediate.certPem.repeat(49),
    private_key: leaf.keyPem,
  });
  add('chain of 11 certificates', {
    certificate: fullChain + root.certPem.repeat(8),
    private_key: leaf.keyPem,
  });
  add('certificate of 300 KiB', {
    certificate: leaf.certPem + ' '.repeat(300 * 1024),
    private_key: leaf.keyPem,
  });
  add('private key of 1 MiB', { certificate: leaf.certPem, private_key: 'A'.repeat(1 << 20) });
  add('pkcs12 of 1 MiB', { pkcs12: 'A'.repeat(1 << 20) });
  add('passphrase of 2000 characters', {
    certificate: leaf.certPem,
    private_key: leaf.keyPem,
    passphrase: 'p'.repeat(2000),
  });
  add('certificate of 10 MiB', { certificate: 'x'.repeat(10 << 20) });

  // Empty and absent.
  add('empty object', {});
  add('empty strings', { certificate: '', private_key: '' });
  add('whitespace only', { certificate: ' \r\n\t ', private_key: '\n' });
  add('pkcs12 and certificate together', { pkcs12: makePkcs12(leaf), certificate: leaf.certPem });
  add('pkcs12 and private_key together', { pkcs12: makePkcs12(leaf), private_key: leaf.keyPem });

  // Wrong JavaScript types, in every field.
  const wrongValues: [string, unknown][] = [
    ['number', 42],
    ['boolean', true],
    ['object', { pem: leaf.certPem }],
    ['array', [leaf.certPem]],
    ['Buffer', Buffer.from(leaf.certPem)],
    ['NaN', Number.NaN],
    ['bigint', 10n],
  ];
  for (const field of ['certificate', 'private_key', 'passphrase', 'pkcs12']) {
    for (const [what, value] of wrongValues) {
      const base: Record<string, unknown> =
        field === 'pkcs12' ? {} : { certificate: leaf.certPem, private_key: leaf.keyPem };
      add(`${field} as ${what}`, { ...base, [field]: value });
    }
  }
  return out;
}

/** Inputs that are not even objects, for callers that accept `unknown`. */
export const NON_OBJECT_INPUTS: readonly unknown[] = [null, undefined, 'certificate', 42, [], true];
