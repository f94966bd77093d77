import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { RuntimeCertificate, RuntimeRoute } from '../../snapshot/types.js';
import { blockingLookup, isLinkLocal } from './blocked-ranges.js';
import { BlockedAddressError, PoolRetiredError } from './classify.js';
import { noteServerFlight, trackTlsState } from './tls-state.js';

/** Per-route trust settings toward the upstream (SPEC §2 `upstream_tls`). */
export type UpstreamTlsSettings = RuntimeRoute['upstreamTls'];

export interface UpstreamTarget {
  /** Scheme, host and port of the upstream; path and query are ignored. */
  origin: URL;
  /** The client certificate to present, or null for none. Ignored for http: origins. */
  certificate: RuntimeCertificate | null;
  tls?: UpstreamTlsSettings | undefined;
}

export interface UpstreamPoolsOptions {
  /** Contents of VAULTGATE_UPSTREAM_CA_FILE: trusted in addition to Node's roots. */
  extraCaPem?: string | undefined;
  /** Concurrent connections per pool; requests beyond it wait in the agent's queue. */
  maxSockets?: number;
  /** Idle connections kept per pool. */
  maxFreeSockets?: number;
  /**
   * An idle pooled connection is closed after this long. Kept below the common server keep-alive
   * timeouts (Node 5 s is advertised with `Keep-Alive: timeout=5`, which Node's agent honours by
   * itself; nginx 75 s) so we rarely reuse a connection the server is about to close.
   */
  freeSocketTimeoutMs?: number;
  /** TLS sessions remembered per pool, for abbreviated handshakes on new connections. */
  maxCachedSessions?: number;
  /**
   * VAULTGATE_BLOCK_LINK_LOCAL: refuse upstreams in 169.254.0.0/16 and fe80::/10, whether named by
   * an IP literal or by a DNS name that resolves there (blocked-ranges.ts). Default true.
   */
  blockLinkLocal?: boolean;
}

export interface UpstreamPoolStats {
  pools: number;
  /** TLS contexts: one per (client certificate, extra CA), shared across origins. */
  contexts: number;
  /** New TLS connections that completed a handshake (full or resumed). */
  handshakes: number;
  /** Of those, how many resumed a cached session. */
  resumedSessions: number;
}

interface Counters {
  handshakes: number;
  resumedSessions: number;
}

/**
 * One pool: an https.Agent bound to a single (origin, client certificate, trust) triple. Its
 * SecureContext — the parsed certificate chain, key and trust store — is built once here instead of
 * by `tls.connect` on every new connection, which would re-parse ~140 root certificates each time.
 */
class TlsPoolAgent extends https.Agent {
  retired = false;

  constructor(
    options: https.AgentOptions,
    readonly certificateId: string | null,
    private readonly counters: Counters,
  ) {
    super(options);
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    if (this.retired) {
      // Only a request queued (maxSockets reached) before the certificate was deleted gets here;
      // opening a connection now would present a deleted certificate (SPEC §4), so it fails instead.
      callback?.(new PoolRetiredError(), undefined as unknown as Duplex);
      return undefined;
    }
    const blocked = blockedLiteral(options);
    if (blocked !== null) {
      callback?.(blocked, undefined as unknown as Duplex);
      return undefined;
    }
    // requestOCSP makes OpenSSL call back into Node at the end of the server's first flight, the one
    // moment we can see whether a CertificateRequest arrived (tls-state.ts). Stapled responses are
    // not evaluated; the server may simply send one more message.
    const withOcsp: https.RequestOptions & Pick<tls.TLSSocketOptions, 'requestOCSP'> = {
      ...options,
      requestOCSP: true,
    };
    // https.Agent's createConnection is tls.connect, so the Duplex it returns is a TLSSocket.
    const socket = super.createConnection(withOcsp, callback) as tls.TLSSocket;
    const state = trackTlsState(socket);
    socket.once('OCSPResponse', () => noteServerFlight(socket, state));
    socket.once('secureConnect', () => {
      noteServerFlight(socket, state);
      state.secure = true;
      state.protocol = socket.getProtocol();
      this.counters.handshakes++;
      if (socket.isSessionReused()) this.counters.resumedSessions++;
    });
    return socket;
  }
}

class PlainPoolAgent extends http.Agent {
  readonly certificateId = null;

