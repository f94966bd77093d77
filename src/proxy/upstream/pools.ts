import type http from 'node:http';
import { isIP } from 'node:net';
import type { Logger } from '../../observability/logger.js';
import type { RuntimeCertificate, RuntimeRoute } from '../../snapshot/types.js';
import {
  hasIdleConnections,
  isIdle,
  isPoolAgent,
  PlainPoolAgent,
  retire,
  TlsPoolAgent,
  type PoolAgent,
} from './agents.js';
import {
  markedBlockingLookup,
  UpstreamBlocker,
  type BlockPolicy,
  type LookupFunction,
} from './blocked-ranges.js';
import { PoolRetiredError, TlsContextError } from './classify.js';
import type { ConnectSettings, HandshakeCounters } from './connector.js';
import { FairGate } from './fair-gate.js';
import { Lane } from './lane.js';
import { SecureContextCache, type LiveCertificates } from './secure-context.js';

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
  /** vaultgate's own listener ports and VAULTGATE_BLOCKED_UPSTREAMS (blocked-ranges.ts); default none. */
  blocked?: Omit<BlockPolicy, 'linkLocal'>;
  /**
   * Pools kept at most. Past it, the least recently used idle pool is closed: anyone holding a proxy
   * credential can name new origins, and each pool costs memory until dropped. Default 1,000.
   */
  maxPools?: number;
  /** A pool unused for this long, with nothing in flight, is closed. Default 5 minutes. */
  poolIdleMs?: number;
  /** Where a TLS context that cannot be built is reported (once per certificate). */
  logger?: Logger | undefined;
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

/** The client certificate id a pool agent presents (null for none or a foreign agent). */
export function certificateIdOf(agent: http.Agent): string | null {
  return agent instanceof TlsPoolAgent ? agent.certificateId : null;
}

/**
 * The undici side of a pool agent (null for a foreign agent): forward() sends through it every request
 * the undici client can carry faithfully, and through the agent the others (forward.ts).
 */
export function laneOf(agent: http.Agent): Lane | null {
  return isPoolAgent(agent) ? agent.lane : null;
}

/** The fair admission gate of a pool agent (null for a foreign agent). */
export function gateOf(agent: http.Agent): FairGate | null {
  return isPoolAgent(agent) ? agent.gate : null;
}

/**
 * The agent to send through now. A caller may hold an agent across requests (a CONNECT tunnel keeps
 * its choice for a snapshot); if the pool was closed for idleness meanwhile, the request goes through
 * the pool now registered for the same target instead, so every live connection stays under
 * `retainOnly`'s control (a deleted certificate is never presented again).
 */
export function currentAgent(agent: http.Agent): http.Agent {
  if (!isPoolAgent(agent) || !agent.evicted) {
    if (isPoolAgent(agent)) agent.lastUsed = performance.now();
    return agent;
  }
  return owners.get(agent)?.agentFor(agent.target) ?? agent;
}

const owners = new WeakMap<PoolAgent, UpstreamPools>();

/**
 * Keep-alive connection pools toward upstreams, keyed by (origin, client certificate, trust
 * settings): two client identities never share a connection (STYLE 7), and a route that trusts an
 * extra CA never shares one with a route that does not.
 */
