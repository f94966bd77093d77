import { randomUUID } from 'node:crypto';
import { presentClientAuth } from '../certificates/client-auth.js';
import { computeStatus } from '../certificates/index.js';
import { certificateCoversHost } from '../hosts/match.js';
import { parseHostnamePattern } from '../hosts/names.js';
import { MAX_FIELD_CHARS, MAX_PASSPHRASE_CHARS } from '../certificates/upload.js';
import { VaultgateError } from '../errors.js';
import { hostnameKeyAad } from '../secrets/aad.js';
import { UniqueViolationError } from '../store/open.js';
import type { HostnameRecord, Repo, VaultRecord } from '../store/types.js';
import { UPLOAD_ERRORS, parseOffloaded } from './certificates.js';
import { clientAuthBody, clientAuthSchema, readClientAuth } from './client-auth.js';
import { commit, type ApiContext } from './context.js';
import type { Endpoint } from './router.js';
import { certificateStatus, chainEntry, stringList, timestamp, type FromSchema } from './schema.js';
import { requireVault } from './vaults.js';
import { PAGE_PARAMETERS, pageOf, readPage, sortKey } from './paging.js';

/** PUT: a body like POST's, where a hostname left out keeps the current one. */
const replaceHostnameBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    hostname: { type: 'string', maxLength: 253 },
    certificate: { type: 'string', maxLength: MAX_FIELD_CHARS },
    private_key: { type: 'string', maxLength: MAX_FIELD_CHARS },
    passphrase: { type: 'string', maxLength: MAX_PASSPHRASE_CHARS },
    pkcs12: { type: 'string', maxLength: MAX_FIELD_CHARS },
    client_auth: clientAuthBody,
  },
} as const;

const createHostnameBody = { ...replaceHostnameBody, required: ['hostname'] } as const;

type HostnameBody = FromSchema<typeof replaceHostnameBody>;

export const hostnameSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'vault_id',
    'hostname',
    'subject',
    'issuer',
    'serial_number',
    'not_before',
    'not_after',
    'sans',
    'chain',
    'status',
    'fingerprint_sha256',
    'client_auth',
    'warnings',
    'created_at',
    'updated_at',
  ],
  properties: {
    id: { type: 'string', format: 'uuid' },
    vault_id: { type: 'string' },
    hostname: { type: 'string', description: 'An exact name or a one-label wildcard (*.acme.example)' },
    subject: { type: 'string' },
    issuer: { type: 'string' },
    serial_number: { type: 'string' },
    not_before: timestamp,
    not_after: timestamp,
    sans: stringList,
    chain: { type: 'array', items: chainEntry },
    status: certificateStatus,
    fingerprint_sha256: { type: 'string' },
    client_auth: clientAuthSchema,
    warnings: stringList,
    created_at: timestamp,
    updated_at: timestamp,
  },
} as const;

/** GET of one hostname: the metadata and the public chain, for the preview. */
export const hostnameDetailSchema = {
  ...hostnameSchema,
  required: [...hostnameSchema.required, 'certificate_pem'],
  properties: {
    ...hostnameSchema.properties,
    certificate_pem: { type: 'string', description: 'The public chain, leaf first, as PEM' },
  },
} as const;

export type Hostname = FromSchema<typeof hostnameSchema>;

const HOSTNAME_EXAMPLE = {
  hostname: 'callbacks.acme.example',
  certificate: '-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n',
  private_key: '-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----\n',
  client_auth: { mode: 'required', ca_pem: '-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n' },
};

/** What a hostname's certificate and caller-mTLS settings can be refused with. */
const HOSTNAME_ERRORS = [...UPLOAD_ERRORS, 'hostname_mismatch', 'hostname_taken'] as const;

/** SPEC §2's hostname answer. The sealed key and the CA/CRL PEM are never part of it. */
export function presentHostname(h: HostnameRecord, now = Date.now()): Hostname {
  return {
    id: h.id,
    vault_id: h.vault_id,
    hostname: h.hostname,
    subject: h.subject,
    issuer: h.issuer,
    serial_number: h.serial_number,
    not_before: h.not_before,
    not_after: h.not_after,
    sans: h.sans,
    chain: h.chain,
    status: computeStatus(h.not_before, h.not_after, now),
    fingerprint_sha256: h.fingerprint_sha256,
    client_auth: presentClientAuth(h.client_auth),
    warnings: h.warnings,
    created_at: h.created_at,
    updated_at: h.updated_at,
  };
}

