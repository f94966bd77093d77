import { randomUUID } from 'node:crypto';
import { computeStatus } from '../certificates/index.js';
import {
  MAX_FIELD_CHARS,
  MAX_PASSPHRASE_CHARS,
  type ParsedCertificate,
  type UploadInput,
} from '../certificates/upload.js';
import { VaultgateError } from '../errors.js';
import { MAX_HOSTNAME_LENGTH, MAX_HOSTS, validateHosts } from '../hosts/names.js';
import { enqueueEvent } from '../notifications/events.js';
import { JobTimeLimitError } from '../offload/pool.js';
import { certificateKeyAad } from '../secrets/aad.js';
import type {
  CertificateFilter,
  CertificateRecord,
  CertificateSummary,
  ProxyType,
  Repo,
} from '../store/types.js';
import {
  PAGE_PARAMETERS,
  encodeCursor,
  readPage,
  sortKey,
  splitSortKey,
  type PageRequest,
} from './paging.js';
import { commit, type ApiContext } from './context.js';
import type { Endpoint } from './router.js';
import {
  certificateStatus,
  chainEntry,
  nullableString,
  stringList,
  timestamp,
  type FromSchema,
} from './schema.js';
import { requireVault } from './vaults.js';

const uploadBody = {
  type: 'object',
  additionalProperties: false,
  required: ['proxy_type'],
  properties: {
    proxy_type: { type: 'string', enum: ['outbound', 'inbound'] },
    credential_id: { type: 'string', maxLength: 64 },
    route_id: { type: 'string', maxLength: 64 },
    description: { type: 'string', maxLength: 500 },
    certificate: { type: 'string', maxLength: MAX_FIELD_CHARS },
    private_key: { type: 'string', maxLength: MAX_FIELD_CHARS },
    passphrase: { type: 'string', maxLength: MAX_PASSPHRASE_CHARS },
    pkcs12: { type: 'string', maxLength: MAX_FIELD_CHARS },
    hosts: { type: 'array', maxItems: MAX_HOSTS, items: { type: 'string', maxLength: MAX_HOSTNAME_LENGTH } },
  },
} as const;

type UploadBody = FromSchema<typeof uploadBody>;

const editBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    description: { type: ['string', 'null'], maxLength: 500, description: 'null clears it' },
    hosts: {
      ...uploadBody.properties.hosts,
      description: 'outbound only: the upstream hosts it is presented to; [] presents it to any host',
    },
  },
} as const;

type EditBody = FromSchema<typeof editBody>;

/** The codes an upload of key material can be refused with (SPEC §2), here and for hostnames. */
export const UPLOAD_ERRORS = [
  'invalid_certificate',
  'invalid_private_key',
  'invalid_pkcs12',
  'passphrase_required',
  'bad_passphrase',
  'key_mismatch',
  'certificate_expired',
  'weak_key',
  'weak_signature',
  'unusable_certificate',
] as const;

export const certificateSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'vault_id',
    'description',
    'proxy_type',
    'credential_id',
    'route_id',
    'hosts',
    'subject',
    'issuer',
    'serial_number',
    'not_before',
    'not_after',
    'fingerprint_sha256',
    'key_type',
    'sans',
    'chain',
    'status',
    'warnings',
    'created_at',
  ],
  properties: {
    id: { type: 'string', format: 'uuid' },
    vault_id: { type: 'string' },
    description: nullableString,
    proxy_type: { type: 'string', enum: ['outbound', 'inbound'] },
    credential_id: { ...nullableString, description: 'outbound: the access credential' },
    route_id: { ...nullableString, description: 'inbound: the route' },
    hosts: { ...stringList, description: 'outbound: the upstream hosts it is presented to (empty: any)' },
    subject: { type: 'string' },
    issuer: { type: 'string', description: 'The signer, shown in the dashboard preview' },
    serial_number: { type: 'string' },
    not_before: timestamp,
    not_after: { ...timestamp, description: 'The expiration date' },
    fingerprint_sha256: { type: 'string' },
    key_type: { type: 'string', enum: ['rsa', 'ec', 'ed25519'] },
    key_size: { type: 'integer', description: 'RSA only' },
    curve: { type: 'string', description: 'EC only: P-256, P-384 or P-521' },
    sans: { ...stringList, description: 'Subject alternative names, e.g. DNS:api.example' },
    chain: { type: 'array', items: chainEntry, description: 'The issuers, nearest first' },
    status: certificateStatus,
    warnings: stringList,
    created_at: timestamp,
  },
} as const;

