/**
 * PKCS#12 (RFC 7292) read by walking its structure ourselves, with node-forge providing only the
 * ASN.1 parser and the password-based ciphers. Why not node:crypto: Node cannot export what is inside
 * a PFX, and OpenSSL 3 refuses the RC2-40 / 3DES encryption that older tools (Java keytool,
 * Windows, `openssl pkcs12 -legacy`) still write. Why not forge.pkcs12.pkcs12FromAsn1: it re-encodes
 * certificates from parsed fields instead of returning their original DER, and it obeys any
 * iteration count a file asks for (see kdf.ts), so we check costs before every derivation.
 */
import forge from 'node-forge';
import { VaultgateError } from '../errors.js';
import {
  Asn1Error,
  T,
  UNIVERSAL,
  bytes,
  seq,
  encode,
  explicit0,
  isTag,
  oid,
  parse,
  smallInt,
  type Node,
} from './asn1.js';
import { MAX_JS_ITERATIONS, encryptedKeyAlgorithm, excessiveKdfCost, kdfCost } from './kdf.js';

export interface Pkcs12Contents {
  /** Unencrypted PKCS#8 PrivateKeyInfo DER, one per key bag. */
  readonly keys: Buffer[];
  /** X.509 certificates exactly as stored in the file. */
  readonly certificates: Buffer[];
}

const OID_DATA = '1.2.840.113549.1.7.1';
const OID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';
const BAG_KEY = '1.2.840.113549.1.12.10.1.1';
const BAG_SHROUDED_KEY = '1.2.840.113549.1.12.10.1.2';
const BAG_CERT = '1.2.840.113549.1.12.10.1.3';
const BAG_SAFE_CONTENTS = '1.2.840.113549.1.12.10.1.6';
const CERT_X509 = '1.2.840.113549.1.9.22.1';
const OID_PBES2 = '1.2.840.113549.1.5.13';

const MAC_DIGESTS: Readonly<Record<string, () => forge.md.MessageDigest>> = {
  '1.3.14.3.2.26': () => forge.md.sha1.create(),
  '2.16.840.1.101.3.4.2.1': () => forge.md.sha256.create(),
  '2.16.840.1.101.3.4.2.2': () => forge.md.sha384.create(),
  '2.16.840.1.101.3.4.2.3': () => forge.md.sha512.create(),
};

interface Cipher {
  update(data: forge.util.ByteStringBuffer): void;
  finish(): boolean;
  output: forge.util.ByteStringBuffer;
}
// @types/node-forge omits pki.pbe; this is the one function we use from it.
const pbe = (
  forge.pki as unknown as { pbe: { getCipher(oid: string, params: Node, password: string | null): Cipher } }
).pbe;

const damaged = (why: string): VaultgateError =>
  new VaultgateError('invalid_pkcs12', `The PKCS#12 file cannot be read: ${why}. Export it again.`, 'pkcs12');

export function readPkcs12(der: Buffer, passphrase: string | undefined): Pkcs12Contents {
  try {
    return walk(der, passphrase);
  } catch (err) {
    if (err instanceof VaultgateError) throw err;
    // forge throws plain Errors (and a stack overflow is a RangeError); none of them is the user's
    // fault in a way we can name more precisely than "damaged".
    throw damaged(err instanceof Asn1Error ? err.message : 'its structure is invalid');
  }
}

