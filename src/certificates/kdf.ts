/**
 * Refuses password-based encryption whose key derivation would stall the process. The iteration
 * count is chosen by whoever made the file, and both OpenSSL (encrypted PKCS#8, run synchronously on
 * the event loop by createPrivateKey) and forge (PKCS#12, in JavaScript) would obey a count of
 * 2^31 — minutes of CPU from one upload. Real tools use 2,048 (OpenSSL) to 600,000 (OWASP 2023).
 */
import { Asn1Error, T, UNIVERSAL, seq, isTag, oid, smallInt, type Node } from './asn1.js';

/** For OpenSSL's native PBKDF2 (encrypted PKCS#8 PEM keys): about a second at most. */
export const MAX_ITERATIONS = 1_000_000;
/**
 * For derivations run by forge in JavaScript (everything inside PKCS#12: its own KDF, RFC 7292
 * appendix B, and PBKDF2 with a forge digest), about 4 µs per iteration: 100,000 ≈ 0.4 s.
 */
export const MAX_JS_ITERATIONS = 100_000;
/**
 * scrypt (RFC 7914) costs N·r·p block mixes of 128·r bytes each; p runs the whole derivation again
 * and again, so bounding N alone let `p = 100` hold the CPU for 10 s. `openssl pkcs8 -scrypt` writes
 * N = 16384, r = 8, p = 1 (2^17); eight times that is about half a second here.
 */
export const MAX_SCRYPT_WORK = 1 << 20;
/**
 * OpenSSL's own default ceiling for the memory scrypt needs when it decrypts a PKCS#8 key
 * (SCRYPT_MAX_MEM, 32 MiB); above it OpenSSL fails whatever the passphrase, which the user would
 * otherwise be told is a wrong passphrase.
 */
export const MAX_SCRYPT_MEMORY = 32 * 1024 * 1024;

const PBES2 = '1.2.840.113549.1.5.13';
const PBKDF2 = '1.2.840.113549.1.5.12';
const SCRYPT = '1.3.6.1.4.1.11591.4.11';
const PKCS12_PBE_PREFIX = '1.2.840.113549.1.12.1.';
const PBES1_PREFIX = '1.2.840.113549.1.5.';

export interface KdfCost {
  readonly scheme: 'pbkdf2' | 'scrypt' | 'pkcs12' | 'pbes1';
  /** The iteration count, or scrypt's N. */
  readonly iterations: number;
  /** How many separate derivations a decryption runs (PKCS#12 PBE derives key and IV apart). */
  readonly derivations: number;
  /** scrypt only: the block size r and parallelisation p (RFC 7914 §7.1). */
  readonly blockSize?: number;
  readonly parallelism?: number;
}

/**
 * The work an encryption scheme's AlgorithmIdentifier asks for (PBES1, PBES2 with PBKDF2 or scrypt,
 * PKCS#12 PBE), or null for a scheme we do not know (the decryptor will refuse it).
 */
export function kdfCost(algorithm: Node): KdfCost | null {
  const [idNode, params] = seq(algorithm, 'AlgorithmIdentifier');
  const id = oid(idNode, 'algorithm');
  let cost: KdfCost | null = null;
  if (id === PBES2) {
    const [kdfIdNode, kdfParams] = seq(seq(params, 'PBES2-params')[0], 'keyDerivationFunc');
    const kdfId = oid(kdfIdNode, 'keyDerivationFunc');
    const values = seq(kdfParams, 'KDF params');
    if (kdfId === PBKDF2)
      cost = { scheme: 'pbkdf2', iterations: smallInt(values[1], 'iterationCount'), derivations: 1 };
    if (kdfId === SCRYPT) {
      cost = {
        scheme: 'scrypt',
        iterations: smallInt(values[1], 'scrypt N'),
        derivations: 1,
        blockSize: smallInt(values[2], 'scrypt r'),
        parallelism: smallInt(values[3], 'scrypt p'),
      };
      if (cost.blockSize === 0 || cost.parallelism === 0)
        throw new Asn1Error('scrypt r and p must be at least 1');
    }
  } else if (id.startsWith(PKCS12_PBE_PREFIX)) {
    cost = {
      scheme: 'pkcs12',
      iterations: smallInt(seq(params, 'pbeParams')[1], 'iterations'),
      derivations: 2,
    };
  } else if (id.startsWith(PBES1_PREFIX)) {
    cost = {
      scheme: 'pbes1',
      iterations: smallInt(seq(params, 'PBEParameter')[1], 'iterations'),
      derivations: 1,
    };
  }
  if (cost !== null && cost.iterations < 1) throw new Asn1Error('iteration count must be at least 1');
  return cost;
}

/** A sentence for the user when the scheme asks for more than `max` iterations, else null. */
export function excessiveKdfCost(algorithm: Node, max = MAX_ITERATIONS): string | null {
  const cost = kdfCost(algorithm);
  if (cost === null) return null;
  if (cost.scheme === 'scrypt') return excessiveScrypt(cost);
  return cost.iterations > max
    ? `its key-derivation iteration count (${cost.iterations}) is above the ${max} accepted`
    : null;
}

function excessiveScrypt(cost: KdfCost): string | null {
  const n = cost.iterations;
  const r = cost.blockSize ?? 1;
  const p = cost.parallelism ?? 1;
  // Products of values up to 2^48 stay exact enough in a double for a comparison against 2^20.
  const work = n * r * p;
  if (work > MAX_SCRYPT_WORK) {
    return `its scrypt parameters (N=${n}, r=${r}, p=${p}) ask for N·r·p = ${work}, above the ${MAX_SCRYPT_WORK} accepted`;
  }
  // What OpenSSL allocates: V (128·r·(N+2) bytes) and B (128·r·p bytes), crypto/evp/pbe_scrypt.c.
  const memory = 128 * r * (n + 2 + p);
  if (memory > MAX_SCRYPT_MEMORY) {
    return `its scrypt parameters (N=${n}, r=${r}) need ${Math.ceil(memory / 1048576)} MiB of memory, above the ${MAX_SCRYPT_MEMORY / 1048576} MiB accepted`;
  }
  return null;
}

/** The AlgorithmIdentifier at the front of an EncryptedPrivateKeyInfo (RFC 5958 §3). */
export function encryptedKeyAlgorithm(epki: Node): Node {
  const [algorithm, data] = seq(epki, 'EncryptedPrivateKeyInfo');
  if (!isTag(algorithm, UNIVERSAL, T.SEQUENCE) || !isTag(data, UNIVERSAL, T.OCTETSTRING)) {
    throw new Asn1Error('not an EncryptedPrivateKeyInfo');
  }
  return algorithm;
}
