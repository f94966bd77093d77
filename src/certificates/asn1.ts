/**
 * A thin, typed layer over node-forge's ASN.1 reader. forge is used only as a BER/DER parser here
 * (it accepts BER's indefinite lengths and constructed strings, which Windows-made PKCS#12 files
 * contain); everything it returns is converted to Buffers and plain strings at this boundary.
 */
import { createRequire } from 'node:module';
import type forge from 'node-forge';

/**
 * forge's ASN.1 module alone, not the package: the whole of node-forge (ciphers, TLS, PKI, PKCS#12)
 * adds ~9 MB to every process that loads it, and a data-plane worker needs only this reader (the
 * names of caller certificates). Same module instance as the package's own (one require cache).
 */
export const asn1 = createRequire(import.meta.url)('node-forge/lib/asn1.js') as typeof forge.asn1;

export type Node = forge.asn1.Asn1;

export const UNIVERSAL = asn1.Class.UNIVERSAL;
export const CONTEXT = asn1.Class.CONTEXT_SPECIFIC;

/** Thrown for any structural problem; callers turn it into the right user-facing code. */
export class Asn1Error extends Error {
  override readonly name = 'Asn1Error';
}

interface FromDerOptions {
  strict: boolean;
  parseAllBytes: boolean;
  decodeBitStrings: boolean;
  maxDepth: number;
}
// @types/node-forge declares only the legacy boolean form of the second argument.
const fromDer = asn1.fromDer as unknown as (bytes: string, options: FromDerOptions) => Node;

export function parse(der: Uint8Array): Node {
  try {
    // decodeBitStrings: false — forge would otherwise guess whether a BIT STRING (a signature, a
    // public key) holds nested ASN.1, which is wasted work and can misread random bytes.
    // strict: a length running past the end is an error (forge otherwise truncates silently);
    // BER's indefinite lengths are still read.
    return fromDer(Buffer.from(der).toString('binary'), {
      strict: true,
      parseAllBytes: true,
      decodeBitStrings: false,
      maxDepth: 64,
    });
  } catch (err) {
    throw new Asn1Error(err instanceof Error ? err.message : 'unreadable ASN.1');
  }
}

export function children(node: Node | undefined, what: string): Node[] {
  if (node === undefined || !Array.isArray(node.value)) throw new Asn1Error(`${what} is not a structure`);
  return node.value;
}

/** The elements of a universal SEQUENCE; any other tag is an error (a SET where a SEQUENCE belongs…). */
export function seq(node: Node | undefined, what: string): Node[] {
  if (!isTag(node, UNIVERSAL, asn1.Type.SEQUENCE)) throw new Asn1Error(`${what} is not a SEQUENCE`);
  return children(node, what);
}

export function child(node: Node | undefined, index: number, what: string): Node {
  const found = children(node, what)[index];
  if (found === undefined) throw new Asn1Error(`${what} is missing element ${index}`);
  return found;
}

/** The content of an `[0] EXPLICIT` wrapper (ContentInfo.content, SafeBag.bagValue, …). */
export function explicit0(node: Node | undefined, what: string): Node {
  if (node === undefined || node.tagClass !== CONTEXT || node.type !== 0 || !Array.isArray(node.value)) {
    throw new Asn1Error(`${what} is not an [0] EXPLICIT value`);
  }
  const [inner, extra] = node.value;
  if (inner === undefined || extra !== undefined) throw new Asn1Error(`${what} must hold exactly one value`);
  return inner;
}

export function isTag(node: Node | undefined, tagClass: number, type: number): node is Node {
  return node !== undefined && node.tagClass === tagClass && node.type === type;
}

export function expect(node: Node | undefined, type: number, what: string): Node {
  if (!isTag(node, UNIVERSAL, type)) throw new Asn1Error(`${what} has an unexpected type`);
  return node;
}

/** The content octets; a BER constructed string is the concatenation of its parts (X.690 §8.7). */
export function bytes(node: Node): Buffer {
  if (typeof node.value === 'string') return Buffer.from(node.value, 'binary');
  return Buffer.concat(node.value.map((part) => bytes(part)));
}

export function oid(node: Node | undefined, what: string): string {
  const n = expect(node, asn1.Type.OID, what);
  return asn1.derToOid(bytes(n).toString('binary'));
}

/** A non-negative INTEGER that fits a JS number safely; larger values are reported as Infinity. */
export function smallInt(node: Node | undefined, what: string): number {
  const b = bytes(expect(node, asn1.Type.INTEGER, what));
  if (b.length === 0 || (b[0] as number) & 0x80) throw new Asn1Error(`${what} is not a positive integer`);
  if (b.length > 6) return Infinity;
  return b.readUIntBE(0, b.length);
}

export function encode(node: Node): Buffer {
  return Buffer.from(asn1.toDer(node).getBytes(), 'binary');
}

export const T = asn1.Type;
