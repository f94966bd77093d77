import { createCa } from '../pki/ca.js';
import { randomFrom } from '../secrets/credentials.js';
import { outboundCaKeyAad } from '../secrets/aad.js';
import { inboundHost } from '../snapshot/build.js';
import { presentClientAuth } from '../certificates/client-auth.js';
import { VaultgateError } from '../errors.js';
import type { Environment, Repo, VaultRecord } from '../store/types.js';
import { commit, type ApiContext } from './context.js';
import { allows, forbidden } from './roles.js';
import { CLIENT_AUTH_ERRORS, clientAuthBody, clientAuthSchema, readClientAuth } from './client-auth.js';
import type { Endpoint } from './router.js';
import { timestamp, type FromSchema } from './schema.js';
import { PAGE_PARAMETERS, pageOf, readPage, sortKey } from './paging.js';

const VAULT_ID = /^tnt[a-z0-9]{8}$/;

export const vaultSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'environment', 'inbound_host', 'inbound_client_auth', 'created_at'],
  properties: {
    id: { type: 'string', pattern: '^tnt[a-z0-9]{8}$' },
    name: { type: 'string' },
    environment: { type: 'string', enum: ['sandbox', 'live'] },
    inbound_host: { type: 'string', description: '<id>.<environment>.<domain>' },
    inbound_client_auth: clientAuthSchema,
    created_at: timestamp,
  },
} as const;

export type Vault = FromSchema<typeof vaultSchema>;

const createVaultBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    environment: { type: 'string', enum: ['sandbox', 'live'], default: 'sandbox' },
  },
} as const;

const patchVaultBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    inbound_client_auth: clientAuthBody,
  },
} as const;

export function presentVault(vault: VaultRecord, domain: string): Vault {
  return {
    id: vault.id,
    name: vault.name,
    environment: vault.environment,
    inbound_host: inboundHost(vault.id, vault.environment, domain),
    inbound_client_auth: presentClientAuth(vault.inbound_client_auth),
    created_at: vault.created_at,
  };
}

/** Loads a vault or answers 404 vault_not_found: every per-vault endpoint starts here. */
export async function requireVault(repo: Repo, id: string | undefined): Promise<VaultRecord> {
  const vault = id !== undefined && VAULT_ID.test(id) ? await repo.getVault(id) : undefined;
  if (!vault)
    throw new VaultgateError(
      'vault_not_found',
      `No vault has the id "${id}"; list vaults with GET /api/v1/vaults.`,
    );
  return vault;
}

/** Creates a vault with its own outbound CA (the one its outbound-proxy clients trust). */
export async function createVault(
  ctx: ApiContext,
  actor: string,
  input: { name: string; environment: Environment },
  clientAddress: string | null = null,
): Promise<VaultRecord> {
  const id = 'tnt' + randomFrom('abcdefghijklmnopqrstuvwxyz0123456789', 8);
  const ca = await createCa({ commonName: `vaultgate outbound CA ${id}` });
  const vault: VaultRecord = {
    id,
    name: input.name,
    environment: input.environment,
    outbound_ca_cert_pem: ca.certPem,
    outbound_ca_key_sealed: ctx.keyring.seal(ca.keyPem, outboundCaKeyAad(id)),
    inbound_client_auth: null,
    created_at: new Date().toISOString(),
  };
  await commit(
    ctx,
    { actor, action: 'vault.created', vault_id: id, target_id: id, client_address: clientAddress },
    (repo) => repo.insertVault(vault),
  );
  return vault;
}

