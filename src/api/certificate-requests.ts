/**
 * Certificate requests (SPEC §2 "Certificate lifecycle"): vaultgate generates the key pair, seals it
 * at once and answers with a PKCS#10 CSR; the certificate a CA signs from it is attached later and
 * becomes a normal certificate tied as requested, through the upload's own validation and record.
 * Decisions where SPEC is silent are in docs/certificates.md "Certificate requests".
 */
import { randomUUID } from 'node:crypto';
import {
  CSR_CURVES,
  CSR_RSA_SIZES,
  MAX_SANS,
  createKeyAndCsr,
  readSans,
  type CsrKeySpec,
} from '../certificates/csr.js';
import { MAX_FIELD_CHARS } from '../certificates/upload.js';
import { VaultgateError } from '../errors.js';
import { MAX_HOSTNAME_LENGTH, MAX_HOSTS } from '../hosts/names.js';
import { enqueueEvent } from '../notifications/events.js';
import { certificateRequestKeyAad } from '../secrets/aad.js';
import { SealError } from '../secrets/keyring.js';
import type {
  CertificateRequestRecord,
  CertificateRequestStatus,
  CertificateRequestSummary,
  Repo,
} from '../store/types.js';
import {
  UPLOAD_ERRORS,
  buildCertificateRecord,
  certificateSchema,
  checkAssociation,
  insertWithDuplicateWarning,
  parseOffloaded,
  presentCertificate,
  readCertificateHosts,
} from './certificates.js';
import { commit, type ApiContext } from './context.js';
import { PAGE_PARAMETERS, encodeCursor, readPage, sortKey, splitSortKey } from './paging.js';
import type { Endpoint } from './router.js';
import { nullableString, stringList, timestamp, type FromSchema } from './schema.js';
import { requireVault } from './vaults.js';

/** One line of text: a subject attribute never holds control characters. */
const NO_CONTROL = '^[^\\u0000-\\u001f\\u007f]*$';
// Upper bounds of RFC 5280 Appendix A (ub-common-name 64, ub-organization-name 64, …).
const dnString = (maxLength: number) =>
  ({ type: 'string', minLength: 1, maxLength, pattern: NO_CONTROL }) as const;

const subjectBody = {
  type: 'object',
  additionalProperties: false,
  required: ['common_name'],
  properties: {
    common_name: dnString(64),
    organization: dnString(64),
    organizational_unit: dnString(64),
    country: { type: 'string', pattern: '^[A-Za-z]{2}$', description: 'ISO 3166 two-letter code' },
    state: dnString(128),
    locality: dnString(128),
    email: { type: 'string', minLength: 3, maxLength: 128 },
  },
} as const;

const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['proxy_type', 'subject', 'key_type'],
  properties: {
    proxy_type: { type: 'string', enum: ['outbound', 'inbound'] },
    credential_id: { type: 'string', maxLength: 64 },
    route_id: { type: 'string', maxLength: 64 },
    description: { type: 'string', maxLength: 500 },
    subject: subjectBody,
    sans: {
      type: 'array',
      maxItems: MAX_SANS,
      items: { type: 'string', minLength: 1, maxLength: MAX_HOSTNAME_LENGTH + 4 },
      description: 'DNS names, IP addresses and email addresses, bare or as DNS:…, IP:…, email:…',
    },
    key_type: { type: 'string', enum: ['ec', 'rsa'] },
    curve: { type: 'string', enum: [...CSR_CURVES], description: 'EC only; default P-256' },
    key_size: { type: 'integer', enum: [...CSR_RSA_SIZES], description: 'RSA only; default 2048' },
    hosts: { type: 'array', maxItems: MAX_HOSTS, items: { type: 'string', maxLength: MAX_HOSTNAME_LENGTH } },
  },
} as const;

type CreateBody = FromSchema<typeof createBody>;

const completeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['certificate'],
  properties: {
    certificate: {
      type: 'string',
      maxLength: MAX_FIELD_CHARS,
      description: 'PEM: the certificate signed from this request, optionally followed by its chain',
    },
  },
} as const;

