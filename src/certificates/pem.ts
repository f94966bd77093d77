/**
 * PEM armour (RFC 7468) read and written by hand, line by line, so that every failure becomes a
 * message the user can act on and no regular expression can backtrack on hostile input.
 */
import { VaultgateError } from '../errors.js';

export interface PemBlock {
  /** The label between `BEGIN ` and the dashes, upper-case as written (e.g. `CERTIFICATE`). */
  readonly label: string;
  /**
   * RFC 1421 encapsulated headers (`Proc-Type`, `DEK-Info`). Only legacy encrypted PKCS#1 / SEC1 keys
   * carry them, and OpenSSL needs them back verbatim to decrypt the key.
   */
  readonly headers: readonly (readonly [string, string])[];
  readonly der: Buffer;
}

// Every regex here is anchored and has no two adjacent quantifiers that can share a character, so
// each runs in time linear in its input. (`[ \t]+$` unanchored at the front, or `[ \t]*` followed by a
// class that includes the blank, retries from every position of a long blank run: quadratic.)
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;
const HEADER_NAME = /^[A-Za-z0-9-]{1,64}$/;
const HEADER_VALUE = /^[\x20-\x7e]{0,512}$/;
const LABEL = /^[A-Z0-9 ]{1,64}$/;

const isBlank = (c: number): boolean => c === 0x20 || c === 0x09;

/**
 * Strips ASCII spaces and tabs from both ends, by index. String.prototype.trim would also eat
 * U+00A0, U+FEFF and the other Unicode spaces, letting invisible characters pass inside a block
 * unnoticed; and `/^[ \t]+|[ \t]+$/g` is quadratic on a long run of blanks followed by anything
 * else (80 KB of spaces held the event loop for 6 s).
 */
