import { randomUUID } from 'node:crypto';
import { VaultgateError } from '../errors.js';
import { MAX_HOSTNAME_LENGTH, parseHostname } from '../hosts/names.js';
import type { Repo, RouteRecord, UpstreamTlsSettings } from '../store/types.js';
import { commit, type ApiContext } from './context.js';
import type { Endpoint } from './router.js';
import { JobTimeLimitError } from '../offload/pool.js';
import { requireVault } from './vaults.js';
import { UpstreamBlocker } from '../proxy/upstream/blocked-ranges.js';
import { sourceEndpointProblem } from '../snapshot/source-match.js';

/** The VGS route attribute names (SPEC §2), plus upstream_tls. */
const routeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['destination_override_endpoint'],
  properties: {
    id: {
      type: 'string',
      pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
    },
    destination_override_endpoint: { type: 'string', minLength: 1, maxLength: 2048 },
    host_endpoint: { type: 'string', minLength: 1, maxLength: 1024 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    protocol: { type: 'string', enum: ['http'] },
    source_endpoint: { type: 'string', maxLength: 1024 },
    tags: { type: 'object', maxProperties: 50, additionalProperties: { type: 'string', maxLength: 256 } },
    entries: { type: 'array', maxItems: 100 },
    upstream_tls: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ca_pem: { type: 'string', maxLength: 256 * 1024 },
        verify: { type: 'boolean' },
        servername: { type: 'string', maxLength: MAX_HOSTNAME_LENGTH },
      },
    },
  },
};

export const routeSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...routeBody.properties,
    id: { type: 'string', format: 'uuid' },
    vault_id: { type: 'string' },
    type: { type: 'string', enum: ['inbound', 'outbound'] },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
};

interface RouteBody {
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

export function presentRoute(r: RouteRecord): Record<string, unknown> {
  return {
    id: r.id,
    vault_id: r.vault_id,
    type: r.type,
    destination_override_endpoint: r.destination_override_endpoint,
    host_endpoint: r.host_endpoint,
    port: r.port,
    protocol: r.protocol,
    source_endpoint: r.source_endpoint,
    tags: r.tags,
    entries: [],
    upstream_tls: r.upstream_tls,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

/** Checks a route body beyond its schema; returns the fields the store keeps. */
async function checkRoute(
  ctx: ApiContext,
  body: RouteBody,
): Promise<Omit<RouteRecord, 'id' | 'vault_id' | 'seq' | 'created_at' | 'updated_at'>> {
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
async function refuseBlockedDestination(ctx: ApiContext, url: URL): Promise<void> {
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
async function offloaded<T>(ctx: ApiContext, field: string, job: () => Promise<T>): Promise<T> {
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

async function requireRoute(repo: Repo, vaultId: string, id: string | undefined): Promise<RouteRecord> {
  const route = id ? await repo.getRoute(vaultId, id) : undefined;
  if (!route)
    throw new VaultgateError('route_not_found', `The vault ${vaultId} has no route with the id "${id}".`);
  return route;
}

export function routeEndpoints(ctx: ApiContext): Endpoint[] {
  const audit = (actor: string, action: string, vaultId: string | undefined, id: string | undefined) => ({
    actor,
    action,
    vault_id: vaultId ?? null,
    target_id: id ?? null,
  });
  return [
    {
      method: 'POST',
      path: '/vaults/:vault_id/routes',
      summary: 'Create a route: inbound when destination_override_endpoint is a URL, outbound when it is "*"',
      body: routeBody,
      response: routeSchema,
      status: 201,
      handler: async ({ params, body, actor }) => {
        const input = body as RouteBody;
        const fields = await checkRoute(ctx, input);
        const id = input.id?.toLowerCase() ?? randomUUID();
        const now = new Date().toISOString();
        const route = await commit(ctx, audit(actor, 'route.created', params.vault_id, id), async (repo) => {
          const vault = await requireVault(repo, params.vault_id);
          if (input.id && (await repo.listRoutes()).some((r) => r.id === id)) {
            throw new VaultgateError(
              'invalid_field',
              `A route with the id ${id} already exists; choose another id or leave it out.`,
              'id',
            );
          }
          const record = { ...fields, id, vault_id: vault.id, created_at: now, updated_at: now };
          const seq = await repo.insertRoute(record);
          return { ...record, seq };
        });
        return { status: 201, body: { data: presentRoute(route) } };
      },
    },
    {
      method: 'GET',
      path: '/vaults/:vault_id/routes',
      summary: "List a vault's routes in creation order (the order inbound matching tries them)",
      response: { type: 'array', items: routeSchema },
      handler: async ({ params }) => {
        const vault = await requireVault(ctx.store.read, params.vault_id);
        return { status: 200, body: { data: (await ctx.store.read.listRoutes(vault.id)).map(presentRoute) } };
      },
    },
    {
      method: 'GET',
      path: '/vaults/:vault_id/routes/:id',
      summary: 'Get a route',
      response: routeSchema,
      handler: async ({ params }) => {
        const vault = await requireVault(ctx.store.read, params.vault_id);
        return {
          status: 200,
          body: { data: presentRoute(await requireRoute(ctx.store.read, vault.id, params.id)) },
        };
      },
    },
    {
      method: 'PUT',
      path: '/vaults/:vault_id/routes/:id',
      summary: 'Replace a route whole (it keeps its id, creation order and certificates)',
      body: routeBody,
      response: routeSchema,
      handler: async ({ params, body, actor }) => {
        const input = body as RouteBody;
        const fields = await checkRoute(ctx, input);
        const updated = await commit(
          ctx,
          audit(actor, 'route.updated', params.vault_id, params.id),
          async (repo) => {
            const vault = await requireVault(repo, params.vault_id);
            const current = await requireRoute(repo, vault.id, params.id);
            if (input.id !== undefined && input.id.toLowerCase() !== current.id) {
              throw new VaultgateError(
                'invalid_field',
                "The id in the body differs from the one in the path; a route's id cannot change.",
                'id',
              );
            }
            if (
              current.type === 'inbound' &&
              fields.type === 'outbound' &&
              (await repo.countCertificatesFor({ routeId: current.id })) > 0
            ) {
              throw new VaultgateError(
                'route_in_use',
                'Certificates are tied to this inbound route, so it cannot become an outbound route; delete them first.',
              );
            }
            const next: RouteRecord = { ...current, ...fields, updated_at: new Date().toISOString() };
            await repo.updateRoute(next);
            return next;
          },
        );
        return { status: 200, body: { data: presentRoute(updated) } };
      },
    },
    {
      method: 'DELETE',
      path: '/vaults/:vault_id/routes/:id',
      summary: 'Delete a route (refused while certificates are tied to it)',
      status: 204,
      handler: async ({ params, actor }) => {
        await commit(ctx, audit(actor, 'route.deleted', params.vault_id, params.id), async (repo) => {
          const vault = await requireVault(repo, params.vault_id);
          const route = await requireRoute(repo, vault.id, params.id);
          const tied = await repo.countCertificatesFor({ routeId: route.id });
          if (tied > 0) {
            throw new VaultgateError(
              'route_in_use',
              `${tied} certificate(s) are tied to this route; delete them first, then the route.`,
            );
          }
          await repo.deleteRoute(vault.id, route.id);
        });
        return { status: 204 };
      },
    },
  ];
}
