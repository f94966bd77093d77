import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { VaultgateError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { ApiTokenRecord, Repo, Store } from '../store/types.js';
import { API_TOKEN_ROLES } from '../store/types.js';
import type { ApiContext } from './context.js';
import { auditOf } from './context.js';
import { PAGE_PARAMETERS, encodeCursor, readPage, sortKey, splitSortKey } from './paging.js';
import type { Endpoint } from './router.js';
import { timestamp, type FromSchema } from './schema.js';

/** The name of the token the first-start admin token becomes (SPEC §2). */
export const BOOTSTRAP_TOKEN_NAME = 'bootstrap';
/** meta: the hash of a bootstrap token that was deleted, so the next start does not bring it back. */
const BOOTSTRAP_REVOKED_META = 'bootstrap_token_revoked';
/** last_used_at is written at most this often per token and process: it is bookkeeping, not audit. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Keyed hashes of API tokens (HMAC-SHA256 under a key derived from the server secret): the table
 * holds nothing a token could be rebuilt from, and a database reader cannot test guesses without
 * the server secret. A token has 256 random bits, so a slow hash would add nothing but latency to
 * every call. Every instance sharing the database derives the same key (the server secret is in it).
 */
export class TokenHasher {
  readonly #key: Buffer;

  constructor(serverSecret: Buffer) {
    this.#key = createHmac('sha256', serverSecret).update('vaultgate api token v1').digest();
  }

  hash(token: string): string {
    return createHmac('sha256', this.#key).update(token).digest('hex');
  }
}

/** A new token: a prefix saying what it is (secret scanners key on it), then 256 random bits. */
export function newTokenValue(): string {
  return `vgt_${randomBytes(32).toString('base64url')}`;
}

/**
 * Makes the admin token of the settings (VAULTGATE_ADMIN_TOKEN, or <data>/admin-token) the admin
 * token named "bootstrap", at every start of the control plane:
 * - no such token yet (first start, or a data dir from before API tokens): it is created;
 * - the admin token changed since (the "Rotating the admin token" runbook): its hash is replaced,
 *   which ends every session signed in with the old one;
 * - it was deleted through the API: it stays deleted while the setting holds the same token, so an
 *   admin can retire it once they have tokens of their own; setting a new admin token brings it back
 *   (the way back in for whoever holds the data dir, like Vault's root token regeneration).
 * Writes only when something changes: most starts change nothing.
 */
export async function syncBootstrapToken(
  store: Store,
  hasher: TokenHasher,
  adminToken: string,
  logger: Logger,
): Promise<void> {
  const hash = hasher.hash(adminToken);
  const current = await store.read.getApiTokenByName(BOOTSTRAP_TOKEN_NAME);
  if (current?.token_hash === hash) return;
  if (!current && (await store.read.getMeta(BOOTSTRAP_REVOKED_META)) === hash) return;
  await store.write(
    async (repo) => {
      const at = new Date().toISOString();
      const row = await repo.getApiTokenByName(BOOTSTRAP_TOKEN_NAME);
      if (row) {
        if (row.token_hash === hash) return;
        await repo.replaceApiTokenHash(row.id, hash);
        await repo.insertAuditEvent(systemEvent('api_token.replaced', row.id, at));
        // Also what a second instance on this database with another admin token does: the last to
        // start wins, and the other's token stops working. Say so where operators look.
        logger.warn(
          'the admin token differs from the bootstrap token in the database: the bootstrap token is now this one and its old sessions ended (instances sharing a database need the same admin token)',
        );
        return;
      }
      if ((await repo.getMeta(BOOTSTRAP_REVOKED_META)) === hash) return;
      if (await repo.getApiTokenByHash(hash)) return; // the admin token is an API token already
      const id = randomUUID();
      const created = await repo.insertApiToken({
        id,
        name: BOOTSTRAP_TOKEN_NAME,
        role: 'admin',
        token_hash: hash,
        created_at: at,
        expires_at: null,
        last_used_at: null,
      });
      if (created) await repo.insertAuditEvent(systemEvent('api_token.created', id, at));
    },
    { bookkeeping: true },
  );
}

function systemEvent(action: string, targetId: string, at: string) {
  return {
    id: randomUUID(),
    at,
    actor: 'system',
    action,
    vault_id: null,
    target_id: targetId,
    client_address: null,
  };
}

/**
 * Finds the live token a bearer value or a session names: not deleted, not expired. Remembers when
 * each was last used (SPEC §2 lists it), written off the request path.
 */
export class TokenDirectory {
  readonly #touched = new Map<string, number>();

  constructor(
    private readonly store: Store,
    readonly hasher: TokenHasher,
    private readonly logger: Logger,
  ) {}

  async byValue(value: string, now = Date.now()): Promise<ApiTokenRecord | undefined> {
    return live(await this.store.read.getApiTokenByHash(this.hasher.hash(value)), now);
  }

  async byId(id: string, now = Date.now()): Promise<ApiTokenRecord | undefined> {
    return live(await this.store.read.getApiToken(id), now);
  }

  touch(token: ApiTokenRecord, now = Date.now()): void {
    if (now - (this.#touched.get(token.id) ?? 0) < TOUCH_EVERY_MS) return;
    this.#touched.set(token.id, now);
    const at = new Date(now).toISOString();
    this.store
      .write((repo) => repo.touchApiToken(token.id, at), { bookkeeping: true })
      .catch((err: unknown) => this.logger.warn('could not record when an API token was last used', { err }));
  }
}

function live(token: ApiTokenRecord | undefined, now: number): ApiTokenRecord | undefined {
  if (!token) return undefined;
  if (token.expires_at !== null && Date.parse(token.expires_at) <= now) return undefined;
  return token;
}

const roleSchema = { type: 'string', enum: API_TOKEN_ROLES } as const;

export const apiTokenSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'role', 'created_at', 'expires_at', 'last_used_at'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    role: roleSchema,
    created_at: timestamp,
    expires_at: { ...timestamp, type: ['string', 'null'] },
    last_used_at: { ...timestamp, type: ['string', 'null'], description: 'Written at most once a minute' },
  },
} as const;

export const createdApiTokenSchema = {
  ...apiTokenSchema,
  required: [...apiTokenSchema.required, 'token'],
  properties: {
    ...apiTokenSchema.properties,
    token: { type: 'string', description: 'Shown once: only a keyed hash of it is stored' },
  },
} as const;

const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'role'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]*$' },
    role: roleSchema,
    expires_at: { type: 'string', maxLength: 64, description: 'ISO 8601, in the future; omit for no expiry' },
  },
} as const;

