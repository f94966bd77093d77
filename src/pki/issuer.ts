import type { KeyObject, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import {
  certificatePem,
  keyMatches,
  randomSerial,
  toSigningKey,
  x509,
  type SigningKey,
  type Validity,
} from './crypto.js';

/** A CA ready to sign: parsed once, so minting a leaf costs one signature and nothing else. */
export interface Issuer {
  readonly cert: x509.X509Certificate;
  /** The CA certificate as PEM, appended after each leaf to form the chain. */
  readonly certPem: string;
  readonly signing: SigningKey;
  readonly authorityKeyIdentifier: x509.AuthorityKeyIdentifierExtension;
}

export async function loadIssuer(caCertPem: string, caKey: KeyObject): Promise<Issuer> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(caCertPem);
  } catch {
    throw new TypeError('caCertPem is not a PEM certificate');
  }
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) throw new TypeError('caCertPem is not a CA certificate (basicConstraints CA:false)');
  if (!keyMatches(caKey, cert.publicKey.rawData)) throw new TypeError('caKey does not belong to caCertPem');

  // RFC 5280 §4.2.1.1: the AKI of a leaf must carry the issuer's subjectKeyIdentifier when it has one,
  // because OpenSSL (and so Node) uses the pair to pick the issuer while building the chain.
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const authorityKeyIdentifier = ski
    ? new x509.AuthorityKeyIdentifierExtension(ski.keyId)
    : await x509.AuthorityKeyIdentifierExtension.create(cert.publicKey);

  return { cert, certPem: certificatePem(cert), signing: await toSigningKey(caKey), authorityKeyIdentifier };
}

export interface ServerCertificateRequest {
  publicKey: webcrypto.CryptoKey;
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  validity: Validity;
  /** Precomputed subjectKeyIdentifier of `publicKey`, when many leaves share one key. */
  subjectKeyIdentifier?: x509.SubjectKeyIdentifierExtension;
}

/** RFC 5280 Appendix A: ub-common-name is 64 characters; a longer hostname cannot be a CN. */
const MAX_CN = 64;

/** Signs a TLS server certificate with `issuer`. Names are expected to be validated by the caller. */
export async function issueServerCertificate(
  issuer: Issuer,
  request: ServerCertificateRequest,
): Promise<x509.X509Certificate> {
  const { dnsNames, ipAddresses } = request;
  if (dnsNames.length === 0 && ipAddresses.length === 0)
    throw new TypeError('a server certificate needs a name');
  for (const ip of ipAddresses) if (isIP(ip) === 0) throw new TypeError(`${ip} is not an IP address`);

  const names: x509.JsonGeneralName[] = [
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  // Browsers only read SANs, but logs and older tools show the CN. If no name fits, the subject is
  // empty and RFC 5280 §4.2.1.6 then requires the SAN extension to be critical.
  const cn = [...dnsNames, ...ipAddresses].find((name) => name.length <= MAX_CN);
  const subject = cn === undefined ? '' : `CN=${escapeRdn(cn)}`;

  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: issuer.cert.subjectName,
    notBefore: request.validity.notBefore,
    notAfter: request.validity.notAfter,
    publicKey: request.publicKey,
    signingKey: issuer.signing.key,
    signingAlgorithm: issuer.signing.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      // ECDSA keys only sign during the handshake (RFC 5480 §3), so digitalSignature alone.
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      // Apple and Chrome refuse server certificates without serverAuth in the EKU.
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names, cn === undefined),
      request.subjectKeyIdentifier ?? (await x509.SubjectKeyIdentifierExtension.create(request.publicKey)),
      issuer.authorityKeyIdentifier,
    ],
  });
}

/** RFC 4514 string escaping, so a name can never smuggle another attribute into the DN. */
function escapeRdn(value: string): string {
  return value.replace(/[,+"\\<>;=#]/g, (c) => `\\${c}`);
}

export function chainPem(leaf: x509.X509Certificate, issuer: Issuer): string {
  return certificatePem(leaf) + issuer.certPem;
}
