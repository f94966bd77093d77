import { randomUUID } from 'node:crypto';
import { VaultgateError } from '../errors.js';
import { MAX_HOSTNAME_LENGTH } from '../hosts/names.js';
import { checkRoute, type RouteInput } from '../routes/check.js';
import type { Repo, RouteRecord } from '../store/types.js';
import { commit, type ApiContext } from './context.js';
import type { Endpoint } from './router.js';
import { requireVault } from './vaults.js';

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
        const input = body as RouteInput;
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
        const input = body as RouteInput;
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