export function trimBlanks(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isBlank(text.charCodeAt(start))) start++;
  while (end > start && isBlank(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** An RFC 1421 header line (`Name: value`), or null. */
function parseHeader(line: string): [string, string] | null {
  const colon = line.indexOf(':');
  if (colon < 1) return null;
  const name = line.slice(0, colon);
  const value = trimBlanks(line.slice(colon + 1));
  return HEADER_NAME.test(name) && HEADER_VALUE.test(value) ? [name, value] : null;
}

/**
 * Accept what people paste: CRLF or CR line endings, a UTF-8 byte-order mark, blank lines and
 * leading/trailing whitespace. Text outside PEM blocks is ignored, like OpenSSL does — this keeps
 * the `Bag Attributes` lines that `openssl pkcs12 -nodes` prints in front of each block harmless.
 */
export function normaliseText(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

/** Splits text into PEM blocks. Throws `code` with `field` when the armour itself is broken. */
export function readPemBlocks(
  text: string,
  code: 'invalid_certificate' | 'invalid_private_key',
  field: string,
): PemBlock[] {
  const lines = normaliseText(text).split('\n');
  const blocks: PemBlock[] = [];
  let label: string | null = null;
  let headers: [string, string][] = [];
  let body: string[] = [];
  let inHeaders = false;
  const fail = (why: string): never => {
    throw new VaultgateError(code, `The ${field} field is not valid PEM: ${why}.`, field);
  };

  for (const raw of lines) {
    const line = trimBlanks(raw);
    if (label === null) {
      if (line.startsWith('-----BEGIN ')) {
        label = parseBoundary(line, 'BEGIN') ?? fail('a "-----BEGIN …-----" line is malformed');
        headers = [];
        body = [];
        inHeaders = true;
      } else if (line.startsWith('-----END ')) {
        fail('an "-----END" line has no matching "-----BEGIN" line');
      }
      continue;
    }
    if (line.startsWith('-----END ')) {
      const endLabel = parseBoundary(line, 'END');
      if (endLabel !== label) fail(`the "-----BEGIN ${label}-----" block is closed by a different END line`);
      blocks.push({ label, headers, der: decodeBase64Body(body, label, fail) });
      label = null;
      continue;
    }
    if (line.startsWith('-----')) fail(`the "${label}" block has no "-----END ${label}-----" line`);
    if (inHeaders) {
      const header = parseHeader(line);
      if (header !== null) {
        headers.push(header);
        continue;
      }
      inHeaders = false;
      if (line === '') continue; // RFC 1421: a blank line ends the headers.
    }
    if (line !== '') body.push(line);
  }
  if (label !== null)
    fail(`the "${label}" block has no "-----END ${label}-----" line (is the text cut short?)`);
  return blocks;
}

function parseBoundary(line: string, kind: 'BEGIN' | 'END'): string | null {
  const prefix = `-----${kind} `;
  if (!line.endsWith('-----') || line.length < prefix.length + 6) return null;
  const label = line.slice(prefix.length, -5);
  return LABEL.test(label) ? label : null;
}

function decodeBase64Body(body: string[], label: string, fail: (why: string) => never): Buffer {
  for (const line of body) {
    if (!BASE64_LINE.test(line)) fail(`the "${label}" block contains characters that are not base64`);
  }
  const joined = body.join('');
  // Buffer.from(…, 'base64') silently skips junk and accepts bad lengths; check first.
  if (joined.length === 0) fail(`the "${label}" block is empty`);
  if (joined.length % 4 !== 0 || /=[^=]/.test(joined)) {
    fail(`the base64 inside the "${label}" block is cut short or has misplaced padding`);
  }
  return Buffer.from(joined, 'base64');
}

/** Writes DER as PEM with 64-character lines, LF endings and a final newline (RFC 7468 §2). */
export function encodePem(label: string, der: Uint8Array, headers: PemBlock['headers'] = []): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = [`-----BEGIN ${label}-----`];
  if (headers.length > 0) {
    for (const [name, value] of headers) lines.push(`${name}: ${value}`);
    lines.push('');
  }
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  lines.push(`-----END ${label}-----`);
  return lines.join('\n') + '\n';
}

/** Strict base64 (standard alphabet, optional whitespace, correct padding) for the `pkcs12` field. */
export function decodeStrictBase64(text: string): Buffer | null {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0) return null;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return null;
  return Buffer.from(compact, 'base64');
}

/** Labels this module knows, with what they are: used to say exactly what was pasted where. */
export const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE']);
export const PRIVATE_KEY_LABELS = new Set([
  'PRIVATE KEY',
  'ENCRYPTED PRIVATE KEY',
  'RSA PRIVATE KEY',
  'EC PRIVATE KEY',
]);
/** `openssl ecparam -genkey` writes this block before the key; it carries nothing we need. */
export const IGNORED_LABELS = new Set(['EC PARAMETERS']);

export function describeLabel(label: string): string {
  switch (label) {
    case 'CERTIFICATE REQUEST':
    case 'NEW CERTIFICATE REQUEST':
      return 'a certificate signing request (CSR), not a certificate — upload the certificate your CA issued for it';
    case 'PUBLIC KEY':
    case 'RSA PUBLIC KEY':
      return 'a public key, not a private key — upload the private key that belongs to the certificate';
    case 'TRUSTED CERTIFICATE':
      return 'an OpenSSL "TRUSTED CERTIFICATE" (with trust settings) — export it as a plain CERTIFICATE';
    case 'PKCS7':
    case 'CMS':
      return 'a PKCS#7 bundle — convert it with `openssl pkcs7 -print_certs` and upload the certificates as PEM';
    case 'X509 CRL':
      return 'a certificate revocation list, not a certificate';
    case 'DSA PRIVATE KEY':
      return 'a DSA private key — DSA is not supported; use RSA (2048 bits or more), ECDSA or Ed25519';
    case 'OPENSSH PRIVATE KEY':
      return 'an OpenSSH private key — convert it to PKCS#8 with `ssh-keygen -p -m PKCS8 -f <file>`';
    default:
      return `a "${label}" block, which is neither a certificate nor a private key`;
  }
}
