/**
 * Certificate requests (SPEC §2 "Certificate lifecycle"): a key pair generated inside vaultgate and a
 * PKCS#10 CSR (RFC 2986) signed with it, for a third party (a card network's CA) to sign. The clear
 * private key exists only inside `createKeyAndCsr`, which hands it to the sealing callback and
 * returns the sealed value: no caller ever holds it in clear.
 */
import { generateKeyPair as generateKeyPairCallback, webcrypto, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import { VaultgateError } from '../errors.js';
import { isHostname, parseHostnamePattern } from '../hosts/names.js';
import { x509 } from '../pki/crypto.js';
import { Mutex } from '../store/mutex.js';
import { child, parse } from './asn1.js';
import { formatName } from './names.js';

const generateKeyPair = promisify(generateKeyPairCallback);

export const CSR_CURVES = ['P-256', 'P-384'] as const;
export const CSR_RSA_SIZES = [2048, 3072, 4096] as const;
/** A request names at most this many SANs; real client certificates carry one to a handful. */
export const MAX_SANS = 100;

export type CsrKeySpec =
  | { key_type: 'ec'; curve: (typeof CSR_CURVES)[number] }
  | { key_type: 'rsa'; key_size: (typeof CSR_RSA_SIZES)[number] };

/** The subject fields of SPEC §2, already checked against the request schema. */
export interface CsrSubject {
  common_name: string;
  organization?: string | undefined;
  organizational_unit?: string | undefined;
  country?: string | undefined;
  state?: string | undefined;
  locality?: string | undefined;
  email?: string | undefined;
}

export interface CreatedCsr {
  csrPem: string;
  /** The CSR's subject as RFC 4514 text, formatted as certificate subjects are (names.ts). */
  subject: string;
  /** What `seal` returned for the PKCS#8 PEM of the private key. */
  privateKeySealed: string;
}

const EMAIL_LOCAL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$/;
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

function invalidSan(message: string): VaultgateError {
  return new VaultgateError('invalid_field', message, 'sans');
}

function readEmail(value: string, field: string): string {
  const at = value.lastIndexOf('@');
  const local = value.slice(0, at);
  const domain = value.slice(at + 1).toLowerCase();
  if (at <= 0 || !EMAIL_LOCAL.test(local) || !isHostname(domain)) {
    throw new VaultgateError(
      'invalid_field',
      `"${value.slice(0, 100)}" is not an email address such as "pki@acme.example".`,
      field,
    );
  }
  return `${local}@${domain}`;
}

/**
 * The SANs of a request, in certificate metadata's notation (`DNS:…`, `IP:…`, `email:…`): each entry
 * written with that prefix, or bare (an IP address, an address with `@`, else a DNS name, wildcards
 * allowed). Normalised (lower-case names, canonical IPv6) and without duplicates.
 */
export function readSans(input: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of input) {
    const entry = raw.trim();
    const prefixed = /^(DNS|IP|email):(.*)$/i.exec(entry);
    const kind = prefixed
      ? (prefixed[1] as string).toLowerCase()
      : isIP(entry)
        ? 'ip'
        : entry.includes('@')
          ? 'email'
          : 'dns';
    const value = prefixed ? (prefixed[2] as string) : entry;
    let san: string;
    if (kind === 'ip') {
      const family = isIP(value);
      if (family === 0) throw invalidSan(`"${value.slice(0, 100)}" is not an IPv4 or IPv6 address.`);
      // WHATWG URL serialises IPv6 in RFC 5952's canonical form, as certificate metadata shows it.
      san = `IP:${family === 4 ? value : new URL(`http://[${value}]/`).hostname.slice(1, -1)}`;
    } else if (kind === 'email') {
      san = `email:${readEmail(value, 'sans')}`;
    } else {
      san = `DNS:${parseHostnamePattern(value, 'sans')}`;
    }
    if (!out.includes(san)) out.push(san);
  }
  return out;
}

/** A subject attribute value: PrintableString when it fits (C must be one, RFC 5280 §4.1.2.6), else UTF8String. */
function directoryString(value: string): { printableString: string } | { utf8String: string } {
  return PRINTABLE.test(value) ? { printableString: value } : { utf8String: value };
}

/**
 * The subject in DER order (most general first), as OpenSSL's `req` writes it. Values are passed as
 * typed strings so the library never reinterprets them (it would read a leading `#` as hex).
 */
