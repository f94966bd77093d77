/**
 * The revoked serial numbers of PEM CRLs (RFC 5280 §5.1), per issuer. OpenSSL checks CRLs in every
 * full handshake; this reading serves the one place it cannot: a TLS session resumed on another
 * worker, whose caller certificate is re-checked in JavaScript (proxy/inbound/caller-identity.ts).
 * Node has no CRL parser, so the few fields needed are read with the DER reader the uploads use.
 */
import { T, UNIVERSAL, bytes, child, children, isTag, parse, seq } from './asn1.js';
import { formatName } from './names.js';
import { readPemBlocks } from './pem.js';

export interface RevocationList {
  /** The issuer's name in the form x509-fields.ts gives a certificate's subject. */
  readonly issuer: string;
  /** When the CRL stops being current (ms), or null when it names no nextUpdate. */
  readonly nextUpdate: number | null;
  /** Upper-case hex without leading zeros, as `X509Certificate.serialNumber` after normalising. */
  readonly revoked: ReadonlySet<string>;
}

export function normaliseSerial(hex: string): string {
  return hex.toUpperCase().replace(/^0+(?=.)/, '');
}

const isTime = (node: Parameters<typeof isTag>[0]): boolean =>
  isTag(node, UNIVERSAL, T.UTCTIME) || isTag(node, UNIVERSAL, T.GENERALIZEDTIME);

/** Reads every CRL in `pem` (already accepted by the TLS stack at upload). */
export function readRevocationLists(pem: string): RevocationList[] {
  return readPemBlocks(pem, 'invalid_certificate', 'crl_pem').map((block) => {
    const tbs = seq(parse(block.der), 'CRL')[0];
    const fields = seq(tbs, 'tbsCertList');
    // [version], signature, issuer, thisUpdate, [nextUpdate], [revokedCertificates], [0] extensions
    let i = isTag(fields[0], UNIVERSAL, T.INTEGER) ? 2 : 1;
    const issuer = formatName(child(tbs, i, 'tbsCertList'));
    i += 2;
    let nextUpdate: number | null = null;
    const maybeNext = fields[i];
    if (maybeNext !== undefined && isTime(maybeNext)) {
      nextUpdate = parseTime(bytes(maybeNext).toString('latin1'));
      i++;
    }
    const revoked = new Set<string>();
    const list = fields[i];
    if (isTag(list, UNIVERSAL, T.SEQUENCE)) {
      for (const entry of children(list, 'revokedCertificates')) {
        const serial = seq(entry, 'revoked certificate')[0];
        if (serial !== undefined) revoked.add(normaliseSerial(bytes(serial).toString('hex')));
      }
    }
    return { issuer, nextUpdate, revoked };
  });
}

/** UTCTime (YYMMDDHHMMSSZ, RFC 5280 §4.1.2.5.1) or GeneralizedTime (YYYYMMDDHHMMSSZ). */
function parseTime(text: string): number {
  const full = text.length === 13 ? `${Number(text.slice(0, 2)) >= 50 ? '19' : '20'}${text}` : text;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(full);
  if (m === null) return 0; // unreadable: treated as already past, so nothing leans on it
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}
