import tls from 'node:tls';
import type { Logger } from '../../observability/logger.js';
import type { InboundTls } from '../../snapshot/types.js';

/**
 * The SecureContext the inbound listener switches to, by SNI, for each name (SPEC §2): the custom
 * hostname's own certificate, or the listener certificate with a vault's caller-mTLS trust. OpenSSL
 * takes the verify store and CRLs from the context chosen here as well as the certificate (checked on
 * Node 20: a caller certificate chains against the SNI context's `ca`, and `crl` revokes), so the
 * caller check of each name is OpenSSL's own, done in the handshake.
 *
 * Contexts are built on the first handshake that needs one (~2 ms each; 1,000 hostnames would
 * otherwise cost every worker 2 s per start) and kept for as long as the snapshot keeps the same
 * InboundTls object, i.e. until the record changes.
 */
export class NameContexts {
  readonly #built = new WeakMap<InboundTls, tls.SecureContext | null>();

  constructor(
    private readonly listener: { readonly certPem: string; readonly keyPem: string },
    private readonly log: Logger,
  ) {}

  /** The context for a name, or undefined for the listener's default one. */
  for(name: InboundTls): tls.SecureContext | undefined {
    if (name.chainPem === null && name.clientAuth === 'off') return undefined;
    let context = this.#built.get(name);
    if (context === undefined) {
      try {
        context = tls.createSecureContext({
          cert: name.chainPem ?? this.listener.certPem,
          key: name.keyPem ?? this.listener.keyPem,
          ...(name.caPem === null ? {} : { ca: name.caPem }),
          ...(name.crlPem === null ? {} : { crl: name.crlPem }),
        });
      } catch (err) {
        // The API built this context before accepting the record, so only a tampered row lands here.
        // The default context then answers: the caller sees a certificate for another name, and a
        // name that requires caller mTLS verifies nobody.
        this.log.error('an inbound name cannot be served with its certificate', {
          hostname_id: name.hostnameId,
          reason: (err as Error).message,
        });
        context = null;
      }
      this.#built.set(name, context);
    }
    return context ?? undefined;
  }
}
