/**
 * Distinguished names and subject alternative names as the one-line strings users see.
 *
 * Names follow RFC 4514: the most specific RDN first (`CN=client.example, O=Acme, C=US`, the reverse
 * of the DER order), attributes joined by ", ", multi-valued RDNs by "+", special characters escaped
 * with a backslash. Attribute types without a well-known short name are written as their dotted OID.
 * Control characters are escaped as `\XX` so a name always stays on one line.
 */
import { CONTEXT, T, UNIVERSAL, bytes, children, encode, oid, type Node } from './asn1.js';

const SHORT_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.15': 'businessCategory',
  '2.5.4.17': 'postalCode',
  '2.5.4.42': 'GN',
  '2.5.4.43': 'initials',
  '2.5.4.46': 'dnQualifier',
  '2.5.4.65': 'pseudonym',
  '2.5.4.97': 'organizationIdentifier',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '1.3.6.1.4.1.311.60.2.1.1': 'jurisdictionL',
  '1.3.6.1.4.1.311.60.2.1.2': 'jurisdictionST',
  '1.3.6.1.4.1.311.60.2.1.3': 'jurisdictionC',
};

/** `separator` joins the RDNs: ", " for people (the default), "," for RFC 4514's exact form. */
export function formatName(name: Node, separator = ', '): string {
  const rdns = children(name, 'name').map((rdn) =>
    children(rdn, 'RDN')
      .map((atv) => {
        const [type, value] = children(atv, 'attribute');
        const id = oid(type, 'attribute type');
        const short = SHORT_NAMES[id];
        // RFC 4514 §2.4: a type without a short name is written as its OID and its value as the
        // hex of its BER encoding, so nothing is lost for unusual string types.
        if (short === undefined || value === undefined || decodeString(value) === null) {
          return `${id}=#${value === undefined ? '' : encode(value).toString('hex')}`;
        }
        return `${short}=${escapeValue(decodeString(value) as string)}`;
      })
      .join('+'),
  );
  return rdns.reverse().join(separator);
}

/** Decodes the X.520 DirectoryString family; null for anything else. */
export function decodeString(node: Node): string | null {
  if (node.tagClass !== UNIVERSAL || node.constructed) return null;
  const b = bytes(node);
  switch (node.type as number) {
    case T.UTF8:
    case T.PRINTABLESTRING:
    case T.IA5STRING:
    case 18: // NumericString
    case 26: // VisibleString
      return b.toString('utf8');
    case 20: // TeletexString: in practice Latin-1, as OpenSSL treats it.
      return b.toString('latin1');
    case T.BMPSTRING:
      return b.length % 2 === 0 ? Buffer.from(b).swap16().toString('utf16le') : null;
    case 28: // UniversalString (UTF-32BE)
      if (b.length % 4 !== 0) return null;
      return Array.from({ length: b.length / 4 }, (_, i) => {
        const cp = b.readUInt32BE(i * 4);
        return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\uFFFD';
      }).join('');
    default:
      return null;
  }
}

function escapeValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).padStart(2, '0').toUpperCase()}`;
    else if ('"+,;<>\\'.includes(ch)) out += `\\${ch}`;
    else if ((i === 0 && (ch === '#' || ch === ' ')) || (i === value.length - 1 && ch === ' '))
      out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/** Printable one-line text for IA5 values in SANs (they are attacker-chosen bytes). */
function printable(b: Buffer): string {
  let out = '';
  for (const byte of b) {
    out +=
      byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * SubjectAltName entries (RFC 5280 §4.2.1.6) in OpenSSL's prefixes, except `IP:` for addresses:
 * `DNS:api.example`, `IP:127.0.0.1`, `IP:2001:db8::1`, `email:a@b`, `URI:https://…`,
 * `DirName:CN=…`, `RID:1.2.3`, `othername:<oid>`.
 */
export function formatGeneralNames(seq: Node): string[] {
  return children(seq, 'GeneralNames').map((gn) => {
    if (gn.tagClass !== CONTEXT) return 'unknown';
    switch (gn.type) {
      case 0:
        return `othername:${oid(children(gn, 'otherName')[0], 'otherName type')}`;
      case 1:
        return `email:${printable(bytes(gn))}`;
      case 2:
        return `DNS:${printable(bytes(gn))}`;
      case 4:
        return `DirName:${formatName(children(gn, 'directoryName')[0] as Node)}`;
      case 6:
        return `URI:${printable(bytes(gn))}`;
      case 7:
        return `IP:${formatIp(bytes(gn))}`;
      case 8:
        return `RID:${oid({ ...gn, tagClass: UNIVERSAL, type: T.OID }, 'registeredID')}`;
      default:
        return `unsupported:${gn.type}`;
    }
  });
}

export function formatIp(b: Buffer): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length !== 16) return `<${b.toString('hex')}>`;
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  // RFC 5952 §4.2: compress the longest run (≥ 2) of zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