/** GET of one certificate: the metadata and the public chain, for the preview. */
export const certificateDetailSchema = {
  ...certificateSchema,
  required: [...certificateSchema.required, 'certificate_pem'],
  properties: {
    ...certificateSchema.properties,
    certificate_pem: { type: 'string', description: 'The public chain, leaf first, as PEM' },
  },
} as const;

export type Certificate = FromSchema<typeof certificateSchema>;

/**
 * parseUpload (src/certificates/upload.ts) in an offload thread: key derivation, PKCS#12 and PEM
 * scanning cost what the upload asks for, and must not hold the event loop the proxies share. Past
 * the time limit the thread is terminated and the upload refused on the field that asked for the
 * work — key derivation is the only step whose cost the uploader controls.
 */
export async function parseOffloaded(ctx: ApiContext, input: UploadInput) {
  const { certificate, private_key, passphrase, pkcs12 } = input;
  try {
    return await ctx.offload.run('parseUpload', { certificate, private_key, passphrase, pkcs12 });
  } catch (err) {
    if (!(err instanceof JobTimeLimitError)) throw err;
    const [code, field] =
      pkcs12 !== undefined
        ? (['invalid_pkcs12', 'pkcs12'] as const)
        : (['invalid_private_key', private_key === undefined ? 'certificate' : 'private_key'] as const);
    ctx.logger.warn('a certificate upload ran past the offload time limit', { field, limit_ms: err.limitMs });
    throw new VaultgateError(
      code,
      `Reading the upload took longer than the ${err.limitMs} ms processing limit (its key derivation asks for too much work). Export the key or file again with default settings.`,
      field,
    );
  }
}

/** A query parameter that must be one of `values`, or null when absent. */
function oneOf<T extends string>(query: URLSearchParams, name: string, values: readonly T[]): T | null {
  const value = query.get(name);
  if (value === null) return null;
  if ((values as readonly string[]).includes(value)) return value as T;
  throw new VaultgateError(
    'invalid_parameter',
    `${name} must be one of ${values.map((v) => `"${v}"`).join(', ')}.`,
    name,
  );
}

/** The longest search a list accepts: far above any description, subject or fingerprint. */
const MAX_SEARCH_CHARS = 200;

/**
 * vaultgate's `q` on the certificate list (not in SPEC §2; docs/dashboard.md): what a user types to
 * find "the Visa cert". A blank `q` searches nothing, as an empty search box shows everything.
 */
function readSearch(query: URLSearchParams): string | undefined {
  const q = query.get('q')?.trim();
  if (q === undefined || q === '') return undefined;
  if (q.length > MAX_SEARCH_CHARS) {
    throw new VaultgateError(
      'invalid_parameter',
      `q is ${q.length} characters long; a search takes at most ${MAX_SEARCH_CHARS} (a description, a subject or host name, or a fingerprint).`,
      'q',
    );
  }
  return q;
}

/** The metadata of SPEC §2. The sealed key is never part of any answer. */
export function presentCertificate(c: CertificateSummary, now = Date.now()): Certificate {
  return {
    id: c.id,
    vault_id: c.vault_id,
    description: c.description,
    proxy_type: c.proxy_type,
    credential_id: c.credential_id,
    route_id: c.route_id,
    hosts: c.hosts,
    subject: c.subject,
    issuer: c.issuer,
    serial_number: c.serial_number,
    not_before: c.not_before,
    not_after: c.not_after,
    fingerprint_sha256: c.fingerprint_sha256,
    key_type: c.key_type,
    ...(c.key_type === 'rsa' && c.key_size !== null ? { key_size: c.key_size } : {}),
    ...(c.key_type === 'ec' && c.curve !== null ? { curve: c.curve } : {}),
    sans: c.sans,
    chain: c.chain,
    status: computeStatus(c.not_before, c.not_after, now),
    warnings: c.warnings,
    created_at: c.created_at,
  };
}

function association(message: string, field: string): VaultgateError {
  return new VaultgateError('invalid_association', message, field);
}

/** What a certificate is tied to, as an upload or a certificate request names it. */
export interface AssociationInput {
  proxy_type: ProxyType;
  credential_id?: string | undefined;
  route_id?: string | undefined;
}