  override createConnection(
    options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const blocked = blockedLiteral(options);
    if (blocked !== null) {
      callback?.(blocked, undefined as unknown as Duplex);
      return undefined;
    }
    return super.createConnection(options, callback);
  }
}

/**
 * net.connect skips `lookup` for an IP literal, so the agents' lookup never sees one: literals are
 * checked here instead. Only agents built with blockLinkLocal carry the blocking lookup, and only
 * they refuse literals (the marker is the lookup function itself, so the two cannot disagree).
 */
function blockedLiteral(options: http.ClientRequestArgs): BlockedAddressError | null {
  if (!(options.lookup as { blocksLinkLocal?: boolean } | undefined)?.blocksLinkLocal) return null;
  const host = (options.host ?? options.hostname ?? '').replace(/^\[|\]$/g, '');
  return isIP(host) !== 0 && isLinkLocal(host) ? new BlockedAddressError(host, host) : null;
}

/** The client certificate id a pool agent presents (null for none or a foreign agent). */
export function certificateIdOf(agent: http.Agent): string | null {
  return agent instanceof TlsPoolAgent ? agent.certificateId : null;
}

/**
 * Keep-alive connection pools toward upstreams, keyed by (origin, client certificate, trust
 * settings): two client identities never share a connection (STYLE 7), and a route that trusts an
 * extra CA never shares one with a route that does not.
 */
export class UpstreamPools {
  private readonly pools = new Map<string, TlsPoolAgent | PlainPoolAgent>();
  private readonly contexts = new Map<string, { certificateId: string | null; context: tls.SecureContext }>();
  /** Trust settings object → short key; settings objects live as long as their snapshot. */
  private readonly trustKeys = new WeakMap<UpstreamTlsSettings, string>();
  private readonly trustIds = new Map<string, number>();
  private readonly defaultCa: readonly string[];
  private readonly counters: Counters = { handshakes: 0, resumedSessions: 0 };
  private readonly agentOptions: http.AgentOptions;
  private readonly maxCachedSessions: number;

  constructor(options: UpstreamPoolsOptions = {}) {
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
    if (options.extraCaPem) ca.push(options.extraCaPem);
    this.defaultCa = ca;
    this.maxCachedSessions = options.maxCachedSessions ?? 100;
    this.agentOptions = {
      keepAlive: true,
      keepAliveMsecs: 15_000,
      maxSockets: options.maxSockets ?? 512,
      maxFreeSockets: options.maxFreeSockets ?? 64,
      timeout: options.freeSocketTimeoutMs ?? 15_000,
      // LIFO keeps the warmest connections busy and lets the surplus idle out.
      scheduling: 'lifo',
      ...(options.blockLinkLocal === false ? {} : { lookup: markedBlockingLookup() }),
    };
  }

  agentFor(target: UpstreamTarget): http.Agent {
    const { origin } = target;
    const tlsOrigin = origin.protocol === 'https:';
    const certificateId = tlsOrigin ? (target.certificate?.id ?? '') : '';
    const trustKey = tlsOrigin && target.tls ? this.trustKey(target.tls) : '';
    const key = `${origin.protocol}//${origin.host}\n${certificateId}\n${trustKey}`;
    let agent = this.pools.get(key);
    if (agent === undefined) {
      agent = tlsOrigin
        ? this.createTlsAgent(origin, target.certificate, target.tls)
        : new PlainPoolAgent(this.agentOptions);
      this.pools.set(key, agent);
    }
    return agent;
  }

  /**
   * Called on every snapshot swap. Pools presenting a certificate that no longer exists are retired:
   * idle connections are closed now, requests in flight finish, and their connections are then closed
   * instead of pooled (SPEC §4: a deleted certificate is never presented again). Empty pools are
   * dropped too, so pools of edited trust settings do not accumulate.
   */
  retainOnly(liveCertificateIds: ReadonlySet<string>): void {
    for (const [key, entry] of this.contexts) {
      if (entry.certificateId !== null && !liveCertificateIds.has(entry.certificateId))
        this.contexts.delete(key);
    }
    for (const [key, agent] of this.pools) {
      const id = agent.certificateId;
      if (id !== null && !liveCertificateIds.has(id)) {
        this.pools.delete(key);
        retire(agent);
      } else if (isEmpty(agent)) {
        this.pools.delete(key);
        agent.destroy();
      }
    }
  }

