import { randomUUID } from 'node:crypto';
import { VaultgateError } from '../errors.js';
import { MAX_HOSTNAME_LENGTH } from '../hosts/names.js';
import { checkRoute } from '../routes/check.js';
import type { Repo, RouteRecord } from '../store/types.js';
import { commit, type ApiContext } from './context.js';
import type { Endpoint } from './router.js';
import { timestamp, type FromSchema } from './schema.js';
import { requireVault } from './vaults.js';
import { PAGE_PARAMETERS, pageOf, readPage } from './paging.js';

/**
 * The VGS route attribute names (SPEC §2), plus upstream_tls. What the values must be beyond this
 * shape is routes/check.ts.
 */
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
        // Dangerous when false: the upstream's server certificate is then not checked at all.
        verify: { type: 'boolean', default: true },
        servername: { type: 'string', maxLength: MAX_HOSTNAME_LENGTH },
      },
    },
  },
} as const;

type RouteBody = FromSchema<typeof routeBody>;

export const routeSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'vault_id',
    'type',
    'destination_override_endpoint',
    'host_endpoint',
    'port',
    'protocol',
    'source_endpoint',
    'tags',
    'entries',
    'upstream_tls',
    'created_at',
    'updated_at',
  ],
  properties: {
    ...routeBody.properties,
    id: { type: 'string', format: 'uuid' },
    vault_id: { type: 'string' },
    type: { type: 'string', enum: ['inbound', 'outbound'] },
    protocol: { type: 'string', description: 'Kept as VGS keeps it (informational)' },
    entries: { type: 'array', maxItems: 0 },
    upstream_tls: { ...routeBody.properties.upstream_tls, required: ['verify'] },
    created_at: timestamp,
    updated_at: timestamp,
  },
} as const;

export type Route = FromSchema<typeof routeSchema>;

const ROUTE_EXAMPLE = {
  destination_override_endpoint: 'https://api.customer.example:443',
  host_endpoint: '(.*)',
  port: 443,
  protocol: 'http',
  source_endpoint: '*',
  tags: { name: 'customer api' },
  entries: [],
  upstream_tls: { verify: true },
};

/** A route body can be refused for its filters and for an upstream CA bundle that does not load. */
const ROUTE_BODY_ERRORS = ['unsupported_filter', 'invalid_certificate'] as const;

