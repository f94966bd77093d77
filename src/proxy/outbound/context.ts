import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../../observability/logger.js';
import type { ProxyMetrics } from '../../observability/proxy-metrics.js';
import type { RuntimeCertificate, RuntimeCredential } from '../../snapshot/types.js';
import type { ForwardOptions } from '../http/forward.js';
import type { UpstreamPools } from '../upstream/pools.js';
import type { Principal, ProxyAuthenticator } from './auth.js';
import type { VaultMinters } from './minters.js';
import type { ProxyTarget } from './target.js';

/** What the outbound proxy's parts share; built once by createOutboundServers. */
export interface OutboundContext {
  readonly pools: UpstreamPools;
  readonly auth: ProxyAuthenticator;
  readonly minters: VaultMinters;
  readonly logger: Logger;
  readonly forwardOptions: ForwardOptions;
  /** Decrypted sockets of established tunnels → what the CONNECT said. */
  readonly tunnels: WeakMap<Socket, Tunnel>;
  /** For shutdown: every tunnel still open, from the start of its TLS handshake. */
  readonly openTunnels: Set<Socket>;
  readonly metrics: ProxyMetrics;
  /** Set by close(): answers carry `Connection: close` so keep-alive clients move on. */
  closing: boolean;
}

/**
 * One intercepted CONNECT, remembered per decrypted socket: everything about a request inside it that
 * does not change from one request to the next is worked out here once.
 */
export interface Tunnel {
  /** Re-checked against the current snapshot before each request (auth.ts `recheck`). */
  principal: Principal;
  readonly target: ProxyTarget;
  /** The SNI name the client sent, if any (for the log). */
  readonly sni: string | null;
  readonly clientAddress: string;
  /** `https://host:port` without the trailing slash, to which each request's path is appended. */
  readonly originPrefix: string;
  /** Host header when the client sends none (HTTP/1.0): the target, without the default port. */
  readonly defaultHost: string;
  /** Certificate choice and pool, valid for `credential` (one snapshot) until `until` (epoch ms). */
  choice: Choice | null;
  requests: number;
  /** Requests being answered right now (0 or 1 without pipelining): close() spares busy tunnels. */
  active: number;
  /** The answer in progress, so close() can still turn it into the tunnel's last one. */
  response: http.ServerResponse | null;
}

export interface Choice {
  readonly credential: RuntimeCredential;
  readonly certificate: RuntimeCertificate | null;
  readonly agent: http.Agent;
  readonly until: number;
}
