import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { VaultgateError } from '../errors.js';
import { safeEqual } from '../secrets/credentials.js';
import type { ApiTokenRecord, Store } from '../store/types.js';
import type { Authenticator } from './app.js';
import type { Caller } from './roles.js';
import type { TokenDirectory } from './tokens.js';
import type { Endpoint } from './router.js';
import { timestamp, type FromSchema } from './schema.js';
import { API_TOKEN_ROLES } from '../store/types.js';

export const SESSION_COOKIE = 'vaultgate_session';
const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface Session {
  /** The public id audit events name (never the cookie). */
  id: string;
  csrf: string;
  token: ApiTokenRecord;
}

export interface ApiAuthOptions {
  /** Where sessions live: every instance sharing the database sees a sign-in and a sign-out. */
  store: Store;
  /** The listener speaks HTTPS (VAULTGATE_ADMIN_TLS_*): every session cookie is Secure. */
  secureCookies?: boolean;
}

/**
 * Two ways in, both with an API token (src/api/tokens.ts; the admin token of the settings is the
 * token "bootstrap"): `Authorization: Bearer <token>` (scripts), or the dashboard's session cookie.
 *
 * Sessions are stored server-side (issue 13): a stateless signed cookie could not be revoked, so
 * signing out only made the browser forget it, and one copied before kept working for 8 hours.
 * The cookie is 256 random bits; the database keeps a keyed hash of it and the id and hash of the
 * token it was signed in with. Sign-out deletes the row. A session is refused as soon as its token
 * is deleted, expires, or (the bootstrap token, after VAULTGATE_ADMIN_TOKEN changed) has another
 * hash (SPEC §2), checked on every call, so it holds on every instance sharing the database. The
 * keys derive from the server secret, so every instance accepts the same sessions.
 *
 * Cookie-authenticated calls that change something must echo the session's CSRF token in
 * `x-csrf-token` (derived from the cookie, not stored): SameSite=Strict already stops cross-site
 * posts, and the token covers browsers or proxies that do not honour it.
 */
export class ApiAuth implements Authenticator {
  readonly #sessionKey: Buffer;
  readonly #store: Store;
  readonly #secureCookies: boolean;

  constructor(
    private readonly tokens: TokenDirectory,
    serverSecret: Buffer,
    options: ApiAuthOptions,
  ) {
    this.#sessionKey = createHmac('sha256', serverSecret).update('vaultgate dashboard session v2').digest();
    this.#store = options.store;
    this.#secureCookies = options.secureCookies ?? false;
  }

