import type { KeyObject } from 'node:crypto';
import { normaliseHost } from '../hosts/names.js';
import { chainPem, issueServerCertificate, loadIssuer } from './issuer.js';
import { certificatePem, generateKeyPair, pkcs8Pem, randomSerial, validity, x509 } from './crypto.js';

export interface CreateCaOptions {
  /** e.g. `vaultgate local CA` or `vaultgate outbound CA <vault_id>`. */
  commonName: string;
  /** Default 10 years: users install this CA in trust stores, and replacing it means doing that again. */
  validityDays?: number;
}

export interface PemKeyPair {
  certPem: string;
  /** PKCS#8 PEM, unencrypted: the caller seals it with the keyring before it touches storage. */
  keyPem: string;
}

const CA_DAYS = 3650;

/** A self-signed P-256 root that signs only end-entity certificates. */
export async function createCa(options: CreateCaOptions): Promise<PemKeyPair> {
  const commonName = options.commonName.trim();
  if (commonName.length === 0 || commonName.length > 64) {
    throw new TypeError('commonName must be 1 to 64 characters (RFC 5280 ub-common-name)');
  }
  const keys = await generateKeyPair();
  const span = validity(options.validityDays ?? CA_DAYS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [commonName] }, { O: ['vaultgate'] }],
    notBefore: span.notBefore,
    notAfter: span.notAfter,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      // pathLen 0: this CA signs leaves only, so a leaf it issued can never act as an intermediate
      // even if a client forgot to check the leaf's own CA:false.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: certificatePem(cert), keyPem: await pkcs8Pem(keys.privateKey) };
}

export interface ListenerCertificateOptions {
  caCertPem: string;
  caKey: KeyObject;
  /** e.g. `*.sandbox.localhost`, `*.live.localhost`, `localhost`. */
  dnsNames: readonly string[];
  /** e.g. `127.0.0.1`. */
  ipAddresses: readonly string[];
  /** At most 397 (the default). */
  validityDays?: number;
}

export interface ListenerCertificate extends PemKeyPair {
  /** `certPem` is the chain: the leaf, then the CA, ready for `tls.createServer({ cert, key })`. */
  leafPem: string;
  notAfter: Date;
}

/**
 * CA/B Baseline Requirements §6.3.2 cap server certificates at 398 days, and Apple and Chrome enforce
 * it for public roots. A locally installed root is exempt today, but staying inside the limit means
 * a user who puts the local CA into a managed trust store is never surprised. 397 leaves a day of slack
 * for clocks and rounding.
 */
export const MAX_LISTENER_DAYS = 397;

/**
 * The certificate vaultgate's own TLS listeners present (SPEC §2 local-ca). Each call makes a new key:
 * listener keys are long-lived and must not be shared with the interception leaves.
 */
export async function issueListenerCertificate(
  options: ListenerCertificateOptions,
): Promise<ListenerCertificate> {
  const days = options.validityDays ?? MAX_LISTENER_DAYS;
  if (days > MAX_LISTENER_DAYS) throw new TypeError(`validityDays must be at most ${MAX_LISTENER_DAYS}`);
  const dnsNames = options.dnsNames.map(normaliseDnsName);
  const ipAddresses = options.ipAddresses.map((ip) => {
    const host = normaliseHost(ip);
    if (host.kind !== 'ip') throw new TypeError(`${ip} is not an IP address`);
    return host.name;
  });

  const issuer = await loadIssuer(options.caCertPem, options.caKey);
  const keys = await generateKeyPair();
  const leaf = await issueServerCertificate(issuer, {
    publicKey: keys.publicKey,
    dnsNames: [...new Set(dnsNames)],
    ipAddresses: [...new Set(ipAddresses)],
    validity: validity(days),
  });
  return {
    certPem: chainPem(leaf, issuer),
    leafPem: certificatePem(leaf),
    keyPem: await pkcs8Pem(keys.privateKey),
    notAfter: leaf.notAfter,
  };
}

/**
 * Listener names may hold one wildcard, and only as the whole left-most label (RFC 6125 §6.4.3, and
 * what Node's checkServerIdentity accepts); the rest is an ordinary hostname.
 */
function normaliseDnsName(name: string): string {
  const wildcard = name.startsWith('*.');
  const host = normaliseHost(wildcard ? name.slice(2) : name);
  if (host.kind !== 'dns') throw new TypeError(`${name} is not a DNS name (put IPs in ipAddresses)`);
  return wildcard ? `*.${host.name}` : host.name;
}