export class UpstreamPools {
  /** In least-recently-used order: a hit moves its pool to the end. */
  private readonly pools = new Map<string, PoolAgent>();
  private readonly contexts: SecureContextCache;
  /** Trust settings object → short key; settings objects live as long as their snapshot. */
  private readonly trustKeys = new WeakMap<UpstreamTlsSettings, string>();
  private readonly trustIds = new Map<string, number>();
  private readonly counters: HandshakeCounters = { handshakes: 0, resumedSessions: 0 };
  private readonly agentOptions: http.AgentOptions;
  private readonly maxCachedSessions: number;
  private readonly maxSockets: number;
  private readonly maxFreeSockets: number;
  private readonly freeSocketTimeoutMs: number;
  private readonly lookup: LookupFunction | undefined;
  /** What no upstream may be (blocked-ranges.ts); also asked ahead of a CONNECT. */
  readonly blocker: UpstreamBlocker;
  private readonly maxPools: number;
  private readonly poolIdleMs: number;
  /** Certificate ids of the last snapshot; null until the first `retainOnly`. */
  private live: LiveCertificates | null = null;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: UpstreamPoolsOptions = {}) {
    this.contexts = new SecureContextCache(options.extraCaPem, options.logger);
    this.maxCachedSessions = options.maxCachedSessions ?? 100;
    this.maxSockets = options.maxSockets ?? 512;
    this.maxPools = options.maxPools ?? 1_000;
    // Past the 15 s idle-socket timeout a quiet pool holds no connection: keeping it longer only holds memory.
    this.poolIdleMs = options.poolIdleMs ?? 30_000;
    this.maxFreeSockets = options.maxFreeSockets ?? 64;
    this.freeSocketTimeoutMs = options.freeSocketTimeoutMs ?? 15_000;
    // One lookup for both clients of every pool, so they cannot disagree about what is blocked.
    this.blocker = new UpstreamBlocker({
      linkLocal: options.blockLinkLocal !== false,
      ranges: options.blocked?.ranges ?? [],
      ownPorts: options.blocked?.ownPorts ?? [],
    });
    this.lookup = markedBlockingLookup(this.blocker);
    this.agentOptions = {
      keepAlive: true,
      keepAliveMsecs: 15_000,
      maxSockets: this.maxSockets,
      maxFreeSockets: this.maxFreeSockets,
      timeout: this.freeSocketTimeoutMs,
      // LIFO keeps the warmest connections busy and lets the surplus idle out.
      scheduling: 'lifo',
      ...(this.lookup === undefined ? {} : { lookup: this.lookup as http.AgentOptions['lookup'] }),
    };
    this.sweeper = setInterval(
      () => this.sweep(performance.now() - this.poolIdleMs),
      Math.max(1_000, Math.min(60_000, this.poolIdleMs / 2)),
    );
    this.sweeper.unref();
  }

  agentFor(target: UpstreamTarget): http.Agent {
    const { origin } = target;
    const tlsOrigin = origin.protocol === 'https:';
    const certificateId = tlsOrigin ? (target.certificate?.id ?? '') : '';
    const trustKey = tlsOrigin && target.tls ? this.trustKey(target.tls) : '';
    const key = `${origin.protocol}//${origin.host}\n${certificateId}\n${trustKey}`;
    let agent = this.pools.get(key);
    if (agent !== undefined) {
      // Least-recently-used order, kept by re-inserting.
      this.pools.delete(key);
    } else {
      if (this.pools.size >= this.maxPools) this.evictOne();
      agent = tlsOrigin ? this.createTlsAgent(target) : this.createPlainAgent(target);
      owners.set(agent, this);
      if (
        tlsOrigin &&
        certificateId !== '' &&
        this.live !== null &&
        !this.live.has(certificateId) &&
        agent instanceof TlsPoolAgent
      ) {
        // Only a stale holder (an evicted pool brought back, see currentAgent) asks for a certificate
        // the snapshot no longer has: it must fail rather than present it.
        agent.retired = true;
      }
    }
    agent.lastUsed = performance.now();
    this.pools.set(key, agent);
    return agent;
  }

  /**
   * Called on every snapshot swap. Pools presenting a certificate that no longer exists are retired:
   * idle connections are closed now, requests in flight finish, and their connections are then closed
   * instead of pooled (SPEC §4: a deleted certificate is never presented again). Empty pools are
   * dropped too, so pools of edited trust settings do not accumulate.
   */
  retainOnly(liveCertificateIds: LiveCertificates): void {
    this.live = liveCertificateIds;
    this.contexts.retainOnly(liveCertificateIds);
    for (const [key, agent] of this.pools) {
      const id = agent.certificateId;
      if (id !== null && !liveCertificateIds.has(id)) {
        this.pools.delete(key);
        retire(agent);
      } else if (isIdle(agent) && !hasIdleConnections(agent)) {
        // Empty pools only: a swap happens on every API write, and must not cost warm connections.
        this.drop(key, agent);
      }
    }
  }

  /** Shutdown: closes every connection, including those still in use. */
  close(): void {
    clearInterval(this.sweeper);
    for (const agent of this.pools.values()) {
      agent.destroy();
      agent.lane.close();
    }
    this.pools.clear();
    this.contexts.clear();
  }

  stats(): UpstreamPoolStats {
    return { pools: this.pools.size, contexts: this.contexts.size, ...this.counters };
  }

  /**
   * Closes the pools unused since `before` (a performance.now() instant) that have nothing in flight
   * or queued. Runs on a timer; public so tests can run it without waiting.
   */
  sweep(before: number): void {
    for (const [key, agent] of this.pools) {
      // LRU order: once one pool is recent enough, all the following ones are too.
      if (agent.lastUsed > before) break;
      if (isIdle(agent)) this.drop(key, agent);
    }
  }

  /** Makes room for one more pool: closes the least recently used one with nothing in flight. */
  private evictOne(): void {
    for (const [key, agent] of this.pools) {
      if (isIdle(agent)) {
        this.drop(key, agent);
        return;
      }
    }
    // Every pool is busy: going over the cap beats failing requests; the sweep trims it later.
  }

  private drop(key: string, agent: PoolAgent): void {
    this.pools.delete(key);
    agent.evicted = true;
    // Only idle keep-alive connections are left: nothing in flight is cut.
    agent.destroy();
    agent.lane.close();
    if (agent instanceof TlsPoolAgent && typeof agent.context === 'string')
      this.contexts.release(agent.context);
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

  private createPlainAgent(target: UpstreamTarget): PlainPoolAgent {
    const agent = new PlainPoolAgent(this.agentOptions, new FairGate(this.maxSockets), target);
    agent.lane = this.createLane(target.origin, null, () => null);
    return agent;
  }

  private createLane(origin: URL, tlsSettings: ConnectSettings['tls'], refusal: () => Error | null): Lane {
    const host = origin.hostname.startsWith('[') ? origin.hostname.slice(1, -1) : origin.hostname;
    const port = origin.port === '' ? (origin.protocol === 'https:' ? 443 : 80) : Number(origin.port);
    return new Lane(
      new URL(origin.origin),
      { host, port, tls: tlsSettings, lookup: this.lookup, counters: this.counters },
      { maxIdle: this.maxFreeSockets, idleTimeoutMs: this.freeSocketTimeoutMs, refusal },
    );
  }

  private createTlsAgent(target: UpstreamTarget): TlsPoolAgent {
    const { origin, certificate } = target;
    const settings = target.tls;
    const context = this.contexts.acquire(certificate, settings?.ca_pem);
    const host = origin.hostname.startsWith('[') ? origin.hostname.slice(1, -1) : origin.hostname;
    // SNI names a host, never an address (RFC 6066 §3); '' tells Node to send none.
    const servername = settings?.servername ?? (isIP(host) === 0 ? host : '');
    // DANGEROUS when false: any server — including an attacker on the path — is accepted as the
    // upstream, and requests (with their secrets) go to it. Only for test upstreams the user owns.
    const rejectUnauthorized = settings?.verify ?? true;
    const agent = new TlsPoolAgent(
      {
        ...this.agentOptions,
        maxCachedSessions: this.maxCachedSessions,
        ...(context instanceof TlsContextError ? {} : { secureContext: context.context }),
        servername,
        rejectUnauthorized,
      },
      certificate?.id ?? null,
      this.counters,
      new FairGate(this.maxSockets),
      target,
      context instanceof TlsContextError ? context : context.key,
    );
    // The same SecureContext, name check and refusals as the agent: both clients present the same
    // identity and trust the same servers, and a retired pool opens no connection on either.
    agent.lane = this.createLane(
      origin,
      context instanceof TlsContextError
        ? null
        : { secureContext: context.context, servername, rejectUnauthorized },
      () =>
        agent.retired
          ? new PoolRetiredError()
          : agent.context instanceof TlsContextError
            ? agent.context
            : null,
    );
    return agent;
  }
}