  async authenticate(req: IncomingMessage): Promise<Caller | undefined> {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const token = m?.[1] === undefined ? undefined : await this.tokens.byValue(m[1]);
      if (!token) return undefined;
      this.tokens.touch(token);
      return callerOf(token, 'bearer');
    }
    const session = await this.readSession(req.headers);
    if (!session) return undefined;
    if (!SAFE_METHODS.has(req.method ?? 'GET')) {
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !safeEqual(sent, session.csrf)) return undefined;
    }
    this.tokens.touch(session.token);
    return callerOf(session.token, 'session');
  }

  /** The live token a sign-in names, if any. */
  findToken(value: string): Promise<ApiTokenRecord | undefined> {
    return this.tokens.byValue(value);
  }

  /** Whether cookies get the Secure attribute (RFC 6265 §4.1.2.5) for a request with these headers. */
  secureFor(headers: IncomingHttpHeaders): boolean {
    return this.#secureCookies || cameOverHttps(headers);
  }

  /**
   * Stores a new session of `token` (and its audit event, in the same transaction; expired sessions
   * are swept out on the way) and returns its cookie.
   */
  async issueSession(
    token: ApiTokenRecord,
    clientAddress: string,
    secure: boolean,
    now = Date.now(),
  ): Promise<{ cookie: string; csrf: string; expiresAt: string }> {
    // Hex, not base64url: the cookie has no padding bits, so every character counts.
    const secret = randomBytes(32).toString('hex');
    const id = randomUUID();
    // A session never outlives its token.
    const ends = Math.min(
      now + SESSION_TTL_MS,
      token.expires_at === null ? Infinity : Date.parse(token.expires_at),
    );
    const expiresAt = new Date(ends).toISOString();
    const at = new Date(now).toISOString();
    await this.#store.write(
      async (repo) => {
        await repo.deleteStaleDashboardSessions(at);
        await repo.insertDashboardSession({
          id_hash: this.#idHash(secret),
          id,
          token_id: token.id,
          token_hash: token.token_hash,
          created_at: at,
          expires_at: expiresAt,
        });
        await repo.insertAuditEvent(
          signInEvent(`dashboard:${token.name}`, 'session.signed_in', id, clientAddress, at),
        );
      },
      { bookkeeping: true },
    );
    const secureAttr = secure || this.#secureCookies ? '; Secure' : '';
    const maxAge = Math.max(1, Math.floor((ends - now) / 1000));
    return {
      cookie: `${SESSION_COOKIE}=${secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secureAttr}`,
      csrf: this.#csrf(secret),
      expiresAt,
    };
  }

  /** A failed sign-in, for the audit trail: who tried from where (never what they sent). */
  async recordFailedSignIn(clientAddress: string): Promise<void> {
    const at = new Date().toISOString();
    await this.#store.write(
      (repo) =>
        repo.insertAuditEvent(signInEvent('anonymous', 'session.sign_in_failed', null, clientAddress, at)),
      { bookkeeping: true },
    );
  }

  /** Sign-out: the stored session is deleted, so the cookie is refused from now on, wherever it is. */
  async endSession(headers: IncomingHttpHeaders, clientAddress: string): Promise<void> {
    const secret = sessionCookie(headers);
    if (secret === undefined) return;
    const at = new Date().toISOString();
    await this.#store.write(
      async (repo) => {
        const ended = await repo.deleteDashboardSession(this.#idHash(secret));
        if (!ended) return;
        const token = await repo.getApiToken(ended.token_id);
        const actor = token ? `dashboard:${token.name}` : 'dashboard';
        await repo.insertAuditEvent(signInEvent(actor, 'session.signed_out', ended.id, clientAddress, at));
      },
      { bookkeeping: true },
    );
  }

  async readSession(headers: IncomingHttpHeaders, now = Date.now()): Promise<Session | undefined> {
    const secret = sessionCookie(headers);
    if (secret === undefined) return undefined;
    const row = await this.#store.read.getDashboardSession(this.#idHash(secret));
    if (!row) return undefined;
    if (Date.parse(row.expires_at) <= now) return undefined;
    // Its token deleted or expired, or (the bootstrap token) replaced since: refused (SPEC §2).
    const token = await this.tokens.byId(row.token_id, now);
    if (!token || !safeEqual(row.token_hash, token.token_hash)) return undefined;
    return { id: row.id, csrf: this.#csrf(secret), token };
  }

  #idHash(secret: string): string {
    return this.#mac(`session\0${secret}`, 'hex');
  }

  #csrf(secret: string): string {
    return this.#mac(`csrf\0${secret}`, 'base64url');
  }

  #mac(data: string, encoding: 'hex' | 'base64url'): string {
    return createHmac('sha256', this.#sessionKey).update(data).digest(encoding);
  }
}

function callerOf(token: ApiTokenRecord, via: Caller['via']): Caller {
  return { tokenId: token.id, tokenName: token.name, role: token.role, via };
}

function signInEvent(
  actor: string,
  action: string,
  sessionId: string | null,
  clientAddress: string,
  at: string,
) {
  return {
    id: randomUUID(),
    at,
    actor,
    action,
    vault_id: null,
    target_id: sessionId,
    client_address: clientAddress || null,
  };
}