  /** Shutdown: closes every connection, including those still in use. */
  close(): void {
    for (const agent of this.pools.values()) agent.destroy();
    this.pools.clear();
    this.contexts.clear();
  }

  stats(): UpstreamPoolStats {
    return { pools: this.pools.size, contexts: this.contexts.size, ...this.counters };
  }

  private trustKey(settings: UpstreamTlsSettings): string {
    let key = this.trustKeys.get(settings);
    if (key === undefined) {
      // Content, not identity: the same settings in two snapshots must map to the same pool.
      const content = `${settings.verify ? 1 : 0}\n${settings.servername ?? ''}\n${settings.ca_pem ?? ''}`;
      let id = this.trustIds.get(content);
      if (id === undefined) {
        id = this.trustIds.size + 1;
        this.trustIds.set(content, id);
      }
      key = String(id);
      this.trustKeys.set(settings, key);
    }
    return key;
  }

  /**
   * One SecureContext per (client certificate, extra CA), shared by the pools of every origin that
   * uses them: building one parses the ~140 root certificates of the trust store, which cost 74% of
   * the CPU of a first request to a new host in the outbound-new-hosts benchmark. Server name checks
   * and SNI are per connection, so sharing the context across origins changes nothing else.
   */
  private secureContextFor(
    certificate: RuntimeCertificate | null,
    caPem: string | undefined,
  ): tls.SecureContext {
    const key = `${certificate?.id ?? ''}\n${caPem ?? ''}`;
    const cached = this.contexts.get(key);
    if (cached === undefined) {
      const context = tls.createSecureContext({
        ca: (caPem ? [...this.defaultCa, caPem] : this.defaultCa) as string[],
        // Sent whole: leaf then intermediates, so an upstream that trusts only our root can build the
        // path. Node 20's TLS options take the key as PEM, not as a KeyObject, so it is exported here,
        // once per context, straight into OpenSSL; the string is not kept.
        ...(certificate
          ? { cert: certificate.chainPem, key: certificate.key.export({ format: 'pem', type: 'pkcs8' }) }
          : {}),
      });
      this.contexts.set(key, { certificateId: certificate?.id ?? null, context });
      return context;
    }
    return cached.context;
  }

  private createTlsAgent(
    origin: URL,
    certificate: RuntimeCertificate | null,
    settings: UpstreamTlsSettings | undefined,
  ): TlsPoolAgent {
    const secureContext = this.secureContextFor(certificate, settings?.ca_pem);
    const host = origin.hostname.startsWith('[') ? origin.hostname.slice(1, -1) : origin.hostname;
    return new TlsPoolAgent(
      {
        ...this.agentOptions,
        maxCachedSessions: this.maxCachedSessions,
        secureContext,
        // SNI names a host, never an address (RFC 6066 §3); '' tells Node to send none.
        servername: settings?.servername ?? (isIP(host) === 0 ? host : ''),
        // DANGEROUS when false: any server — including an attacker on the path — is accepted as the
        // upstream, and requests (with their secrets) go to it. Only for test upstreams the user owns.
        rejectUnauthorized: settings?.verify ?? true,
      },
      certificate?.id ?? null,
      this.counters,
    );
  }
}

function markedBlockingLookup(): http.AgentOptions['lookup'] {
  return Object.assign(blockingLookup(), { blocksLinkLocal: true }) as http.AgentOptions['lookup'];
}

function retire(agent: TlsPoolAgent | PlainPoolAgent): void {
  if (agent instanceof TlsPoolAgent) agent.retired = true;
  // Runs before the agent's own 'free' handler, which would otherwise hand the connection to a
  // queued request or keep it: a destroyed socket is no longer writable, so that handler skips it.
  agent.prependListener('free', (socket: Duplex) => socket.destroy());
  for (const sockets of Object.values(agent.freeSockets)) {
    for (const socket of sockets ?? []) socket.destroy();
  }
}

function isEmpty(agent: http.Agent): boolean {
  const busy = Object.values(agent.sockets).some((list) => list !== undefined && list.length > 0);
  const idle = Object.values(agent.freeSockets).some((list) => list !== undefined && list.length > 0);
  const queued = Object.values(agent.requests).some((list) => list !== undefined && list.length > 0);
  return !busy && !idle && !queued;
}
