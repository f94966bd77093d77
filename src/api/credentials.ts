import { randomUUID } from 'node:crypto';
import { VaultgateError } from '../errors.js';
import { newPassword, newUsername } from '../secrets/credentials.js';
import type { CredentialRecord, Repo } from '../store/types.js';
import { commit, type ApiContext } from './context.js';
import type { Endpoint } from './router.js';
import { nullableString, timestamp, type FromSchema } from './schema.js';
import { requireVault } from './vaults.js';
import { PAGE_PARAMETERS, pageOf, readPage, sortKey } from './paging.js';

export const credentialSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'vault_id', 'username', 'status', 'description', 'created_at'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    vault_id: { type: 'string' },
    username: { type: 'string', pattern: '^US[1-9A-HJ-NP-Za-km-z]{22}$' },
    status: { type: 'string', enum: ['active', 'inactive'] },
    description: nullableString,
    created_at: timestamp,
  },
} as const;

/** The answer to POST: the only one that holds the password. */
export const createdCredentialSchema = {
  ...credentialSchema,
  required: [...credentialSchema.required, 'password'],
  properties: {
    ...credentialSchema.properties,
    password: { type: 'string', format: 'uuid', description: 'Shown in this answer only; never again' },
  },
} as const;

export type Credential = FromSchema<typeof credentialSchema>;

const createBody = {
  type: 'object',
  additionalProperties: false,
  properties: { description: { type: 'string', maxLength: 500 } },
} as const;

const patchBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: ['active', 'inactive'] },
    description: { type: 'string', maxLength: 500 },
  },
} as const;

export function presentCredential(c: CredentialRecord): Credential {
  return {
    id: c.id,
    vault_id: c.vault_id,
    username: c.username,
    status: c.status,
    description: c.description,
    created_at: c.created_at,
  };
}

async function requireCredential(
  repo: Repo,
  vaultId: string,
  id: string | undefined,
): Promise<CredentialRecord> {
  const credential = id ? await repo.getCredential(vaultId, id) : undefined;
  if (!credential) {
    throw new VaultgateError(
      'credential_not_found',
      `The vault ${vaultId} has no access credential with the id "${id}".`,
    );
  }
  return credential;
}

/** Creates an access credential; the password exists in clear only in the returned value. */
export async function createCredential(
  ctx: ApiContext,
  actor: string,
  vaultId: string,
  description: string | null,
  clientAddress: string | null = null,
): Promise<{ record: CredentialRecord; password: string }> {
  const password = newPassword();
  const now = new Date().toISOString();
  const record: CredentialRecord = {
    id: randomUUID(),
    vault_id: vaultId,
    username: newUsername(),
    password_hash: ctx.hasher.hash(password).toString('hex'),
    status: 'active',
    description,
    created_at: now,
    updated_at: now,
  };
  await commit(
    ctx,
    {
      actor,
      action: 'credential.created',
      vault_id: vaultId,
      target_id: record.id,
      client_address: clientAddress,
    },
    async (repo) => {
      await requireVault(repo, vaultId);
      await repo.insertCredential(record);
    },
  );
  return { record, password };
}

export function credentialEndpoints(ctx: ApiContext): Endpoint[] {
  return [
    {
      method: 'POST',
      path: '/vaults/:vault_id/credentials',
      role: 'operator',
      summary: 'Create an access credential for the outbound proxy (the password is shown only here)',
      body: createBody,
      example: { description: 'billing service' },
      response: createdCredentialSchema,
      status: 201,
      handler: async ({ params, body, actor, remoteAddress }) => {
        const vault = await requireVault(ctx.store.read, params.vault_id);
        const { description } = body as FromSchema<typeof createBody>;
        const { record, password } = await createCredential(
          ctx,
          actor,
          vault.id,
          description ?? null,
          remoteAddress,
        );
        const data: FromSchema<typeof createdCredentialSchema> = { ...presentCredential(record), password };
        return { status: 201, body: { data } };
      },
    },
    {
      method: 'GET',
      path: '/vaults/:vault_id/credentials',
      summary: "List a vault's access credentials (without passwords), paged",
      query: PAGE_PARAMETERS,
      response: { type: 'array', items: credentialSchema },
      handler: async ({ params, query }) => {
        const request = readPage(query);
        const vault = await requireVault(ctx.store.read, params.vault_id);
        const list = await ctx.store.read.listCredentials(vault.id);
        const page = pageOf(list, (c) => sortKey(c.created_at, c.id), request);
        return { status: 200, body: { ...page, data: page.data.map(presentCredential) } };
      },
    },
    {
      method: 'GET',
      path: '/vaults/:vault_id/credentials/:id',
      summary: 'Get an access credential (without its password)',
      response: credentialSchema,
      errors: ['credential_not_found'],
      handler: async ({ params }) => {
        const vault = await requireVault(ctx.store.read, params.vault_id);
        return {
          status: 200,
          body: { data: presentCredential(await requireCredential(ctx.store.read, vault.id, params.id)) },
        };
      },
    },
    {
      method: 'PATCH',
      path: '/vaults/:vault_id/credentials/:id',
      role: 'operator',
      summary: 'Activate or deactivate an access credential, or change its description',
      body: patchBody,
      example: { status: 'inactive' },
      response: credentialSchema,
      errors: ['credential_not_found'],
      handler: async ({ params, body, actor, remoteAddress }) => {
        const patch = body as FromSchema<typeof patchBody>;
        const updated = await commit(
          ctx,
          {
            actor,
            action: 'credential.updated',
            vault_id: params.vault_id ?? null,
            target_id: params.id ?? null,
            client_address: remoteAddress,
          },
          async (repo) => {
            const vault = await requireVault(repo, params.vault_id);
            const current = await requireCredential(repo, vault.id, params.id);
            const next: CredentialRecord = {
              ...current,
              status: patch.status ?? current.status,
              description: patch.description ?? current.description,
              updated_at: new Date().toISOString(),
            };
            await repo.updateCredential(next);
            return next;
          },
        );
        return { status: 200, body: { data: presentCredential(updated) } };
      },
    },
    {
      method: 'DELETE',
      path: '/vaults/:vault_id/credentials/:id',
      role: 'operator',
      summary: 'Delete an access credential (refused while certificates are tied to it)',
      status: 204,
      errors: ['credential_not_found', 'credential_in_use'],
      handler: async ({ params, actor, remoteAddress }) => {
        await commit(
          ctx,
          {
            actor,
            action: 'credential.deleted',
            vault_id: params.vault_id ?? null,
            target_id: params.id ?? null,
            client_address: remoteAddress,
          },
          async (repo) => {
            const vault = await requireVault(repo, params.vault_id);
            const credential = await requireCredential(repo, vault.id, params.id);
            const tied = await repo.countCertificatesFor({ credentialId: credential.id });
            if (tied > 0) {
              throw new VaultgateError(
                'credential_in_use',
                `${tied} certificate(s) are tied to this credential; delete them first, then the credential.`,
              );
            }
            // A pending request's certificate will be tied here: deleting the credential would strand
            // the key the CA is signing for (docs/certificates.md "Certificate requests").
            const pending = await repo.countPendingCertificateRequestsFor({ credentialId: credential.id });
            if (pending > 0) {
              throw new VaultgateError(
                'credential_in_use',
                `${pending} pending certificate request(s) are tied to this credential; complete or delete them first, then the credential.`,
              );
            }
            await repo.deleteCredential(vault.id, credential.id);
          },
        );
        return { status: 204 };
      },
    },
  ];
}
