import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { makeLeaf } from '../../test/helpers/pki-fixtures.js';
import { formatIp, formatName } from './names.js';
import { parseUpload } from './upload.js';

const { asn1 } = forge;
const U = asn1.Class.UNIVERSAL;

function atv(oid: string, type: number, value: string): forge.asn1.Asn1 {
  return asn1.create(U, asn1.Type.SEQUENCE, true, [
    asn1.create(U, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes()),
    asn1.create(U, type, false, value),
  ]);
}

function name(...rdns: forge.asn1.Asn1[][]): forge.asn1.Asn1 {
  return asn1.create(
    U,
    asn1.Type.SEQUENCE,
    true,
    rdns.map((attrs) => asn1.create(U, asn1.Type.SET, true, attrs)),
  );
}

const utf8 = (s: string): string => forge.util.encodeUtf8(s);

describe('formatName (RFC 4514)', () => {
  it('writes the most specific RDN first', () => {
    const n = name(
      [atv('2.5.4.6', asn1.Type.PRINTABLESTRING, 'US')],
      [atv('2.5.4.10', asn1.Type.UTF8, 'Acme')],
      [atv('2.5.4.3', asn1.Type.UTF8, 'client.example')],
    );
    expect(formatName(n)).toBe('CN=client.example, O=Acme, C=US');
  });

  it('escapes special characters and keeps one line', () => {
    const n = name([atv('2.5.4.3', asn1.Type.UTF8, utf8(' #a,b+c"d\\e<f>g;h\nä '))]);
    expect(formatName(n)).toBe('CN=\\ #a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\0Aä\\ ');
  });

  it('joins multi-valued RDNs with "+"', () => {
    const n = name([atv('2.5.4.3', asn1.Type.UTF8, 'x'), atv('2.5.4.11', asn1.Type.UTF8, 'Ops')]);
    expect(formatName(n)).toBe('CN=x+OU=Ops');
  });

  it('decodes BMPString and writes unknown types as OID=#hex', () => {
    const bmp = Buffer.from('Zürich', 'utf16le').swap16().toString('binary');
    const n = name([atv('2.5.4.7', asn1.Type.BMPSTRING, bmp)], [atv('1.2.3.4', asn1.Type.UTF8, 'z')]);
    expect(formatName(n)).toBe('1.2.3.4=#0c017a, L=Zürich');
  });

  it('is what parseUpload reports for a real certificate', () => {
    const leaf = makeLeaf({ cn: 'names.example', org: 'Acme, Inc.' });
    const parsed = parseUpload({ certificate: leaf.certPem, private_key: leaf.keyPem });
    expect(parsed.metadata.subject).toBe('CN=names.example, O=Acme\\, Inc.');
    expect(parsed.metadata.issuer).toBe(parsed.metadata.subject);
    expect(parsed.warnings).toEqual([]);
  });
});

describe('formatIp', () => {
  it.each([
    ['7f000001', '127.0.0.1'],
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['00000000000000000000000000000001', '::1'],
    ['20010db8000000010000000000000000', '2001:db8:0:1::'],
    ['20010db8000100000001000000000001', '2001:db8:1:0:1::1'],
  ])('%s → %s', (hex, text) => {
    expect(formatIp(Buffer.from(hex, 'hex'))).toBe(text);
  });
});
