/**
 * Certificates made in-process with @peculiar/x509 over WebCrypto, for the scenarios that need
 * hundreds or thousands of them (each with its own P-256 key): a process spawn of the openssl CLI
 * per certificate would cost minutes, WebCrypto costs about a millisecond.
 */
import { webcrypto } from 'node:crypto';
import { join } from 'node:path';

type X509 = typeof import('@peculiar/x509');

/**
 * @peculiar/x509 loads tsyringe, which refuses to load without Reflect metadata; vaultgate ships a
 * minimal polyfill (src/pki/reflect-metadata.ts), loaded here from the build before the library.
 */
export async function loadX509(): Promise<X509> {
  await import(join(import.meta.dirname, '../../src/pki/reflect-metadata.js'));
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<X509['cryptoProvider']['set']>[0]);
  return x509;
}

export const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64.replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

export interface ServerCertificate {
  /** The DNS name the certificate is for, `*.` included for a wildcard. */
  hostname: string;
  certificate: string;
  private_key: string;
}

/**
 * A CA of its own and one server certificate per name (subjectAltName = that name, serverAuth),
 * each with its own key: what a customer brings for each of its custom hostnames.
 */
export async function makeServerCertificates(
  names: readonly string[],
): Promise<{ caPem: string; certificates: ServerCertificate[] }> {
  const x509 = await loadX509();
  const caKeys = await webcrypto.subtle.generateKey(EC, false, ['sign', 'verify']);
  const caName = 'CN=bench hostnames CA, O=vaultgate bench';
  const notBefore = new Date(Date.now() - 3_600_000);
  const notAfter = new Date(Date.now() + 30 * 86_400_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: caName,
    notBefore,
    notAfter,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const certificates: ServerCertificate[] = [];
  for (const [i, hostname] of names.entries()) {
    const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: (i + 2).toString(16).padStart(8, '0'),
      subject: `CN=${hostname}, O=vaultgate bench`,
      issuer: caName,
      notBefore,
      notAfter,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: hostname }]),
        await x509.AuthorityKeyIdentifierExtension.create(ca, false),
      ],
    });
    certificates.push({
      hostname,
      // The leaf alone: its issuer is the root the callers trust, which a server need not send
      // (RFC 8446 §4.4.2), and every certificate sent is one more the client parses per handshake.
      certificate: `${cert.toString('pem')}\n`,
      private_key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    });
  }
  return { caPem: ca.toString('pem') + '\n', certificates };
}
