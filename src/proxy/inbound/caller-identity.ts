import { createHash, X509Certificate } from 'node:crypto';
import { normaliseSerial, readRevocationLists, type RevocationList } from '../../certificates/crl.js';
import { readPemBlocks } from '../../certificates/pem.js';
import type { TLSSocket } from 'node:tls';
import { readCertificateFields } from '../../certificates/x509-fields.js';
import type { InboundTls } from '../../snapshot/types.js';

interface Trust {
  readonly cas: readonly { readonly cert: X509Certificate; readonly subject: string }[];
  readonly crls: readonly RevocationList[] | null;
}

export type CallerCheck =
  /** `xfcc` is null when no certificate was presented and the name's mode is `optional`. */
  { readonly ok: true; readonly xfcc: string | null } | { readonly ok: false; readonly reason: string };

/** Verified (name revision, certificate) pairs kept per worker; older ones are forgotten first. */
const VERIFIED_LIMIT = 50_000;

/**
 * Caller mTLS after the handshake (SPEC §2). OpenSSL verified the caller's chain in the handshake
 * against the context of the SNI name (name-contexts.ts); the listener asks every caller for a
 * certificate and never aborts the handshake (`rejectUnauthorized: false`, the mode is per name),
 * so the verdict is enforced here, per request, as `401 client_certificate_required`.
 *
 * Resumed sessions need care: OpenSSL decrypts a session ticket with the listener's keys before the
 * SNI callback runs, so a session made for one name can be resumed under another, carrying its
 * verify result along (checked on Node 20, TLS 1.2 and 1.3). A resumed session therefore never
 * counts on its own: its certificate is accepted for a name only if a full handshake verified that
 * very certificate for that name's current revision on this worker. A caller cannot carry an
 * identity from one hostname to another, and resumption keeps working for the name that verified it.
 * Workers share session-ticket keys, so a session verified on one worker may resume on another: there
 * the certificate (the session keeps the leaf only) is checked again, here, against the name's CA
 * bundle: issued and signed by one of its CAs, all of it within its validity, and not revoked by a
 * current CRL of that CA when the name has CRLs (OpenSSL's rules for a one-level chain). A leaf
 * issued through an intermediate cannot be re-checked that way (the session keeps no chain); such a
 * caller is asked to connect again without resuming (one full handshake).
 */
export class CallerVerifier {
  /** `<InboundTls.key> <sha256 fingerprint>` → the certificate's notAfter (ms). Insertion-ordered. */
  readonly #verified = new Map<string, number>();
  readonly #perSocket = new WeakMap<
    TLSSocket,
    { readonly key: string; readonly check: CallerCheck; readonly notAfter: number }
  >();

  /** The name's CA bundle, parsed on the first resumed session that needs it. */
  readonly #trusted = new WeakMap<InboundTls, Trust>();

  check(socket: TLSSocket, name: InboundTls, now: number): CallerCheck {
    let entry = this.#perSocket.get(socket);
    if (entry?.key !== name.key) {
      entry = this.#evaluate(socket, name);
      this.#perSocket.set(socket, entry);
    }
    // A keep-alive connection can outlive the certificate it was verified with.
    if (entry.check.ok && entry.notAfter <= now)
      return { ok: false, reason: 'your client certificate has expired' };
    return entry.check;
  }

