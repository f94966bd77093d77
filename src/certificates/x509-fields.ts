/**
 * Reads the parts of a certificate that node:crypto's X509Certificate does not expose in a usable
 * form: names in RFC 4514 order (X509Certificate.subject is OpenSSL's multi-line DER-order dump),
 * SANs as structured entries (subjectAltName is a comma-joined string with quoting quirks), exact
 * validity instants, extended key usage, basic constraints, key identifiers and the signature's
 * digest (Node 20's X509Certificate has no signatureAlgorithm). Only DER that OpenSSL has already
 * accepted as a certificate reaches this module.
 */
import {
  Asn1Error,
  asn1,
  CONTEXT,
  T,
  UNIVERSAL,
  bytes,
  child,
  children,
  isTag,
  oid,
  parse,
  type Node,
} from './asn1.js';
import { formatGeneralNames, formatName } from './names.js';

export interface CertificateFields {
  readonly subject: string;
  /** The subject with RDNs joined by a bare "," (RFC 4514's own form, as X-Forwarded-Client-Cert carries it). */
  readonly subjectCompact: string;
  readonly issuer: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly sans: string[];
  /** Extended key usage OIDs, or null when the extension is absent (meaning "any usage"). */
  readonly extendedKeyUsage: string[] | null;
  /** basicConstraints cA (RFC 5280 §4.2.1.9); false when the extension is absent. */
  readonly isCa: boolean;
  /** subjectKeyIdentifier as hex, or null. */
  readonly subjectKeyId: string | null;
  /** authorityKeyIdentifier's keyIdentifier as hex, or null. */
  readonly authorityKeyId: string | null;
  /** The broken digest the issuer signed this certificate with ('SHA-1', 'MD5', …), or null. */
  readonly weakDigest: string | null;
}

const OID_SAN = '2.5.29.17';
const OID_EKU = '2.5.29.37';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_SKI = '2.5.29.14';
const OID_AKI = '2.5.29.35';
const OID_RSASSA_PSS = '1.2.840.113549.1.1.10';
const OID_SHA1 = '1.3.14.3.2.26';

/**
 * Signature algorithms whose digest no longer resists collisions; OpenSSL 3's security level 1
 * refuses them in a chain it sends (`ca md too weak`), and peers refuse them when verifying.
 */
const WEAK_SIGNATURES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.2': 'MD2',
  '1.2.840.113549.1.1.3': 'MD4',
  '1.2.840.113549.1.1.4': 'MD5',
  '1.2.840.113549.1.1.5': 'SHA-1',
  '1.3.14.3.2.29': 'SHA-1', // sha1WithRSASignature (OIW)
  '1.2.840.10045.4.1': 'SHA-1', // ecdsa-with-SHA1
  '1.2.840.10040.4.3': 'SHA-1', // dsa-with-sha1
};

export function readCertificateFields(der: Uint8Array): CertificateFields {
  const certificate = parse(der);
  const tbs = child(certificate, 0, 'certificate');
  const parts = children(tbs, 'tbsCertificate');
  // RFC 5280 §4.1: version is an optional [0] EXPLICIT field in front of the serial number.
  const offset = isTag(parts[0], CONTEXT, 0) ? 1 : 0;
  const at = (i: number, what: string): Node => {
    const n = parts[offset + i];
    if (n === undefined) throw new Asn1Error(`tbsCertificate is missing ${what}`);
    return n;
  };
  const validity = children(at(3, 'validity'), 'validity');

  let sans: string[] = [];
  let extendedKeyUsage: string[] | null = null;
  let isCa = false;
  let subjectKeyId: string | null = null;
  let authorityKeyId: string | null = null;
  const extensions = parts.find((p) => isTag(p, CONTEXT, 3));
  if (extensions !== undefined) {
    for (const ext of children(child(extensions, 0, 'extensions'), 'extensions')) {
      const fields = children(ext, 'extension');
      const id = oid(fields[0], 'extension id');
      const valueNode = fields[fields.length - 1];
      if (![OID_SAN, OID_EKU, OID_BASIC_CONSTRAINTS, OID_SKI, OID_AKI].includes(id)) continue;
      if (valueNode === undefined || !isTag(valueNode, UNIVERSAL, T.OCTETSTRING)) continue;
      const value = parse(bytes(valueNode));
      if (id === OID_SAN) sans = formatGeneralNames(value);
      else if (id === OID_EKU)
        extendedKeyUsage = children(value, 'extKeyUsage').map((n) => oid(n, 'key purpose'));
      else if (id === OID_BASIC_CONSTRAINTS) {
        const first = children(value, 'basicConstraints')[0];
        isCa = isTag(first, UNIVERSAL, T.BOOLEAN) && bytes(first)[0] !== 0;
      } else if (id === OID_SKI && isTag(value, UNIVERSAL, T.OCTETSTRING)) {
        subjectKeyId = bytes(value).toString('hex');
      } else if (id === OID_AKI) {
        // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, … }
        const keyId = children(value, 'authorityKeyIdentifier').find((n) => isTag(n, CONTEXT, 0));
        if (keyId !== undefined) authorityKeyId = bytes(keyId).toString('hex');
      }
    }
  }

  return {
    subject: formatName(at(4, 'subject')),
    subjectCompact: formatName(at(4, 'subject'), ','),
    issuer: formatName(at(2, 'issuer')),
    notBefore: readTime(validity[0]),
    notAfter: readTime(validity[1]),
    sans,
    extendedKeyUsage,
    isCa,
    subjectKeyId,
    authorityKeyId,
    weakDigest: weakDigestOf(child(certificate, 1, 'signatureAlgorithm')),
  };
}

function weakDigestOf(algorithm: Node): string | null {
  const [idNode, params] = children(algorithm, 'signatureAlgorithm');
  const id = oid(idNode, 'signature algorithm');
  if (id !== OID_RSASSA_PSS) return WEAK_SIGNATURES[id] ?? null;
  // RSASSA-PSS-params (RFC 4055 §3.1): hashAlgorithm [0] defaults to SHA-1 when absent.
  const hash =
    params === undefined
      ? undefined
      : children(params, 'RSASSA-PSS-params').find((n) => isTag(n, CONTEXT, 0));
  if (hash === undefined) return 'SHA-1';
  const hashId = oid(child(child(hash, 0, 'hashAlgorithm'), 0, 'hashAlgorithm'), 'hash algorithm');
  return hashId === OID_SHA1 ? 'SHA-1' : hashId === '1.2.840.113549.2.5' ? 'MD5' : null;
}

function readTime(node: Node | undefined): Date {
  let date: Date | undefined;
  if (isTag(node, UNIVERSAL, T.UTCTIME)) date = asn1.utcTimeToDate(bytes(node).toString('latin1'));
  else if (isTag(node, UNIVERSAL, T.GENERALIZEDTIME)) {
    date = asn1.generalizedTimeToDate(bytes(node).toString('latin1'));
  }
  if (date === undefined || Number.isNaN(date.getTime())) throw new Asn1Error('validity time is unreadable');
  return date;
}
