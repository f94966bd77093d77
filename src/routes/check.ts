/**
 * What makes a route valid beyond the shape of its JSON body (SPEC §2, §4): the destination is an
 * http(s) URL that does not lead somewhere blocked, `source_endpoint` is a list of CIDR ranges, the
 * `host_endpoint` regex and the `upstream_tls.ca_pem` bundle can be used, `upstream_tls.servername`
 * is a host name. The HTTP side (schema, status codes, store writes) is api/routes.ts.
 */
import type { Settings } from '../config/settings.js';
import { VaultgateError } from '../errors.js';
import { parseHostname } from '../hosts/names.js';
import type { Logger } from '../observability/logger.js';
import { JobTimeLimitError, type OffloadPool } from '../offload/pool.js';
import { UpstreamBlocker } from '../proxy/upstream/blocked-ranges.js';
import { sourceEndpointProblem } from '../snapshot/source-match.js';
import type { RouteRecord, UpstreamTlsSettings } from '../store/types.js';

/** A route as the API receives it, already checked against its JSON schema. */
export interface RouteInput {
  id?: string;
  destination_override_endpoint: string;
  host_endpoint?: string;
  port?: number;
  protocol?: string;
  source_endpoint?: string;
  tags?: Record<string, string>;
  entries?: unknown[];
  upstream_tls?: { ca_pem?: string; verify?: boolean; servername?: string };
}

/** The fields of a route the store keeps, apart from those the store or the API assigns. */
export type RouteFields = Omit<RouteRecord, 'id' | 'vault_id' | 'seq' | 'created_at' | 'updated_at'>;

/** What the checks need from the process: the API passes its whole context. */
export interface RouteCheckContext {
  readonly settings: Pick<
    Settings,
    'blockLinkLocal' | 'blockedUpstreams' | 'adminPort' | 'inboundPort' | 'outboundPort' | 'outboundTlsPort'
  >;
  readonly offload: Pick<OffloadPool, 'run'>;
  readonly logger: Pick<Logger, 'warn'>;
  /** The listeners' ports, once they are bound. */
  ports(): { admin: number; inbound: number; outbound: number; outbound_tls: number } | undefined;
}

/** Checks a route body beyond its schema; returns the fields the store keeps. */
export async function checkRoute(ctx: RouteCheckContext, body: RouteInput): Promise<RouteFields> {
  if (body.entries !== undefined && body.entries.length > 0) {
    throw new VaultgateError(
      'unsupported_filter',
      'Route entries (redact/reveal filters) are not supported yet; send "entries": [] or leave it out.',
      'entries',
    );
  }
  const destination = body.destination_override_endpoint.trim();
  let type: RouteRecord['type'];
  if (destination === '*') {
    type = 'outbound';
  } else {
    let url: URL | undefined;
    try {
      url = new URL(destination);
    } catch {
      url = undefined;
    }
    if (
      !url ||
      (url.protocol !== 'https:' && url.protocol !== 'http:') ||
      !url.hostname ||
      url.username ||
      url.password
    ) {
      throw new VaultgateError(
        'invalid_field',
        'destination_override_endpoint must be an http(s) URL of the upstream, such as "https://api.example.com:443", or "*" for an outbound route.',
        'destination_override_endpoint',
      );
    }
    if (url.search || url.hash) {
      throw new VaultgateError(
        'invalid_field',
        "destination_override_endpoint must not carry a query or fragment: the caller's own path and query are appended.",
        'destination_override_endpoint',
      );
    }
    await refuseBlockedDestination(ctx, url);
    type = 'inbound';
  }
  const sourceProblem = sourceEndpointProblem(body.source_endpoint ?? '*');
  if (sourceProblem !== null) {
    throw new VaultgateError(
      'invalid_field',
      `source_endpoint ${sourceProblem}; it is "*" or a comma-separated list of CIDR ranges, such as "203.0.113.0/24, 2001:db8::/32".`,
      'source_endpoint',
    );
  }
  const hostEndpoint = body.host_endpoint ?? '(.*)';
  // Both checks run in an offload thread under its time limit: a regex and a 256 KiB PEM bundle are
  // attacker-sized input, and neither may hold the event loop the proxies share.
  await offloaded(ctx, 'host_endpoint', () => ctx.offload.run('checkHostEndpoint', hostEndpoint));
  const tls = body.upstream_tls ?? {};
  const upstreamTls: UpstreamTlsSettings = { verify: tls.verify ?? true };
  if (tls.ca_pem !== undefined && tls.ca_pem.trim() !== '') {
    const pem = tls.ca_pem;
    upstreamTls.ca_pem = await offloaded(ctx, 'upstream_tls.ca_pem', () =>
      ctx.offload.run('checkCaPem', pem),
    );
  }
  if (tls.servername !== undefined && tls.servername !== '') {
    // The SNI sent upstream and the name its certificate is checked against: one exact host name
    // (RFC 6066 §3 allows no IP address in SNI, and the pools send none for an IP upstream).
    upstreamTls.servername = parseHostname(tls.servername, 'upstream_tls.servername');
  }
  return {
    type,
    destination_override_endpoint: destination,
    host_endpoint: hostEndpoint,
    port: body.port ?? 443,
    protocol: body.protocol ?? 'http',
    source_endpoint: body.source_endpoint?.trim() ?? '*',
    tags: body.tags ?? {},
    upstream_tls: upstreamTls,
  };
}

/**
 * SPEC §4: an inbound route may not lead to vaultgate's own listeners, link-local addresses or the
 * ranges of VAULTGATE_BLOCKED_UPSTREAMS — by an IP literal or by a name resolving there now (the data
 * plane checks the addresses again at every connection: DNS can change).
 */
async function refuseBlockedDestination(ctx: RouteCheckContext, url: URL): Promise<void> {
  const { settings } = ctx;
  const ports = ctx.ports();
  const blocker = new UpstreamBlocker({
    linkLocal: settings.blockLinkLocal,
    ranges: settings.blockedUpstreams,
    ownPorts: ports
      ? [ports.admin, ports.inbound, ports.outbound, ports.outbound_tls]
      : [settings.adminPort, settings.inboundPort, settings.outboundPort, settings.outboundTlsPort],
  });
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  const refused = await blocker.check(url.hostname, port);
  if (refused !== null) {
    throw new VaultgateError(
      'invalid_field',
      `destination_override_endpoint cannot be used: ${refused.message}.`,
      'destination_override_endpoint',
    );
  }
}

/** A job's time limit becomes invalid_field on the field it checks, naming the limit. */
async function offloaded<T>(ctx: RouteCheckContext, field: string, job: () => Promise<T>): Promise<T> {
  try {
    return await job();
  } catch (err) {
    if (!(err instanceof JobTimeLimitError)) throw err;
    ctx.logger.warn('a route check ran past the offload time limit', { field, limit_ms: err.limitMs });
    throw new VaultgateError(
      'invalid_field',
      `${field} took longer than the ${err.limitMs} ms processing limit to check; simplify it.`,
      field,
    );
  }
}