export const certificateRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'vault_id',
    'proxy_type',
    'credential_id',
    'route_id',
    'description',
    'hosts',
    'subject',
    'sans',
    'key_type',
    'csr_pem',
    'status',
    'certificate_id',
    'created_at',
    'completed_at',
  ],
  properties: {
    id: { type: 'string', format: 'uuid' },
    vault_id: { type: 'string' },
    proxy_type: { type: 'string', enum: ['outbound', 'inbound'] },
    credential_id: { ...nullableString, description: 'outbound: the access credential' },
    route_id: { ...nullableString, description: 'inbound: the route' },
    description: nullableString,
    hosts: { ...stringList, description: 'outbound: the upstream hosts the certificate is presented to' },
    subject: { type: 'string', description: 'The CSR subject as an RFC 4514 string' },
    sans: { ...stringList, description: 'Subject alternative names, e.g. DNS:api.example' },
    key_type: { type: 'string', enum: ['rsa', 'ec'] },
    key_size: { type: 'integer', description: 'RSA only' },
    curve: { type: 'string', description: 'EC only: P-256 or P-384' },
    csr_pem: { type: 'string', description: 'The PKCS#10 request, for the CA to sign' },
    status: { type: 'string', enum: ['pending', 'completed'] },
    certificate_id: { ...nullableString, description: 'completed: the certificate it became' },
    created_at: timestamp,
    completed_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

export type CertificateRequest = FromSchema<typeof certificateRequestSchema>;

/** What SPEC §2 shows of a request. The sealed key is never part of any answer. */
export function presentCertificateRequest(r: CertificateRequestSummary): CertificateRequest {
  return {
    id: r.id,
    vault_id: r.vault_id,
    proxy_type: r.proxy_type,
    credential_id: r.credential_id,
    route_id: r.route_id,
    description: r.description,
    hosts: r.hosts,
    subject: r.subject,
    sans: r.sans,
    key_type: r.key_type,
    ...(r.key_type === 'rsa' && r.key_size !== null ? { key_size: r.key_size } : {}),
    ...(r.key_type === 'ec' && r.curve !== null ? { curve: r.curve } : {}),
    csr_pem: r.csr_pem,
    status: r.status,
    certificate_id: r.certificate_id,
    created_at: r.created_at,
    completed_at: r.completed_at,
  };
}

function readKeySpec(input: CreateBody): CsrKeySpec {
  if (input.key_type === 'rsa') {
    if (input.curve !== undefined) {
      throw new VaultgateError('invalid_field', 'curve applies to EC keys; leave it out for RSA.', 'curve');
    }
    return { key_type: 'rsa', key_size: input.key_size ?? 2048 };
  }
  if (input.key_size !== undefined) {
    throw new VaultgateError(
      'invalid_field',
      'key_size applies to RSA keys; for EC choose the curve (P-256 or P-384).',
      'key_size',
    );
  }
  return { key_type: 'ec', curve: input.curve ?? 'P-256' };
}

async function requireRequest(
  repo: Repo,
  vaultId: string,
  id: string | undefined,
): Promise<CertificateRequestRecord> {
  const request = id ? await repo.getCertificateRequest(vaultId, id) : undefined;
  if (!request) {
    throw new VaultgateError(
      'certificate_request_not_found',
      `The vault ${vaultId} has no certificate request with the id "${id}".`,
    );
  }
  return request;
}

/** A completed request is the record of where its certificate's key was born; it stays as it is. */
function requirePending(request: CertificateRequestRecord, doing: string): string {
  if (request.status === 'pending' && request.private_key_sealed !== null) return request.private_key_sealed;
  throw new VaultgateError(
    'certificate_request_completed',
    `The certificate request ${request.id} was completed on ${request.completed_at} as the certificate ${request.certificate_id}, so it cannot be ${doing}. Manage that certificate under /certificates; to renew it, create a new certificate request.`,
  );
}

function readStatus(query: URLSearchParams): CertificateRequestStatus | undefined {
  const status = query.get('status');
  if (status === null) return undefined;
  if (status === 'pending' || status === 'completed') return status;
  throw new VaultgateError('invalid_parameter', 'status must be "pending" or "completed".', 'status');
}

/**
 * The certificate a CA signed from the request, checked exactly as an upload of it with the
 * request's key would be. The errors name `certificate`, the one field the caller sent.
 */
async function parseSigned(ctx: ApiContext, certificate: string, privateKeyPem: string) {
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(certificate)) {
    throw new VaultgateError(
      'invalid_field',
      "The certificate field holds a private key. This request's key was generated inside vaultgate: send only the signed certificate and its chain.",
      'certificate',
    );
  }
  try {
    return await parseOffloaded(ctx, { certificate, private_key: privateKeyPem });
  } catch (err) {
    if (!(err instanceof VaultgateError)) throw err;
    if (err.code === 'key_mismatch') {
      throw new VaultgateError(
        'key_mismatch',
        "No certificate in the upload holds this request's public key: it was not signed from this request's csr_pem. Send the certificate the CA issued for this request.",
        'certificate',
      );
    }
    throw err.field === 'private_key' ? new VaultgateError(err.code, err.message, 'certificate') : err;
  }
}