/** The session cookie's value, when it has the shape of one (64 hex digits); anything else is no session. */
function sessionCookie(headers: IncomingHttpHeaders): string | undefined {
  const raw = (headers.cookie ?? '')
    .split(';')
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${SESSION_COOKIE}=`))
    ?.slice(SESSION_COOKIE.length + 1);
  return raw !== undefined && /^[0-9a-f]{64}$/.test(raw) ? raw : undefined;
}

/**
 * Whether the browser's request reached vaultgate over HTTPS. Without VAULTGATE_ADMIN_TLS_* the
 * management listener speaks plain HTTP, so HTTPS means a TLS-terminating reverse proxy in front
 * (with them, every cookie is Secure anyway: AdminAuth.secureFor), which says so in X-Forwarded-Proto
 * (the first value: the proxy nearest the browser). Trusting the header without a list of trusted
 * proxies is safe here because it can only *add* Secure, which narrows where the cookie is sent: a
 * client that lies gets a cookie its own browser will not send back over HTTP, and nobody else's
 * cookie is affected. (RFC 7239 `Forwarded: proto=https` is read the same way.)
 */
export function cameOverHttps(headers: IncomingHttpHeaders, socketEncrypted = false): boolean {
  if (socketEncrypted) return true;
  const xfp = headers['x-forwarded-proto'];
  const first = (Array.isArray(xfp) ? xfp[0] : xfp)?.split(',')[0]?.trim().toLowerCase();
  if (first === 'https') return true;
  const forwarded = headers.forwarded?.split(',')[0] ?? '';
  return /(?:^|;)\s*proto="?https"?\s*(?:;|$)/i.test(forwarded);
}

const signInBody = {
  type: 'object',
  additionalProperties: false,
  required: ['token'],
  properties: { token: { type: 'string', maxLength: 1024 } },
} as const;

const csrfToken = {
  type: 'string',
  description: 'Send it as x-csrf-token with every call that changes something',
} as const;

const signedInSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['csrf_token', 'expires_at'],
  properties: { csrf_token: csrfToken, expires_at: timestamp },
} as const;

export const sessionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['csrf_token', 'token'],
  properties: {
    csrf_token: { ...csrfToken, type: ['string', 'null'] },
    token: {
      type: 'object',
      additionalProperties: false,
      description:
        'The token the caller is signed in (or calling) with: the dashboard shows only what its role may do',
      required: ['id', 'name', 'role'],
      properties: {
        id: { type: 'string', format: 'uuid' },
        name: { type: 'string' },
        role: { type: 'string', enum: API_TOKEN_ROLES },
      },
    },
  },
} as const;

/** Sign-in and sign-out for the dashboard: a token is exchanged for a session cookie. */
export function sessionEndpoints(auth: ApiAuth): Endpoint[] {
  const expired = (secure: boolean): string =>
    `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
  return [
    {
      method: 'POST',
      path: '/session',
      summary:
        'Sign in to the dashboard with an API token (or the admin token); sets an HttpOnly session cookie',
      noAuth: true,
      throttled: true,
      status: 201,
      body: signInBody,
      example: { token: '<an API token>' },
      response: signedInSchema,
      handler: async ({ body, headers, remoteAddress }) => {
        const token = await auth.findToken((body as FromSchema<typeof signInBody>).token);
        if (!token) {
          await auth.recordFailedSignIn(remoteAddress);
          throw new VaultgateError(
            'unauthorized',
            'That token is not correct, has expired or was deleted; the admin token printed at first start is in <data>/admin-token.',
          );
        }
        const session = await auth.issueSession(token, remoteAddress, auth.secureFor(headers));
        const data: FromSchema<typeof signedInSchema> = {
          csrf_token: session.csrf,
          expires_at: session.expiresAt,
        };
        return {
          status: 201,
          body: { data },
          headers: { 'set-cookie': session.cookie },
        };
      },
    },
    {
      method: 'GET',
      path: '/session',
      summary:
        "The caller's token (name and role) and the dashboard session's CSRF token (null when called with a bearer token)",
      response: sessionSchema,
      handler: async ({ headers, caller }) => {
        const session = caller?.via === 'session' ? await auth.readSession(headers) : undefined;
        if (!caller) throw new VaultgateError('unauthorized', 'Sign in first.');
        const data: FromSchema<typeof sessionSchema> = {
          csrf_token: session?.csrf ?? null,
          token: { id: caller.tokenId, name: caller.tokenName, role: caller.role },
        };
        return { status: 200, body: { data } };
      },
    },
    {
      method: 'DELETE',
      path: '/session',
      summary: 'Sign out of the dashboard: the session ends on the server, not only in the browser',
      noAuth: true,
      status: 204,
      handler: async ({ headers, remoteAddress }) => {
        await auth.endSession(headers, remoteAddress);
        return { status: 204, headers: { 'set-cookie': expired(auth.secureFor(headers)) } };
      },
    },
  ];
}