export function presentRoute(r: RouteRecord): Route {
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

const ROUTE_ID = new RegExp(routeBody.properties.id.pattern);

/** A route id chosen by the caller (PUT's path): a UUID, as POST's `id` field, kept in lower case. */
function readPathId(id: string | undefined): string {
  if (id === undefined || !ROUTE_ID.test(id)) {
    throw new VaultgateError(
      'invalid_field',
      `The route id "${id ?? ''}" is not a UUID; a route's id is a UUID such as 6f1c2a4e-3b5d-4c7e-9f10-a1b2c3d4e5f6.`,
      'id',
    );
  }
  return id.toLowerCase();
}

async function requireRoute(repo: Repo, vaultId: string, id: string | undefined): Promise<RouteRecord> {
  const route = id ? await repo.getRoute(vaultId, id) : undefined;
  if (!route)
    throw new VaultgateError('route_not_found', `The vault ${vaultId} has no route with the id "${id}".`);
  return route;
}

export function routeEndpoints(ctx: ApiContext): Endpoint[] {
  const audit = (
    actor: string,
    action: string,
    vaultId: string | undefined,
    id: string | undefined,
    clientAddress: string,
  ) => ({ actor, action, vault_id: vaultId ?? null, target_id: id ?? null, client_address: clientAddress });
  return [
    {
      method: 'POST',
      path: '/vaults/:vault_id/routes',
      role: 'operator',
      summary: 'Create a route: inbound when destination_override_endpoint is a URL, outbound when it is "*"',
      body: routeBody,
      example: ROUTE_EXAMPLE,
      response: routeSchema,
      status: 201,
      errors: ROUTE_BODY_ERRORS,
      handler: async ({ params, body, actor, remoteAddress }) => {
        const input = body as RouteBody;
        const fields = await checkRoute(ctx, input);
        const id = input.id?.toLowerCase() ?? randomUUID();
        const now = new Date().toISOString();
        const route = await commit(
          ctx,
          audit(actor, 'route.created', params.vault_id, id, remoteAddress),
          async (repo) => {
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
          },
        );
        return { status: 201, body: { data: presentRoute(route) } };
      },
    },
    {
      method: 'GET',
      path: '/vaults/:vault_id/routes',
      summary: "List a vault's routes in creation order (the order inbound matching tries them), paged",
      query: PAGE_PARAMETERS,
      response: { type: 'array', items: routeSchema },
      handler: async ({ params, query }) => {
        const request = readPage(query);
        const vault = await requireVault(ctx.store.read, params.vault_id);
        // seq is the store's creation order; zero-padded it compares as a string.
        const page = pageOf(
          await ctx.store.read.listRoutes(vault.id),
          (r) => String(r.seq).padStart(16, '0'),
          request,
        );
        return { status: 200, body: { ...page, data: page.data.map(presentRoute) } };
      },
    },
    {
      method: 'GET',
      path: '/vaults/:vault_id/routes/:id',
      summary: 'Get a route',
      response: routeSchema,
      errors: ['route_not_found'],
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
      role: 'operator',
      summary:
        'Replace a route whole (it keeps its id, creation order and certificates); a new id creates the route',
      body: routeBody,
      example: ROUTE_EXAMPLE,
      response: routeSchema,
      alsoAnswers: { 201: 'Created: no route had this id, so the route was created with it' },
      errors: [...ROUTE_BODY_ERRORS, 'route_in_use'],
      handler: async ({ params, body, actor, remoteAddress }) => {
        const input = body as RouteBody;
        const id = readPathId(params.id);
        if (input.id !== undefined && input.id.toLowerCase() !== id) {
          throw new VaultgateError(
            'invalid_field',
            "The id in the body differs from the one in the path; a route's id cannot change.",
            'id',
          );
        }
        const fields = await checkRoute(ctx, input);
        // Whether this PUT creates or replaces is known only inside the transaction; commit() reads
        // the audit entry after the write, so the action is settled there.
        const entry = audit(actor, 'route.updated', params.vault_id, id, remoteAddress);
        let created = false;
        const route = await commit(ctx, entry, async (repo) => {
          const vault = await requireVault(repo, params.vault_id);
          const current = await repo.getRoute(vault.id, id);
          const now = new Date().toISOString();
          if (!current) {
            if ((await repo.listRoutes()).some((r) => r.id === id)) {
              throw new VaultgateError(
                'invalid_field',
                `A route with the id ${id} exists in another vault; route ids are unique across vaultgate, so choose another id.`,
                'id',
              );
            }
            created = true;
            entry.action = 'route.created';
            const record = { ...fields, id, vault_id: vault.id, created_at: now, updated_at: now };
            const seq = await repo.insertRoute(record);
            return { ...record, seq };
          }
          if (
            current.type === 'inbound' &&
            fields.type === 'outbound' &&
            (await repo.countCertificatesFor({ routeId: current.id })) +
              (await repo.countPendingCertificateRequestsFor({ routeId: current.id })) >
              0
          ) {
            throw new VaultgateError(
              'route_in_use',
              'Certificates or pending certificate requests are tied to this inbound route, so it cannot become an outbound route; delete them first.',
            );
          }
          const next: RouteRecord = { ...current, ...fields, updated_at: now };
          await repo.updateRoute(next);
          return next;
        });
        return { status: created ? 201 : 200, body: { data: presentRoute(route) } };
      },
    },
    {
      method: 'DELETE',
      path: '/vaults/:vault_id/routes/:id',
      role: 'operator',
      summary: 'Delete a route (refused while certificates are tied to it)',
      status: 204,
      errors: ['route_not_found', 'route_in_use'],
      handler: async ({ params, actor, remoteAddress }) => {
        await commit(
          ctx,
          audit(actor, 'route.deleted', params.vault_id, params.id, remoteAddress),
          async (repo) => {
            const vault = await requireVault(repo, params.vault_id);
            const route = await requireRoute(repo, vault.id, params.id);
            const tied = await repo.countCertificatesFor({ routeId: route.id });
            if (tied > 0) {
              throw new VaultgateError(
                'route_in_use',
                `${tied} certificate(s) are tied to this route; delete them first, then the route.`,
              );
            }
            const pending = await repo.countPendingCertificateRequestsFor({ routeId: route.id });
            if (pending > 0) {
              throw new VaultgateError(
                'route_in_use',
                `${pending} pending certificate request(s) are tied to this route; complete or delete them first, then the route.`,
              );
            }
            await repo.deleteRoute(vault.id, route.id);
          },
        );
        return { status: 204 };
      },
    },
  ];
}