/**
 * The request's key, opened for the one check that needs it. A key that does not open was altered
 * or moved to another row in the database, or sealed under another master key: nothing can be done
 * with it, and the log says which request without quoting anything sealed.
 */
function openRequestKey(ctx: ApiContext, request: CertificateRequestRecord, sealed: string): string {
  try {
    return ctx.keyring.open(sealed, certificateRequestKeyAad(request)).toString('utf8');
  } catch (err) {
    if (!(err instanceof SealError)) throw err;
    ctx.logger.error('a certificate request key cannot be opened', {
      vault_id: request.vault_id,
      certificate_request_id: request.id,
      reason: err.message,
    });
    throw new VaultgateError(
      'internal_error',
      `The key of the certificate request ${request.id} cannot be opened under this vaultgate's master key (its stored row was changed). Delete the request and create a new one.`,
    );
  }
}

export function certificateRequestEndpoints(ctx: ApiContext): Endpoint[] {
  return [
    {
      method: 'POST',
      path: '/vaults/:vault_id/certificate-requests',
      role: 'operator',
      summary:
        'Create a certificate request: vaultgate generates the key pair (it never leaves vaultgate) and answers with a PKCS#10 CSR for a CA to sign',
      body: createBody,
      example: {
        proxy_type: 'outbound',
        credential_id: '0b6f7c1e-2d3a-4b5c-8d9e-0f1a2b3c4d5e',
        description: 'Visa VDP 2027',
        subject: { common_name: 'vdp.acme.example', organization: 'Acme', country: 'US' },
        sans: ['vdp.acme.example'],
        key_type: 'ec',
        curve: 'P-256',
        hosts: ['api.visa.com'],
      },
      response: certificateRequestSchema,
      status: 201,
      errors: ['invalid_association'],
      handler: async ({ params, body, actor, remoteAddress }) => {
        const input = body as CreateBody;
        const vault = await requireVault(ctx.store.read, params.vault_id);
        const hosts = readCertificateHosts(input.proxy_type, input.hosts);
        const spec = readKeySpec(input);
        const sans = readSans(input.sans ?? []);
        await checkAssociation(ctx.store.read, vault.id, input);
        const owner = {
          id: randomUUID(),
          vault_id: vault.id,
          credential_id: input.proxy_type === 'outbound' ? (input.credential_id ?? null) : null,
          route_id: input.proxy_type === 'inbound' ? (input.route_id ?? null) : null,
        };
        const created = await createKeyAndCsr(spec, input.subject, sans, (keyPem, csrPem) =>
          ctx.keyring.seal(keyPem, certificateRequestKeyAad({ ...owner, csr_pem: csrPem })),
        );
        const record: CertificateRequestRecord = {
          ...owner,
          proxy_type: input.proxy_type,
          description: input.description ?? null,
          hosts,
          subject: created.subject,
          sans,
          key_type: spec.key_type,
          key_size: spec.key_type === 'rsa' ? spec.key_size : null,
          curve: spec.key_type === 'ec' ? spec.curve : null,
          csr_pem: created.csrPem,
          private_key_sealed: created.privateKeySealed,
          status: 'pending',
          certificate_id: null,
          created_at: new Date().toISOString(),
          completed_at: null,
        };
        await commit(
          ctx,
          {
            actor,
            action: 'certificate_request.created',
            vault_id: vault.id,
            target_id: record.id,
            client_address: remoteAddress,
          },
          async (repo) => {
            // Again inside the transaction: the credential or route may have gone meanwhile.
            await checkAssociation(repo, vault.id, input);
            await repo.insertCertificateRequest(record);
            // The webhook outbox (src/notifications): the event commits with the request, or not at all.
            await enqueueEvent(
              repo,
              'certificate_request.created',
              presentCertificateRequest(record),
              record.created_at,
            );
          },
        );
        return { status: 201, body: { data: presentCertificateRequest(record) } };
      },
    },
    {
      method: 'GET',
      path: '/vaults/:vault_id/certificate-requests',
      summary:
        "List a vault's certificate requests in creation order, paged; filter: status (pending, completed)",
      query: ['status', ...PAGE_PARAMETERS],
      response: { type: 'array', items: certificateRequestSchema },
      handler: async ({ params, query }) => {
        const request = readPage(query);
        const vault = await requireVault(ctx.store.read, params.vault_id);
        const status = readStatus(query);
        const found = await ctx.store.read.listCertificateRequestPage(
          { vaultId: vault.id, status },
          {
            after: request.after === null ? undefined : splitSortKey(request.after),
            // One more than the page: whether it exists says whether a next page does.
            limit: request.limit + 1,
          },
        );
        const page = found.slice(0, request.limit);
        const last = page[page.length - 1];
        const next =
          found.length > request.limit && last ? encodeCursor(sortKey(last.created_at, last.id)) : null;
        return { status: 200, body: { data: page.map(presentCertificateRequest), next_cursor: next } };
      },
    },
    {
      method: 'GET',
      path: '/vaults/:vault_id/certificate-requests/:id',
      summary: 'Get a certificate request with its CSR',
      response: certificateRequestSchema,
      errors: ['certificate_request_not_found'],
      handler: async ({ params }) => {
        const vault = await requireVault(ctx.store.read, params.vault_id);
        const found = await requireRequest(ctx.store.read, vault.id, params.id);
        return { status: 200, body: { data: presentCertificateRequest(found) } };
      },
    },
    {
      method: 'DELETE',
      path: '/vaults/:vault_id/certificate-requests/:id',
      role: 'operator',
      summary:
        'Delete a pending certificate request and destroy its key (a completed one is refused: delete its certificate instead)',
      status: 204,
      errors: ['certificate_request_not_found', 'certificate_request_completed'],
      handler: async ({ params, actor, remoteAddress }) => {
        await commit(
          ctx,
          {
            actor,
            action: 'certificate_request.deleted',
            vault_id: params.vault_id ?? null,
            target_id: params.id ?? null,
            client_address: remoteAddress,
          },
          async (repo) => {
            const vault = await requireVault(repo, params.vault_id);
            const found = await requireRequest(repo, vault.id, params.id);
            requirePending(found, 'deleted');
            await repo.deleteCertificateRequest(vault.id, found.id);
          },
        );
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/vaults/:vault_id/certificate-requests/:id/certificate',
      role: 'operator',
      operationId: 'completeCertificateRequest',
      summary:
        "Attach the certificate a CA signed from the request (chain allowed): it must hold the request's key, passes every upload check, and becomes a certificate tied as requested",
      body: completeBody,
      example: {
        certificate: '-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n',
      },
      response: certificateSchema,
      status: 201,
      errors: [
        ...UPLOAD_ERRORS,
        'invalid_association',
        'certificate_request_not_found',
        'certificate_request_completed',
      ],
      handler: async ({ params, body, actor, remoteAddress }) => {
        const { certificate } = body as FromSchema<typeof completeBody>;
        const vault = await requireVault(ctx.store.read, params.vault_id);
        const pending = await requireRequest(ctx.store.read, vault.id, params.id);
        const sealed = requirePending(pending, 'completed again');
        const parsed = await parseSigned(ctx, certificate, openRequestKey(ctx, pending, sealed));
        const association = {
          proxy_type: pending.proxy_type,
          credential_id: pending.credential_id ?? undefined,
          route_id: pending.route_id ?? undefined,
        };
        const record = buildCertificateRecord(
          ctx,
          { ...association, vault_id: vault.id, description: pending.description, hosts: pending.hosts },
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
            // Completed twice at once: the second transaction finds it completed and changes nothing.
            requirePending(await requireRequest(repo, vault.id, pending.id), 'completed again');
            await checkAssociation(repo, vault.id, association);
            await insertWithDuplicateWarning(repo, record);
            await repo.completeCertificateRequest(vault.id, pending.id, record.id, record.created_at);
            await enqueueEvent(repo, 'certificate.created', presentCertificate(record), record.created_at);
          },
        );
        return { status: 201, body: { data: presentCertificate(record) } };
      },
    },
  ];
}