/** One exact hostname or a one-label wildcard, normalised, outside the vaults' own namespace. */
function parseHostname(input: string, domain: string): string {
  const name = parseHostnamePattern(input, 'hostname');
  // The vaults' own hosts live under <environment>.<domain>; a custom name there would shadow one.
  for (const environment of ['sandbox', 'live']) {
    const reserved = `${environment}.${domain}`.toLowerCase();
    if (name === reserved || name.endsWith(`.${reserved}`)) {
      throw new VaultgateError(
        'invalid_field',
        `"${name}" is under ${reserved}, where vaultgate names the vaults' own hosts; use one of your own domain names.`,
        'hostname',
      );
    }
  }
  return name;
}

async function requireHostname(repo: Repo, vaultId: string, id: string | undefined): Promise<HostnameRecord> {
  const found = id ? await repo.getHostname(vaultId, id) : undefined;
  if (!found) {
    throw new VaultgateError(
      'hostname_not_found',
      `The vault ${vaultId} has no hostname with the id "${id}".`,
    );
  }
  return found;
}

/** Refuses a hostname another record (of any vault) already serves. */
async function checkNotTaken(repo: Repo, vault: VaultRecord, hostname: string, ownId: string): Promise<void> {
  const holder = await repo.findHostname(hostname);
  if (holder === undefined || holder.id === ownId) return;
  throw new VaultgateError(
    'hostname_taken',
    holder.vault_id === vault.id
      ? `This vault already serves "${hostname}" (hostname ${holder.id}); replace its certificate with PUT /vaults/${vault.id}/hostnames/${holder.id}.`
      : `"${hostname}" is already served by another vault; a hostname belongs to one vault only.`,
    'hostname',
  );
}