export function vaultEndpoints(ctx: ApiContext): Endpoint[] {
  const { domain } = ctx.settings;
  return [
    {
      method: 'POST',
      path: '/vaults',
      role: 'admin',
      summary: 'Create a vault (with its own outbound CA)',
      body: createVaultBody,
      example: { name: 'Payments', environment: 'sandbox' },
      response: vaultSchema,
      status: 201,
      handler: async ({ body, actor, remoteAddress }) => {
        const input = body as FromSchema<typeof createVaultBody>;
        const vault = await createVault(
          ctx,
          actor,
          { name: input.name, environment: input.environment ?? 'sandbox' },
          remoteAddress,
        );
        return { status: 201, body: { data: presentVault(vault, domain) } };
      },
    },
    {
      method: 'GET',
      path: '/vaults',
      summary: 'List vaults, paged (?limit=, ?cursor=)',
      query: PAGE_PARAMETERS,
      response: { type: 'array', items: vaultSchema },
      handler: async ({ query }) => {
        const request = readPage(query);
        const page = pageOf(await ctx.store.read.listVaults(), (v) => sortKey(v.created_at, v.id), request);
        return { status: 200, body: { ...page, data: page.data.map((v) => presentVault(v, domain)) } };
      },
    },
    {
      method: 'GET',
      path: '/vaults/:vault_id',
      summary: 'Get a vault',
      response: vaultSchema,
      handler: async ({ params }) => ({
        status: 200,
        body: { data: presentVault(await requireVault(ctx.store.read, params.vault_id), domain) },
      }),
    },
    {
      method: 'PATCH',
      path: '/vaults/:vault_id',
      role: 'operator',
      summary: "Rename a vault, or set caller mTLS (inbound_client_auth) for the vault's own inbound host",
      body: patchVaultBody,
      example: { name: 'Payments (EU)' },
      response: vaultSchema,
      errors: CLIENT_AUTH_ERRORS,
      handler: async ({ params, body, actor, caller, remoteAddress }) => {
        const input = body as FromSchema<typeof patchVaultBody>;
        // Operators may set caller mTLS; renaming is a change to the vault itself, which is the admin's.
        if (input.name !== undefined && caller && !allows(caller.role, 'admin'))
          throw forbidden(
            caller,
            'admin',
            'Renaming a vault (an operator may change only inbound_client_auth)',
          );
        await requireVault(ctx.store.read, params.vault_id);
        const clientAuth = await readClientAuth(ctx, input.inbound_client_auth, 'inbound_client_auth');
        const updated = await commit(
          ctx,
          {
            actor,
            action: 'vault.updated',
            vault_id: params.vault_id ?? null,
            target_id: params.vault_id ?? null,
            client_address: remoteAddress,
          },
          async (repo) => {
            const vault = await requireVault(repo, params.vault_id);
            const next: VaultRecord = {
              ...vault,
              name: input.name ?? vault.name,
              inbound_client_auth:
                clientAuth === undefined
                  ? vault.inbound_client_auth
                  : clientAuth.mode === 'off'
                    ? null
                    : clientAuth,
            };
            await repo.updateVault(next);
            return next;
          },
        );
        return { status: 200, body: { data: presentVault(updated, domain) } };
      },
    },
    {
      method: 'DELETE',
      path: '/vaults/:vault_id',
      role: 'admin',
      summary: 'Delete a vault; ?force=true also deletes its routes, credentials, certificates and hostnames',
      query: ['force'],
      status: 204,
      errors: ['vault_not_empty'],
      handler: async ({ params, query, actor, remoteAddress }) => {
        const force = query.get('force') === 'true';
        await commit(
          ctx,
          {
            actor,
            action: 'vault.deleted',
            vault_id: params.vault_id ?? null,
            target_id: params.vault_id ?? null,
            client_address: remoteAddress,
          },
          async (repo) => {
            const vault = await requireVault(repo, params.vault_id);
            const held = await repo.countVaultDependants(vault.id);
            if (!force && held.credentials + held.routes + held.certificates + held.hostnames > 0) {
              throw new VaultgateError(
                'vault_not_empty',
                `The vault still holds ${held.routes} route(s), ${held.credentials} credential(s), ${held.certificates} certificate(s) and ${held.hostnames} hostname(s); delete them first or add ?force=true.`,
              );
            }
            await repo.deleteVault(vault.id);
          },
        );
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/vaults/:vault_id/outbound-ca',
      summary: "The PEM of the vault's outbound CA, which outbound-proxy clients must trust",
      plain: { media: 'application/x-pem-file', schema: { type: 'string' } },
      handler: async ({ params }) => {
        const vault = await requireVault(ctx.store.read, params.vault_id);
        return {
          status: 200,
          raw: vault.outbound_ca_cert_pem,
          headers: {
            'content-type': 'application/x-pem-file',
            'content-disposition': `attachment; filename="vaultgate-outbound-ca-${vault.id}.pem"`,
          },
        };
      },
    },
  ];
}