/** SPEC §2: outbound certificates belong to a credential, inbound ones to an inbound route; never both. */
export async function checkAssociation(repo: Repo, vaultId: string, body: AssociationInput): Promise<void> {
  if (body.credential_id !== undefined && body.route_id !== undefined) {
    throw association('Give credential_id (outbound) or route_id (inbound), not both.', 'route_id');
  }
  if (body.proxy_type === 'outbound') {
    if (body.route_id !== undefined) {
      throw association(
        'An outbound certificate is tied to an access credential: send credential_id, not route_id.',
        'route_id',
      );
    }
    if (body.credential_id === undefined) {
      throw association(
        'An outbound certificate needs credential_id: the access credential whose traffic presents it.',
        'credential_id',
      );
    }
    if (!(await repo.getCredential(vaultId, body.credential_id))) {
      throw association(
        `The vault ${vaultId} has no access credential with the id "${body.credential_id}".`,
        'credential_id',
      );
    }
    return;
  }
  if (body.credential_id !== undefined) {
    throw association(
      'An inbound certificate is tied to a route: send route_id, not credential_id.',
      'credential_id',
    );
  }
  if (body.route_id === undefined) {
    throw association(
      'An inbound certificate needs route_id: the inbound route whose upstream it is presented to.',
      'route_id',
    );
  }
  const route = await repo.getRoute(vaultId, body.route_id);
  if (!route)
    throw association(`The vault ${vaultId} has no route with the id "${body.route_id}".`, 'route_id');
  if (route.type !== 'inbound') {
    throw association(
      `The route ${route.id} is an outbound route; inbound certificates go on inbound routes (outbound ones on access credentials).`,
      'route_id',
    );
  }
}

/**
 * Stores a new certificate, with the warning `duplicate` when the same certificate (fingerprint) is
 * already tied to its credential or route (SPEC §2). Both are kept: the choice rule presents one of
 * them either way, and deleting the older copy is the user's call. Runs inside the write transaction,
 * so two identical uploads at once still see each other.
 */
export async function insertWithDuplicateWarning(repo: Repo, record: CertificateRecord): Promise<void> {
  const tied = await repo.countCertificatesFor({
    ...(record.credential_id !== null ? { credentialId: record.credential_id } : {}),
    ...(record.route_id !== null ? { routeId: record.route_id } : {}),
    fingerprint: record.fingerprint_sha256,
  });
  if (tied > 0 && !record.warnings.includes('duplicate')) record.warnings.push('duplicate');
  await repo.insertCertificate(record);
}

/** An upload's or request's `hosts` (SPEC §2: outbound only), normalised; none means any host. */
export function readCertificateHosts(proxyType: ProxyType, hosts: readonly string[] | undefined): string[] {
  if (hosts !== undefined && proxyType === 'inbound') {
    throw new VaultgateError(
      'invalid_field',
      'hosts applies to outbound certificates only; leave it out for inbound ones.',
      'hosts',
    );
  }
  return hosts === undefined ? [] : validateHosts(hosts);
}

/**
 * The certificate record of a parsed upload (or of a completed certificate request), its private key
 * sealed at once under the binding to the new row (certificateKeyAad).
 */
export function buildCertificateRecord(
  ctx: ApiContext,
  input: AssociationInput & { vault_id: string; description: string | null; hosts: string[] },
  parsed: ParsedCertificate,
): CertificateRecord {
  const now = new Date().toISOString();
  const owner = {
    id: randomUUID(),
    vault_id: input.vault_id,
    credential_id: input.proxy_type === 'outbound' ? (input.credential_id ?? null) : null,
    route_id: input.proxy_type === 'inbound' ? (input.route_id ?? null) : null,
    certificate_pem: parsed.chainPem,
  };
  return {
    ...parsed.metadata,
    ...owner,
    proxy_type: input.proxy_type,
    description: input.description,
    hosts: input.hosts,
    private_key_sealed: ctx.keyring.seal(parsed.privateKeyPem, certificateKeyAad(owner)),
    warnings: parsed.warnings,
    created_at: now,
    updated_at: now,
  };
}

async function requireCertificate(
  repo: Repo,
  vaultId: string,
  id: string | undefined,
): Promise<CertificateRecord> {
  const cert = id ? await repo.getCertificate(vaultId, id) : undefined;
  if (!cert)
    throw new VaultgateError(
      'certificate_not_found',
      `The vault ${vaultId} has no certificate with the id "${id}".`,
    );
  return cert;
}