type ApiToken = FromSchema<typeof apiTokenSchema>;

export function presentApiToken(t: ApiTokenRecord): ApiToken {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    created_at: t.created_at,
    expires_at: t.expires_at,
    last_used_at: t.last_used_at,
  };
}

async function requireToken(repo: Repo, id: string | undefined): Promise<ApiTokenRecord> {
  const token = id === undefined ? undefined : await repo.getApiToken(id);
  if (!token) throw new VaultgateError('api_token_not_found', `There is no API token with the id "${id}".`);
  return token;
}

function readExpiry(raw: string | undefined, now: number): string | null {
  if (raw === undefined) return null;
  const at = Date.parse(raw);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(raw) || Number.isNaN(at)) {
    throw new VaultgateError(
      'invalid_field',
      'expires_at must be an ISO 8601 time such as 2027-06-30T00:00:00Z.',
      'expires_at',
    );
  }
  if (at <= now) throw new VaultgateError('invalid_field', 'expires_at must be in the future.', 'expires_at');
  return new Date(at).toISOString();
}

/** SPEC §2 "API tokens and roles": admin only. Token rows are not in any snapshot: bookkeeping writes. */
export function apiTokenEndpoints(ctx: ApiContext): Endpoint[] {
  return [
    {
      method: 'POST',
      path: '/api-tokens',
      summary: 'Create an API token with a role; the token is in this answer only',
      role: 'admin',
      status: 201,
      body: createBody,
      example: { name: 'ci-deploy', role: 'operator', expires_at: '2027-06-30T00:00:00Z' },
      response: createdApiTokenSchema,
      handler: async (req) => {
        const input = req.body as FromSchema<typeof createBody>;
        const now = Date.now();
        const value = newTokenValue();
        const record: ApiTokenRecord = {
          id: randomUUID(),
          name: input.name,
          role: input.role,
          token_hash: ctx.tokens.hasher.hash(value),
          created_at: new Date(now).toISOString(),
          expires_at: readExpiry(input.expires_at, now),
          last_used_at: null,
        };
        await ctx.store.write(
          async (repo) => {
            if (!(await repo.insertApiToken(record))) {
              throw new VaultgateError(
                'invalid_field',
                `An API token named "${input.name}" exists already; names are unique so the audit trail names one token. Choose another name.`,
                'name',
              );
            }
            await repo.insertAuditEvent(auditRecord(auditOf(req, 'api_token.created', null, record.id)));
          },
          { bookkeeping: true },
        );
        const data: FromSchema<typeof createdApiTokenSchema> = { ...presentApiToken(record), token: value };
        return { status: 201, body: { data } };
      },
    },
    {
      method: 'GET',
      path: '/api-tokens',
      summary: 'The API tokens (never the tokens themselves), in creation order',
      query: PAGE_PARAMETERS,
      response: { type: 'array', items: apiTokenSchema },
      handler: async ({ query }) => {
        const page = readPage(query);
        const rows = await ctx.store.read.listApiTokens({
          after: page.after === null ? undefined : splitSortKey(page.after),
          limit: page.limit + 1,
        });
        const data = rows.slice(0, page.limit);
        const last = data[data.length - 1];
        const more = rows.length > page.limit && last !== undefined;
        return {
          status: 200,
          body: {
            data: data.map(presentApiToken),
            next_cursor: more ? encodeCursor(sortKey(last.created_at, last.id)) : null,
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/api-tokens/:token_id',
      summary: 'One API token (never the token itself)',
      response: apiTokenSchema,
      errors: ['api_token_not_found'],
      handler: async ({ params }) => ({
        status: 200,
        body: { data: presentApiToken(await requireToken(ctx.store.read, params.token_id)) },
      }),
    },
    {
      method: 'DELETE',
      path: '/api-tokens/:token_id',
      summary:
        'Delete an API token: it stops working at once, for the dashboard sessions signed in with it too',
      role: 'admin',
      status: 204,
      errors: ['api_token_not_found'],
      handler: async (req) => {
        await ctx.store.write(
          async (repo) => {
            const token = await requireToken(repo, req.params.token_id);
            await repo.deleteApiToken(token.id);
            if (token.name === BOOTSTRAP_TOKEN_NAME)
              await repo.setMeta(BOOTSTRAP_REVOKED_META, token.token_hash);
            await repo.insertAuditEvent(auditRecord(auditOf(req, 'api_token.deleted', null, token.id)));
          },
          { bookkeeping: true },
        );
        return { status: 204 };
      },
    },
  ];
}

function auditRecord(entry: ReturnType<typeof auditOf>) {
  return {
    id: randomUUID(),
    at: new Date().toISOString(),
    ...entry,
    client_address: entry.client_address ?? null,
  };
}
