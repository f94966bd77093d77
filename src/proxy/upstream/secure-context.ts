import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { createTlsContext } from '../../certificates/tls-context.js';
import type { Logger } from '../../observability/logger.js';
import type { RuntimeCertificate } from '../../snapshot/types.js';
import { TlsContextError } from './classify.js';

/**
 * The certificates a snapshot holds, asked one id at a time: the snapshot's own map is passed, so a
 * swap costs a pass over the pools, not a copy of 10,000 ids.
 */
export interface LiveCertificates {
  has(certificateId: string): boolean;
}

/**
 * Builds the client SecureContext for one (certificate, trust store). Kept to this one function so
 * that upload validation can build the very same context (and so refuse what the proxies could not
 * use). Throws what OpenSSL throws.
 */
export function buildClientContext(
  certificate: Pick<RuntimeCertificate, 'chainPem' | 'keyPem'> | null,
  ca: readonly string[],
): tls.SecureContext {
  // The same builder upload validation uses, so what was accepted is what the pools can load.
  return createTlsContext(
    certificate ? { chainPem: certificate.chainPem, keyPem: certificate.keyPem } : null,
    ca,
  );
}

/** OpenSSL's reason without its error-queue prefix (`error:0A00018E:SSL routines::ca md too weak`). */
function reasonOf(err: unknown): string {
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
  const reason = /routines:[^:]*:+([^:]+)$/.exec(message)?.[1] ?? message;
  return reason.trim().slice(0, 200) || 'unknown error';
}

/** Failures remembered at most; a bound against a flood of distinct `ca_pem` values. */
const MAX_FAILURES = 10_000;

interface Entry {
  readonly certificateId: string | null;
  readonly context: tls.SecureContext;
  /** Pools using this context; at zero the context is dropped. */
  users: number;
}

/**
 * One SecureContext per (client certificate, extra CA), shared by the pools of every origin that use
 * them: building one parses the ~140 root certificates of the trust store, which cost 74% of the CPU
 * of a first request to a new host in the outbound-new-hosts benchmark. Server name checks and SNI are
 * per connection, so sharing the context across origins changes nothing else.
 *
 * A context that cannot be built is remembered as a TlsContextError (per certificate and CA), logged
 * once, and handed to the pool, which fails its requests with it: never an exception on the request
 * path, and no rebuild per request.
 */
export class SecureContextCache {
  private readonly contexts = new Map<string, Entry>();
  private readonly failures = new Map<string, TlsContextError>();
  readonly defaultCa: readonly string[];

  constructor(
    extraCaPem: string | undefined,
    private readonly logger: Logger | undefined,
  ) {
    // Passing `ca` to a SecureContext replaces Node's default store, so the roots (and the bundle
    // NODE_EXTRA_CA_CERTS names, which Node adds only to that default store) are concatenated here.
    const ca = [...tls.rootCertificates];
    const nodeExtra = process.env['NODE_EXTRA_CA_CERTS'];
    if (nodeExtra) {
      try {
        ca.push(readFileSync(nodeExtra, 'utf8'));
      } catch {
        // Node has already warned about an unreadable NODE_EXTRA_CA_CERTS at start-up.
      }
    }
    if (extraCaPem) ca.push(extraCaPem);
    this.defaultCa = ca;
  }

  get size(): number {
    return this.contexts.size;
  }

  /** Takes a reference on the context (give it back with `release(key)`), or returns the failure. */
  acquire(
    certificate: RuntimeCertificate | null,
    caPem: string | undefined,
  ): { key: string; context: tls.SecureContext } | TlsContextError {
    const key = `${certificate?.id ?? ''}\n${caPem ?? ''}`;
    const cached = this.contexts.get(key);
    if (cached !== undefined) {
      cached.users++;
      return { key, context: cached.context };
    }
    const failed = this.failures.get(key);
    if (failed !== undefined) return failed;
    let context: tls.SecureContext;
    try {
      context = buildClientContext(certificate, caPem ? [...this.defaultCa, caPem] : this.defaultCa);
    } catch (err) {
      const failure = new TlsContextError(certificate?.id ?? null, reasonOf(err));
      if (this.failures.size >= MAX_FAILURES) this.failures.clear();
      this.failures.set(key, failure);
      this.logger?.error('upstream TLS context cannot be built; requests using it answer 502', {
        certificate_id: certificate?.id ?? null,
        vault_id: certificate?.vaultId ?? null,
        reason: failure.reason,
      });
      return failure;
    }
    this.contexts.set(key, { certificateId: certificate?.id ?? null, context, users: 1 });
    return { key, context };
  }

  release(key: string): void {
    const entry = this.contexts.get(key);
    if (entry !== undefined && --entry.users <= 0) this.contexts.delete(key);
  }

  /** Forgets contexts and failures of certificates that no longer exist. */
  retainOnly(liveCertificateIds: LiveCertificates): void {
    for (const [key, entry] of this.contexts) {
      if (entry.certificateId !== null && !liveCertificateIds.has(entry.certificateId))
        this.contexts.delete(key);
    }
    for (const [key, failure] of this.failures) {
      if (failure.certificateId !== null && !liveCertificateIds.has(failure.certificateId))
        this.failures.delete(key);
    }
  }

  clear(): void {
    this.contexts.clear();
    this.failures.clear();
  }
}