/**
 * A certificate's JSON is rendered once per revision (its material never changes; a PATCH of
 * description or hosts moves updated_at, also when made through another instance) and kept by id.
 * A page is one keyset query of ids and revisions in the store (filters, search and status
 * included, LIMIT the page), the summaries of rows not seen at that revision, and string joins: its
 * cost is the page, not the 10,000 stored. Only `status` depends on the clock; it is spliced in per
 * request, at the instant the store filtered by.
 */
class RenderedCertificates {
  readonly #cache = new Map<
    string,
    { revision: string; json: string; notBefore: number; notAfter: number }
  >();

  async list(repo: Repo, filter: CertificateFilter, now: number, request: PageRequest): Promise<string> {
    const after = request.after === null ? undefined : splitSortKey(request.after);
    // One more than the page: whether it exists says whether a next page does.
    const found = await repo.listCertificatePage(filter, { after, limit: request.limit + 1 });
    const page = found.slice(0, request.limit);
    const missing = page.filter((c) => this.#cache.get(c.id)?.revision !== c.updated_at).map((c) => c.id);
    if (missing.length > 0) {
      if (this.#cache.size + missing.length > 100_000) this.#cache.clear(); // bound memory; refills on demand
      for (const summary of await repo.getCertificateSummaries(missing)) {
        const { status: _status, ...rest } = presentCertificate(summary, now);
        this.#cache.set(summary.id, {
          revision: summary.updated_at,
          json: JSON.stringify(rest).slice(0, -1),
          notBefore: Date.parse(summary.not_before),
          notAfter: Date.parse(summary.not_after),
        });
      }
    }
    const parts: string[] = [];
    for (const { id } of page) {
      const entry = this.#cache.get(id);
      if (!entry) continue; // deleted between the two reads
      parts.push(`${entry.json},"status":"${computeStatus(entry.notBefore, entry.notAfter, now)}"}`);
    }
    const last = page[page.length - 1];
    const next =
      found.length > request.limit && last ? encodeCursor(sortKey(last.created_at, last.id)) : null;
    return `{"data":[${parts.join(',')}],"next_cursor":${JSON.stringify(next)}}`;
  }
}

