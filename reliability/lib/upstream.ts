/**
 * The third party the proxies talk to: an HTTPS server demanding a client certificate issued by a
 * throwaway client root, with a server certificate from a throwaway server root that vaultgate is
 * told to trust through VAULTGATE_UPSTREAM_CA_FILE (SPEC §1).
 */
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { x509 } from '../../src/pki/crypto.js';
import { issue, startTlsUpstream, type Issued, type TlsUpstream } from '../../test/helpers/tls-upstream.js';

export type { Issued, TlsUpstream };

export interface Pki {
  root: Issued;
  clientRoot: Issued;
  /** The server root as a PEM file, for VAULTGATE_UPSTREAM_CA_FILE. */
  caFile: string;
}

export async function makePki(dir: string): Promise<Pki> {
  const root = await issue({ cn: 'reliability upstream root', ca: true });
  const clientRoot = await issue({ cn: 'reliability client root', ca: true });
  const caFile = join(dir, 'upstream-ca.pem');
  writeFileSync(caFile, root.certPem);
  return { root, clientRoot, caFile };
}

/** The upstream; without a handler it answers with JSON naming the client certificate it received. */
export async function startUpstream(
  pki: Pki,
  handler?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TlsUpstream> {
  const server = await issue({
    cn: 'localhost',
    issuer: pki.root,
    usage: 'server',
    sans: ['localhost', '127.0.0.1'],
  });
  return startTlsUpstream({ server, clientCa: [pki.clientRoot.certPem], ...(handler ? { handler } : {}) });
}

/** A client certificate the upstream accepts; `seq` orders notBefore so a later one wins the choice rule. */
export function clientCertificate(pki: Pki, cn: string, seq = 0): Promise<Issued> {
  const notBefore = new Date(Date.now() - 86_400_000 + seq * 1000);
  return issue({ cn, issuer: pki.clientRoot, usage: 'client', notBefore });
}

/**
 * What the third party's CA does with a certificate request vaultgate made (SPEC §2 "Certificate
 * lifecycle"): a client certificate for the CSR's subject and key, from the client root. `seq` orders
 * notBefore as in clientCertificate.
 */
export async function signRequest(
  pki: Pki,
  csrPem: string,
  seq = 0,
): Promise<{ certPem: string; fingerprint256: string }> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const notBefore = new Date(Date.now() - 86_400_000 + seq * 1000);
  const cert = await x509.X509CertificateGenerator.create({
    subject: csr.subject,
    issuer: pki.clientRoot.signer.cert.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 30 * 86_400_000),
    publicKey: csr,
    signingKey: pki.clientRoot.signer.keys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(pki.clientRoot.signer.cert),
    ],
  });
  const certPem = cert.toString('pem') + '\n';
  return { certPem, fingerprint256: new X509Certificate(certPem).fingerprint256 };
}