export function hostnameEndpoints(ctx: ApiContext): Endpoint[] {
  const { domain } = ctx.settings;

  /**
   * POST and PUT: the record for `hostname` (already parsed) that the body describes, key sealed;
   * `current` for a PUT.
   */
  const buildRecord = async (
    vault: VaultRecord,
    hostname: string,
    input: HostnameBody,
    current: HostnameRecord | undefined,
  ): Promise<HostnameRecord> => {
    if (input.certificate === undefined && input.pkcs12 === undefined) {
      throw new VaultgateError(
        'invalid_field',
        'Send the server certificate for the hostname: certificate and private_key as PEM, or pkcs12 (base64) with its passphrase.',
        'certificate',
      );
    }
    const clientAuth = (await readClientAuth(ctx, input.client_auth, 'client_auth')) ??
      current?.client_auth ?? { mode: 'off' };
    const parsed = await parseOffloaded(ctx, input);
    if (!certificateCoversHost(parsed.metadata.sans, hostname)) {
      const names = parsed.metadata.sans.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
      throw new VaultgateError(
        'hostname_mismatch',
        `The certificate does not cover "${hostname}": its DNS names are ${names.length === 0 ? 'none' : names.map((n) => `"${n}"`).join(', ')}. Upload a certificate whose subjectAltName includes the hostname${hostname.startsWith('*.') ? ' (the same wildcard)' : ' (or a wildcard of its parent domain)'}.`,
        'certificate',
      );
    }
    const now = new Date().toISOString();
    const owner = {
      id: current?.id ?? randomUUID(),
      vault_id: vault.id,
      hostname,
      certificate_pem: parsed.chainPem,
    };
    return {
      ...parsed.metadata,
      ...owner,
      private_key_sealed: ctx.keyring.seal(parsed.privateKeyPem, hostnameKeyAad(owner)),
      client_auth: clientAuth,
      // Client-certificate advice does not apply to a server certificate.
      warnings: parsed.warnings.filter((w) => w !== 'missing_client_auth_usage'),
      created_at: current?.created_at ?? now,
      updated_at: now,
    };
  };

  /** The write, with the taken check repeated inside the transaction and the constraint's race mapped. */
  const write = async (
    vault: VaultRecord,
    record: HostnameRecord,
    action: string,
    actor: string,
    clientAddress: string,
    apply: (repo: Repo) => Promise<void>,
  ): Promise<void> => {
    try {
      await commit(
        ctx,
        { actor, action, vault_id: vault.id, target_id: record.id, client_address: clientAddress },
        async (repo) => {
          await checkNotTaken(repo, vault, record.hostname, record.id);
          await apply(repo);
        },
      );
    } catch (err) {
      if (!(err instanceof UniqueViolationError)) throw err;
      throw new VaultgateError(
        'hostname_taken',
        `"${record.hostname}" is already served by a vault; a hostname belongs to one vault only.`,
        'hostname',
      );
    }
  };

  return [
    {
      method: 'POST',
      path: '/vaults/:vault_id/hostnames',
      role: 'operator',
      summary:
        "Serve a custom hostname with the customer's own server certificate (PEM or PKCS#12), with optional caller mTLS",
      body: createHostnameBody,
      example: HOSTNAME_EXAMPLE,
      response: hostnameSchema,
      status: 201,
      errors: HOSTNAME_ERRORS,
      handler: async ({ params, body, actor, remoteAddress }) => {
        const input = body as HostnameBody;
        const vault = await requireVault(ctx.store.read, params.vault_id);
        const hostname = parseHostname(input.hostname ?? '', domain);
        await checkNotTaken(ctx.store.read, vault, hostname, '');
        const record = await buildRecord(vault, hostname, input, undefined);
        await write(vault, record, 'hostname.created', actor, remoteAddress, (repo) =>
          repo.insertHostname(record),
        );
        return { status: 201, body: { data: presentHostname(record) } };
      },
    },
    {
      method: 'GET',
      path: '/vaults/:vault_id/hostnames',
      summary: "List a vault's custom hostnames (metadata only), paged",
      query: PAGE_PARAMETERS,
      response: { type: 'array', items: hostnameSchema },
      handler: async ({ params, query }) => {
        const request = readPage(query);
        const vault = await requireVault(ctx.store.read, params.vault_id);
        const now = Date.now();
        const list = await ctx.store.read.listHostnames(vault.id);
        const page = pageOf(list, (h) => sortKey(h.created_at, h.id), request);
        return { status: 200, body: { ...page, data: page.data.map((h) => presentHostname(h, now)) } };
      },
    },
    {
      method: 'GET',
      path: '/vaults/:vault_id/hostnames/:id',
      summary: 'Get a custom hostname with its public certificate chain as PEM',
      response: hostnameDetailSchema,
      errors: ['hostname_not_found'],
      handler: async ({ params }) => {
        const vault = await requireVault(ctx.store.read, params.vault_id);
        const found = await requireHostname(ctx.store.read, vault.id, params.id);
        return {
          status: 200,
          body: { data: { ...presentHostname(found), certificate_pem: found.certificate_pem } },
        };
      },
    },
    {
      method: 'PUT',
      path: '/vaults/:vault_id/hostnames/:id',
      role: 'operator',
      summary:
        'Replace the certificate (rotation: new handshakes use it at once, open connections stay); client_auth left out keeps the current settings',
      body: replaceHostnameBody,
      example: HOSTNAME_EXAMPLE,
      response: hostnameSchema,
      errors: [...HOSTNAME_ERRORS, 'hostname_not_found'],
      handler: async ({ params, body, actor, remoteAddress }) => {
        const vault = await requireVault(ctx.store.read, params.vault_id);
        const current = await requireHostname(ctx.store.read, vault.id, params.id);
        const input = body as HostnameBody;
        const hostname =
          input.hostname === undefined ? current.hostname : parseHostname(input.hostname, domain);
        const record = await buildRecord(vault, hostname, input, current);
        await write(vault, record, 'hostname.updated', actor, remoteAddress, async (repo) => {
          await requireHostname(repo, vault.id, current.id);
          await repo.updateHostname(record);
        });
        return { status: 200, body: { data: presentHostname(record) } };
      },
    },
    {
      method: 'DELETE',
      path: '/vaults/:vault_id/hostnames/:id',
      role: 'operator',
      summary: 'Stop serving a custom hostname: new handshakes for it fail at once',
      status: 204,
      errors: ['hostname_not_found'],
      handler: async ({ params, actor, remoteAddress }) => {
        await commit(
          ctx,
          {
            actor,
            action: 'hostname.deleted',
            vault_id: params.vault_id ?? null,
            target_id: params.id ?? null,
            client_address: remoteAddress,
          },
          async (repo) => {
            const vault = await requireVault(repo, params.vault_id);
            const found = await requireHostname(repo, vault.id, params.id);
            await repo.deleteHostname(vault.id, found.id);
          },
        );
        return { status: 204 };
      },
    },
  ];
}