  #evaluate(socket: TLSSocket, name: InboundTls): { key: string; check: CallerCheck; notAfter: number } {
    const key = name.key;
    const peer = socket.getPeerX509Certificate();
    if (peer === undefined) {
      return name.clientAuth === 'required'
        ? { key, check: { ok: false, reason: 'no client certificate was presented' }, notAfter: 0 }
        : { key, check: { ok: true, xfcc: null }, notAfter: Infinity };
    }
    const notAfter = Date.parse(peer.validTo);
    const pair = `${key} ${peer.fingerprint256}`;
    if (!socket.isSessionReused()) {
      if (!socket.authorized) {
        return {
          key,
          check: { ok: false, reason: describeVerifyError(socket.authorizationError) },
          notAfter,
        };
      }
      this.#remember(pair, notAfter);
    } else if (this.#verified.get(pair) === undefined && !this.#issuedByTrusted(peer, name)) {
      return {
        key,
        check: {
          ok: false,
          reason:
            'this TLS session was resumed from a connection that did not verify your certificate for this host; connect again without resuming the session',
        },
        notAfter,
      };
    }
    return { key, check: { ok: true, xfcc: forwardedClientCert(peer.raw) }, notAfter };
  }

  #issuedByTrusted(peer: X509Certificate, name: InboundTls): boolean {
    if (name.caPem === null) return false;
    let trust = this.#trusted.get(name);
    if (trust === undefined) {
      trust = {
        cas: readPemBlocks(name.caPem, 'invalid_certificate', 'ca_pem').map((b) => {
          const cert = new X509Certificate(b.der);
          return { cert, subject: readCertificateFields(cert.raw).subject };
        }),
        crls: name.crlPem === null ? null : readRevocationLists(name.crlPem),
      };
      this.#trusted.set(name, trust);
    }
    const now = Date.now();
    const current = (c: X509Certificate): boolean =>
      Date.parse(c.validFrom) <= now && now < Date.parse(c.validTo);
    if (!current(peer)) return false;
    const issuer = trust.cas.find(
      ({ cert }) => cert.ca && current(cert) && peer.checkIssued(cert) && peer.verify(cert.publicKey),
    );
    if (issuer === undefined) return false;
    if (trust.crls === null) return true;
    // As OpenSSL with CRLs given: the issuer's CRL must be there and current, and not list the leaf.
    const crl = trust.crls.find((c) => c.issuer === issuer.subject);
    if (crl === undefined || (crl.nextUpdate !== null && crl.nextUpdate <= now)) return false;
    return !crl.revoked.has(normaliseSerial(peer.serialNumber));
  }

  #remember(pair: string, notAfter: number): void {
    this.#verified.delete(pair);
    this.#verified.set(pair, notAfter);
    if (this.#verified.size > VERIFIED_LIMIT) {
      const oldest = this.#verified.keys().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
  }
}

/** OpenSSL's verify error (Node's `authorizationError`) in words a caller can act on. */
function describeVerifyError(error: Error | string | null | undefined): string {
  const code =
    typeof error === 'string' ? error : ((error as NodeJS.ErrnoException | null)?.code ?? String(error));
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return 'your client certificate has expired';
    case 'CERT_NOT_YET_VALID':
      return 'your client certificate is not valid yet';
    case 'CERT_REVOKED':
      return 'your client certificate has been revoked';
    case 'UNABLE_TO_GET_CRL':
      return 'no revocation list is configured for the CA that issued your client certificate';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return 'your client certificate is not issued by a CA this host trusts';
    default:
      return `your client certificate failed verification (${code})`;
  }
}

/**
 * The verified certificate as Envoy's X-Forwarded-Client-Cert element: `Hash` is the SHA-256 of the
 * DER certificate in hex, `Subject` its DN in RFC 4514 form (always quoted), then one `URI=` / `DNS=`
 * pair per subjectAltName of those kinds. Values holding `,`, `;`, `=` or `"` are quoted, with `"`
 * and `\` escaped, so an upstream's XFCC parser reads back exactly what the certificate says.
 */
export function forwardedClientCert(der: Buffer): string {
  const fields = readCertificateFields(der);
  const parts = [
    `Hash=${createHash('sha256').update(der).digest('hex')}`,
    `Subject=${quote(asciiOnly(fields.subjectCompact))}`,
  ];
  for (const san of fields.sans) {
    const [kind, value] = san.startsWith('URI:')
      ? ['URI', san.slice(4)]
      : san.startsWith('DNS:')
        ? ['DNS', san.slice(4)]
        : [];
    // A SAN is an IA5String: one with control characters or spaces cannot be a real URI or name, and
    // must not reach a header line.
    if (kind !== undefined && value !== undefined && /^[\x21-\x7e]+$/.test(value))
      parts.push(`${kind}=${quoteIfNeeded(value)}`);
  }
  return parts.join(';');
}

/**
 * RFC 4514 §2.4 lets any character be written as `\` and the hex of its UTF-8 bytes; doing so for
 * everything outside printable ASCII keeps the header valid whatever script the subject is in.
 */
function asciiOnly(name: string): string {
  return name.replace(/[^\x20-\x7e]/gu, (ch) =>
    [...Buffer.from(ch, 'utf8')].map((b) => `\\${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

const quote = (value: string): string => `"${value.replace(/["\\]/g, '\\$&')}"`;
const quoteIfNeeded = (value: string): string => (/[,;="\\]/.test(value) ? quote(value) : value);