function subjectName(subject: CsrSubject): x509.Name {
  const rdns: Record<
    string,
    ({ printableString: string } | { utf8String: string } | { ia5String: string })[]
  >[] = [];
  const add = (type: string, value: string | undefined) => {
    if (value !== undefined) rdns.push({ [type]: [directoryString(value)] });
  };
  add('C', subject.country?.toUpperCase());
  add('ST', subject.state);
  add('L', subject.locality);
  add('O', subject.organization);
  add('OU', subject.organizational_unit);
  add('CN', subject.common_name);
  if (subject.email !== undefined)
    rdns.push({ E: [{ ia5String: readEmail(subject.email, 'subject.email') }] });
  return new x509.Name(rdns);
}

function sanNames(sans: readonly string[]): { type: 'dns' | 'ip' | 'email'; value: string }[] {
  return sans.map((san) => {
    const colon = san.indexOf(':');
    const prefix = san.slice(0, colon);
    const value = san.slice(colon + 1);
    return { type: prefix === 'DNS' ? 'dns' : prefix === 'IP' ? 'ip' : 'email', value };
  });
}

/** SHA-384 with P-384 keeps the signature as strong as the curve (RFC 5480 §4); SHA-256 otherwise. */
function algorithms(spec: CsrKeySpec): {
  key: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;
  sign: webcrypto.RsaHashedImportParams | webcrypto.EcdsaParams;
} {
  if (spec.key_type === 'rsa') {
    const rsa = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { key: rsa, sign: rsa };
  }
  return {
    key: { name: 'ECDSA', namedCurve: spec.curve },
    sign: { name: 'ECDSA', hash: spec.curve === 'P-384' ? 'SHA-384' : 'SHA-256' },
  };
}

/**
 * One RSA generation at a time. node:crypto's asynchronous generation runs on one of libuv's four
 * pool threads, off the event loop, but an RSA-4096 key takes seconds: a burst of requests would
 * take every pool thread and hold up the control plane's other pool work (file reads, the DNS
 * lookups of webhook deliveries) for as long — measured: a job queued behind eight RSA-4096
 * generations waited 3 s. Queued, a burst costs its own requests the wait, and nothing else.
 * EC keys take microseconds and are not queued.
 */
const rsaGeneration = new Mutex();

async function newKeyPair(spec: CsrKeySpec): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return spec.key_type === 'rsa'
    ? rsaGeneration.run(() =>
        generateKeyPair('rsa', { modulusLength: spec.key_size, publicExponent: 0x10001 }),
      )
    : generateKeyPair('ec', { namedCurve: spec.curve });
}

/**
 * Generates the key pair, signs a CSR for `subject` and `sans` with it, and seals the PKCS#8 PEM of
 * the private key with `seal` (which receives the CSR too, to bind the key to it). The clear key
 * never leaves this function.
 */
export async function createKeyAndCsr(
  spec: CsrKeySpec,
  subject: CsrSubject,
  sans: readonly string[],
  seal: (privateKeyPem: string, csrPem: string) => string,
): Promise<CreatedCsr> {
  const name = subjectName(subject);
  const { privateKey, publicKey } = await newKeyPair(spec);
  const { key, sign } = algorithms(spec);
  const keys: webcrypto.CryptoKeyPair = {
    privateKey: await webcrypto.subtle.importKey(
      'pkcs8',
      privateKey.export({ type: 'pkcs8', format: 'der' }),
      key,
      false,
      ['sign'],
    ),
    publicKey: await webcrypto.subtle.importKey(
      'spki',
      publicKey.export({ type: 'spki', format: 'der' }),
      key,
      true,
      ['verify'],
    ),
  };
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys,
    signingAlgorithm: sign,
    extensions: sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sanNames(sans))] : [],
  });
  const csrPem = `${csr.toString('pem').replace(/\r\n/g, '\n').trim()}\n`;
  // certificationRequestInfo is the CSR's first element; the subject Name its second (RFC 2986 §4.1).
  const info = child(parse(new Uint8Array(csr.rawData)), 0, 'CertificationRequest');
  return {
    csrPem,
    subject: formatName(child(info, 1, 'CertificationRequestInfo')),
    privateKeySealed: seal(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), csrPem),
  };
}