export function certificateEndpoints(ctx: ApiContext): Endpoint[] {
  const rendered = new RenderedCertificates();
  return [
    {
      method: 'POST',
      path: '/vaults/:vault_id/certificates',
      role: 'operator',
      summary:
        'Upload a mutual TLS client certificate and its private key (PEM or PKCS#12); the key is never shown again',
      body: uploadBody,
      example: {
        proxy_type: 'outbound',
        credential_id: '0b6f7c1e-2d3a-4b5c-8d9e-0f1a2b3c4d5e',
        description: 'Visa VDP',
        certificate: '-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n',
        private_key: '-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----\n',
        hosts: ['api.visa.com'],
      },
      response: certificateSchema,
      status: 201,
      errors: [...UPLOAD_ERRORS, 'invalid_association'],
      handler: async ({ params, body, actor, remoteAddress }) => {
        const input = body as UploadBody;
        const vault = await requireVault(ctx.store.read, params.vault_id);
        const hosts = readCertificateHosts(input.proxy_type, input.hosts);
        await checkAssociation(ctx.store.read, vault.id, input);
        const parsed = await parseOffloaded(ctx, input);
        const record = buildCertificateRecord(
          ctx,
          { ...input, vault_id: vault.id, description: input.description ?? null, hosts },
          parsed,
        );
        await commit(
          ctx,
          {
            actor,
            action: 'certificate.created',
            vault_id: vault.id,
            target_id: record.id,
            client_address: remoteAddress,
          },
          async (repo) => {
            // Checked again inside the transaction: the credential or route may have gone meanwhile.
            await checkAssociation(repo, vault.id, input);
            await insertWithDuplicateWarning(repo, record);
            // The webhook outbox: the event commits with the certificate, or not at all.
            await enqueueEvent(repo, 'certificate.created', presentCertificate(record), record.created_at);
          },
        );
        return { status: 201, body: { data: presentCertificate(record) } };
      },
    },
    {
      method: 'GET',
      path: '/vaults/:vault_id/certificates',
      summary:
        "List a vault's certificates (metadata only), paged; filters: proxy_type, status, credential_id, route_id, and q (vaultgate's search: a case-insensitive part of the description, subject, issuer, hosts or SANs, a fingerprint prefix, or the id)",
      query: ['proxy_type', 'status', 'credential_id', 'route_id', 'q', ...PAGE_PARAMETERS],
      response: { type: 'array', items: certificateSchema },
      handler: async ({ params, query }) => {
        const request = readPage(query);
        const vault = await requireVault(ctx.store.read, params.vault_id);
        const proxyType = oneOf(query, 'proxy_type', ['inbound', 'outbound'] as const);
        const status = oneOf(query, 'status', [
          'valid',
          'expiring_soon',
          'expired',
          'not_yet_valid',
        ] as const);
        const now = Date.now();
        const filter: CertificateFilter = {
          vaultId: vault.id,
          proxyType: proxyType ?? undefined,
          credentialId: query.get('credential_id') ?? undefined,
          routeId: query.get('route_id') ?? undefined,
          search: readSearch(query),
          // The store filters by status at `now`, the instant every row's status is shown at.
          status: status === null ? undefined : { is: status, at: now },
        };
        return {
          status: 200,
          raw: await rendered.list(ctx.store.read, filter, now, request),
          headers: { 'content-type': 'application/json; charset=utf-8' },
        };
      },
    },
    {
      method: 'GET',
      path: '/vaults/:vault_id/certificates/:id',
      summary: 'Get a certificate with its public chain as PEM (for the preview)',
      response: certificateDetailSchema,
      errors: ['certificate_not_found'],
      handler: async ({ params }) => {
        const vault = await requireVault(ctx.store.read, params.vault_id);
        const cert = await requireCertificate(ctx.store.read, vault.id, params.id);
        return {
          status: 200,
          body: { data: { ...presentCertificate(cert), certificate_pem: cert.certificate_pem } },
        };
      },
    },
    {
      method: 'PATCH',
      path: '/vaults/:vault_id/certificates/:id',
      role: 'operator',
      summary:
        "Edit a certificate's description or hosts; the change applies to the next request. The certificate and key never change: upload a new one",
      body: editBody,
      example: { description: 'Visa VDP (production)', hosts: ['api.visa.com', 'sandbox.api.visa.com'] },
      response: certificateSchema,
      errors: ['certificate_not_found', 'invalid_field'],
      handler: async ({ params, body, actor, remoteAddress }) => {
        const input = body as EditBody;
        const updated = await commit(
          ctx,
          {
            actor,
            action: 'certificate.updated',
            vault_id: params.vault_id ?? null,
            target_id: params.id ?? null,
            client_address: remoteAddress,
          },
          async (repo) => {
            const vault = await requireVault(repo, params.vault_id);
            const cert = await requireCertificate(repo, vault.id, params.id);
            if (input.hosts !== undefined && cert.proxy_type === 'inbound') {
              throw new VaultgateError(
                'invalid_field',
                'hosts applies to outbound certificates only: an inbound certificate is presented to its route’s upstream.',
                'hosts',
              );
            }
            const edit = {
              description: input.description === undefined ? cert.description : input.description,
              hosts: input.hosts === undefined ? cert.hosts : validateHosts(input.hosts),
              updated_at: new Date().toISOString(),
            };
            await repo.updateCertificate(vault.id, cert.id, edit);
            return { ...cert, ...edit };
          },
        );
        return { status: 200, body: { data: presentCertificate(updated) } };
      },
    },
    {
      method: 'DELETE',
      path: '/vaults/:vault_id/certificates/:id',
      role: 'operator',
      summary:
        'Delete a certificate: it is never presented again, and pooled connections that presented it close',
      status: 204,
      errors: ['certificate_not_found'],
      handler: async ({ params, actor, remoteAddress }) => {
        await commit(
          ctx,
          {
            actor,
            action: 'certificate.deleted',
            vault_id: params.vault_id ?? null,
            target_id: params.id ?? null,
            client_address: remoteAddress,
          },
          async (repo) => {
            const vault = await requireVault(repo, params.vault_id);
            const cert = await requireCertificate(repo, vault.id, params.id);
            await repo.deleteCertificate(vault.id, cert.id);
            await enqueueEvent(
              repo,
              'certificate.deleted',
              presentCertificate(cert),
              new Date().toISOString(),
            );
          },
        );
        return { status: 204 };
      },
    },
  ];
}
