import type { KeyObject } from 'node:crypto';
import type { HostTable } from '../hosts/table.js';
import type { ClientAuthMode, Environment, UpstreamTlsSettings } from '../store/types.js';
import type { SourceMatcher } from './source-match.js';

/**
 * The immutable runtime view of the configuration that the data plane reads. Built whole from the
 * store (src/snapshot/build.ts) and swapped in atomically (src/snapshot/holder.ts); proxy code never
 * reads the database and never mutates a snapshot.
 */
export interface RuntimeConfig {
  /** The store's configuration version this snapshot was built from. */
  readonly version: number;
  readonly builtAt: number;
  readonly vaultsById: ReadonlyMap<string, RuntimeVault>;
  /** Lower-case `<vault_id>.<environment>.<domain>` → vault. */
  readonly vaultsByHost: ReadonlyMap<string, RuntimeVault>;
  /**
   * Every name the inbound listener answers to: each vault's own host and each custom hostname
   * (exact or `*.` wildcard), looked up by SNI in the TLS handshake and by Host per request.
   */
  readonly inboundNames: HostTable<InboundName>;
  readonly credentialsByUsername: ReadonlyMap<string, RuntimeCredential>;
  readonly certificatesById: ReadonlyMap<string, RuntimeCertificate>;
}

export interface RuntimeVault {
  readonly id: string;
  readonly name: string;
  readonly environment: Environment;
  readonly inboundHost: string;
  /** In creation order. */
  readonly inboundRoutes: readonly RuntimeRoute[];
  /**
   * The route inbound requests take: the first inbound route whose host_endpoint fully matches this
   * vault's host. Computed once per snapshot (see host-match.ts): no regex runs per request.
   */
  readonly inboundRoute: RuntimeRoute | undefined;
  readonly outboundRoutes: readonly RuntimeRoute[];
  readonly outboundCa: { readonly certPem: string; readonly key: KeyObject };
}

/** One name the inbound listener answers to (SPEC §2, §3). Compare two by identity. */
export interface InboundName {
  /** As configured: a vault's host, or a custom hostname such as `*.acme.example`. */
  readonly hostname: string;
  readonly vault: RuntimeVault;
  /**
   * The route its requests take: for a vault's host, the vault's inboundRoute; for a custom hostname,
   * the first inbound route whose host_endpoint matches the hostname, else the vault's inboundRoute.
   */
  readonly route: RuntimeRoute | undefined;
  readonly tls: InboundTls;
}

/**
 * The TLS side of an inbound name: the server certificate to present and the caller-mTLS settings.
 * The same frozen object is reused by every snapshot until the record changes, so the listener can
 * keep the SecureContext it built for it (a WeakMap keyed on this object).
 */
export interface InboundTls {
  /**
   * Identity plus revision (`<id>@<revision>`): changes whenever the certificate or the caller-mTLS
   * settings change, so a caller verified under the old settings is not trusted under the new ones.
   */
  readonly key: string;
  /** The custom hostname's id; null for a vault's own host. */
  readonly hostnameId: string | null;
  /** The server chain and opened key; null for a vault's own host (the listener certificate). */
  readonly chainPem: string | null;
  readonly keyPem: Buffer | null;
  readonly notAfter: number | null;
  readonly clientAuth: ClientAuthMode;
  readonly caPem: string | null;
  readonly crlPem: string | null;
}

export interface RuntimeRoute {
  readonly id: string;
  readonly vaultId: string;
  readonly type: 'inbound' | 'outbound';
  /** host_endpoint as stored; match it with `routeMatchesHost` (snapshot/host-match.ts), never directly per request. */
  readonly hostEndpoint: string;
  /** Inbound only: the parsed destination_override_endpoint. */
  readonly upstream: URL | null;
  readonly upstreamTls: Readonly<UpstreamTlsSettings>;
  /** source_endpoint, compiled (source-match.ts): which callers may use the route (inbound). */
  readonly sources: SourceMatcher;
  /** Certificates tied to this route (inbound), candidates for the choice rule. */
  readonly certificates: readonly RuntimeCertificate[];
}

export interface RuntimeCredential {
  readonly id: string;
  readonly vaultId: string;
  readonly username: string;
  /** HMAC-SHA-256 of the password under the server secret. */
  readonly passwordHash: Buffer;
  readonly active: boolean;
  /** Certificates tied to this credential (outbound), candidates for the choice rule. */
  readonly certificates: readonly RuntimeCertificate[];
}

/** A stored certificate turned into ready TLS material. Immutable: certificates are never edited in place. */
export interface RuntimeCertificate {
  readonly id: string;
  readonly vaultId: string;
  readonly proxyType: 'inbound' | 'outbound';
  /** Lower-case hostnames or `*.`-wildcards of one label; empty means "any host". */
  readonly hosts: readonly string[];
  readonly notBefore: number;
  readonly notAfter: number;
  readonly createdAt: number;
  /** Leaf first, then intermediates: sent whole in the handshake. */
  readonly chainPem: string;
  /**
   * The opened private key as PKCS#8 PEM, the form the TLS context takes (Node 20 does not accept a
   * KeyObject there). It exists only in memory, never in a log or a response.
   */
  readonly keyPem: Buffer;
  /**
   * Whether the TLS stack loads this chain and key (certificates/tls-context.ts), judged once, on
   * first read. A row that is not (tampered, or stored under an older rule such as a SHA-1 chain)
   * is reported, never chosen (certificates/choose.ts), and left out of the next snapshot. Absent
   * (certificates made by hand in tests) counts as usable.
   */
  readonly usable?: boolean;
}