function walk(der: Buffer, passphrase: string | undefined): Pkcs12Contents {
  let root: Node;
  try {
    root = parse(der);
  } catch {
    throw new VaultgateError(
      'invalid_pkcs12',
      'The pkcs12 field is not a PKCS#12 (.p12/.pfx) file. Send the file base64-encoded, e.g. `base64 -w0 client.p12`.',
      'pkcs12',
    );
  }
  const [versionNode, authSafe, macData] = seq(root, 'PFX');
  if (smallInt(versionNode, 'version') !== 3) throw damaged('only PKCS#12 version 3 is supported');
  const [contentType, content] = seq(authSafe, 'authSafe');
  if (oid(contentType, 'authSafe type') !== OID_DATA) {
    throw damaged('it uses public-key integrity mode; only password-protected files are supported');
  }
  const authSafeBytes = bytes(expectOctets(explicit0(content, 'authSafe content')));

  const work: Work = { remaining: WORK_BUDGET };
  const password =
    macData === undefined ? (passphrase ?? '') : verifyMac(macData, authSafeBytes, passphrase, work);
  const ctx: Secret = { password, macVerified: macData !== undefined, work };
  const out: Pkcs12Contents = { keys: [], certificates: [] };
  for (const info of seq(parse(authSafeBytes), 'AuthenticatedSafe')) {
    const [typeNode, body] = seq(info, 'ContentInfo');
    const type = oid(typeNode, 'ContentInfo type');
    if (type === OID_DATA) readSafeContents(parse(bytes(expectOctets(explicit0(body, 'data')))), ctx, out, 0);
    else if (type === OID_ENCRYPTED_DATA) {
      const plain = decryptEncryptedData(explicit0(body, 'EncryptedData'), ctx);
      readSafeContents(parse(plain), ctx, out, 0);
    } else throw damaged('it contains an enveloped (certificate-encrypted) part, which is not supported');
  }
  return out;
}

/** Returns the password that verifies the MAC (RFC 7292 §5), or throws the user-facing error. */
function verifyMac(
  macData: Node,
  authSafe: Buffer,
  passphrase: string | undefined,
  work: Work,
): string | null {
  const [digestInfo, saltNode, iterNode] = seq(macData, 'MacData');
  const [algorithm, digestNode] = seq(digestInfo, 'DigestInfo');
  const [digestOidNode, digestParams] = seq(algorithm, 'MAC algorithm');
  const digestOid = oid(digestOidNode, 'MAC algorithm');
  // RFC 5754 §2: the SHA-2 parameters are absent or NULL; anything else is not a file a tool wrote.
  if (
    digestParams !== undefined &&
    !(isTag(digestParams, UNIVERSAL, T.NULL) && bytes(digestParams).length === 0)
  ) {
    throw new Asn1Error('MAC algorithm parameters are invalid');
  }
  const makeDigest = MAC_DIGESTS[digestOid];
  if (makeDigest === undefined)
    throw damaged(`its integrity MAC uses an unsupported algorithm (${digestOid})`);
  const iterations = iterNode === undefined ? 1 : smallInt(iterNode, 'MAC iterations');
  if (iterations > MAX_JS_ITERATIONS) {
    throw damaged(`its MAC iteration count (${iterations}) is above the ${MAX_JS_ITERATIONS} accepted`);
  }
  const salt = bytes(expectOctets(saltNode)).toString('binary');
  const expected = bytes(expectOctets(digestNode)).toString('binary');
  const data = authSafe.toString('binary');
  // An empty password is ambiguous in PKCS#12: a BMPString "" with its terminator, or no bytes at
  // all. OpenSSL tries both when verifying, so we do too.
  const candidates: (string | null)[] =
    passphrase === undefined || passphrase === '' ? ['', null] : [passphrase];
  charge(work, iterations * candidates.length);
  for (const candidate of candidates) {
    const md = makeDigest();
    // The typings say string; forge documents and handles null as "no password" (RFC 7292 B.1).
    const pw = candidate as string;
    const key = forge.pkcs12.generateKey(
      pw,
      forge.util.createBuffer(salt),
      3,
      iterations,
      md.digestLength,
      md,
    );
    const hmac = forge.hmac.create();
    hmac.start(makeDigest(), key);
    hmac.update(data);
    if (hmac.digest().getBytes() === expected) return candidate;
  }
  if (passphrase === undefined || passphrase === '') {
    throw new VaultgateError(
      'passphrase_required',
      'The PKCS#12 file is protected by a passphrase: send it in the passphrase field.',
      'passphrase',
    );
  }
  throw new VaultgateError(
    'bad_passphrase',
    'The passphrase does not open the PKCS#12 file (or the file is damaged). Check the passphrase and try again.',
    'passphrase',
  );
}

function expectOctets(node: Node | undefined): Node {
  if (!isTag(node, UNIVERSAL, T.OCTETSTRING)) throw new Asn1Error('expected an OCTET STRING');
  return node;
}

/**
 * Key-derivation work left for this file, in iterations. Each derivation is capped (kdf.ts), but a
 * file can hold many encrypted parts; real files need about 8,000 in all (4 derivations × 2,048).
 */
const WORK_BUDGET = 4 * MAX_JS_ITERATIONS;

