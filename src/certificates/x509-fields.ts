/**
 * Reads the parts of a certificate that node:crypto's X509Certificate does not expose in a usable
 * form: names in RFC 4514 order (X509Certificate.subject is OpenSSL's multi-line DER-order dump),
 * SANs as structured entries (subjectAltName is a comma-joined string with quoting quirks), exact
 * validity instants, extended key usage and basic constraints. Only DER that OpenSSL has already
 * accepted as a certificate reaches this module.
 */
import forge from 'node-forge';
import {
  Asn1Error,
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
  readonly issuer: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly sans: string[];
  /** Extended key usage OIDs, or null when the extension is absent (meaning "any usage"). */
  readonly extendedKeyUsage: string[] | null;
  /** basicConstraints cA (RFC 5280 §4.2.1.9); false when the extension is absent. */
  readonly isCa: boolean;
}

const OID_SAN = '2.5.29.17';
const OID_EKU = '2.5.29.37';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';

export function readCertificateFields(der: Uint8Array): CertificateFields {
  const tbs = child(parse(der), 0, 'certificate');
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
  const extensions = parts.find((p) => isTag(p, CONTEXT, 3));
  if (extensions !== undefined) {
    for (const ext of children(child(extensions, 0, 'extensions'), 'extensions')) {
      const fields = children(ext, 'extension');
      const id = oid(fields[0], 'extension id');
      const valueNode = fields[fields.length - 1];
      if (id !== OID_SAN && id !== OID_EKU && id !== OID_BASIC_CONSTRAINTS) continue;
      if (valueNode === undefined || !isTag(valueNode, UNIVERSAL, T.OCTETSTRING)) continue;
      const value = parse(bytes(valueNode));
      if (id === OID_SAN) sans = formatGeneralNames(value);
      else if (id === OID_EKU)
        extendedKeyUsage = children(value, 'extKeyUsage').map((n) => oid(n, 'key purpose'));
      else if (id === OID_BASIC_CONSTRAINTS) {
        const first = children(value, 'basicConstraints')[0];
        isCa = isTag(first, UNIVERSAL, T.BOOLEAN) && bytes(first)[0] !== 0;
      }
    }
  }

  return {
    subject: formatName(at(4, 'subject')),
    issuer: formatName(at(2, 'issuer')),
    notBefore: readTime(validity[0]),
    notAfter: readTime(validity[1]),
    sans,
    extendedKeyUsage,
    isCa,
  };
}

function readTime(node: Node | undefined): Date {
  let date: Date | undefined;
  if (isTag(node, UNIVERSAL, T.UTCTIME)) date = forge.asn1.utcTimeToDate(bytes(node).toString('latin1'));
  else if (isTag(node, UNIVERSAL, T.GENERALIZEDTIME)) {
    date = forge.asn1.generalizedTimeToDate(bytes(node).toString('latin1'));
  }
  if (date === undefined || Number.isNaN(date.getTime())) throw new Asn1Error('validity time is unreadable');
  return date;
}