interface Work {
  remaining: number;
}

function charge(work: Work, iterations: number): void {
  work.remaining -= iterations;
  if (work.remaining < 0) throw damaged('it asks for more key-derivation work than is accepted');
}

function decrypt(algorithm: Node, ciphertext: Buffer, password: string | null, work: Work): Buffer | null {
  const reason = excessiveKdfCost(algorithm, MAX_JS_ITERATIONS);
  if (reason !== null) throw damaged(`it cannot be accepted: ${reason}`);
  const cost = kdfCost(algorithm);
  if (cost !== null) charge(work, cost.iterations * cost.derivations);
  const [idNode, params] = seq(algorithm, 'AlgorithmIdentifier');
  if (params === undefined) throw new Asn1Error('encryption parameters are missing');
  const id = oid(idNode, 'encryption algorithm');
  // PBES2 (RFC 8018) feeds the password's UTF-8 bytes to PBKDF2, and forge reads a string as one
  // byte per char; PKCS#12 PBE (RFC 7292 B.1) wants a BMPString, which forge builds from the JS
  // string itself, and handles null as "no password".
  const pw = id === OID_PBES2 ? forge.util.encodeUtf8(password ?? '') : password;
  const cipher = pbe.getCipher(id, params, pw);
  cipher.update(forge.util.createBuffer(ciphertext.toString('binary')));
  return cipher.finish() ? Buffer.from(cipher.output.getBytes(), 'binary') : null;
}

interface Secret {
  readonly password: string | null;
  /** Once the MAC has verified, the password is right and a decryption failure means damage. */
  readonly macVerified: boolean;
  readonly work: Work;
}

function decryptEncryptedData(encryptedData: Node, ctx: Secret): Buffer {
  const eci = seq(encryptedData, 'EncryptedData')[1];
  const [, algorithm, encrypted] = seq(eci, 'EncryptedContentInfo');
  if (algorithm === undefined || encrypted === undefined)
    throw new Asn1Error('EncryptedContentInfo is incomplete');
  const plain = decrypt(algorithm, bytes(encrypted), ctx.password, ctx.work);
  if (plain === null) throw undecryptable(ctx);
  return plain;
}

/** Without a MAC a wrong passphrase shows up only at decryption, as bad padding. */
function undecryptable(ctx: Secret): VaultgateError {
  if (ctx.macVerified) return damaged('an encrypted part does not decrypt');
  return ctx.password === null || ctx.password === ''
    ? new VaultgateError(
        'passphrase_required',
        'The PKCS#12 file is protected by a passphrase: send it in the passphrase field.',
        'passphrase',
      )
    : new VaultgateError(
        'bad_passphrase',
        'The passphrase does not open the PKCS#12 file. Check the passphrase and try again.',
        'passphrase',
      );
}

function readSafeContents(safeContents: Node, ctx: Secret, out: Pkcs12Contents, depth: number): void {
  if (depth > 4) throw damaged('its safe contents are nested too deeply');
  for (const bag of seq(safeContents, 'SafeContents')) {
    const [idNode, valueNode] = seq(bag, 'SafeBag');
    const value = explicit0(valueNode, 'bagValue');
    switch (oid(idNode, 'bagId')) {
      case BAG_KEY:
        out.keys.push(encode(value));
        break;
      case BAG_SHROUDED_KEY: {
        const [, encrypted] = seq(value, 'EncryptedPrivateKeyInfo');
        if (encrypted === undefined) throw new Asn1Error('EncryptedPrivateKeyInfo is incomplete');
        const plain = decrypt(encryptedKeyAlgorithm(value), bytes(encrypted), ctx.password, ctx.work);
        if (plain === null) throw undecryptable(ctx);
        out.keys.push(plain);
        break;
      }
      case BAG_CERT: {
        const [certId, certValue] = seq(value, 'CertBag');
        if (oid(certId, 'certId') !== CERT_X509) break; // SDSI certificates: not X.509, nothing to use.
        out.certificates.push(bytes(expectOctets(explicit0(certValue, 'certValue'))));
        break;
      }
      case BAG_SAFE_CONTENTS:
        readSafeContents(value, ctx, out, depth + 1);
        break;
      default:
        break; // CRL and secret bags carry nothing a client certificate needs.
    }
  }
}
