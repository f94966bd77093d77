import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { VaultgateError } from '../errors.js';
import { safeEqual } from '../secrets/credentials.js';
import type { Authenticator } from './app.js';
import type { Endpoint } from './router.js';

export const SESSION_COOKIE = 'vaultgate_session';
const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface SessionClaims {
  exp: number;
  csrf: string;
}

/**
 * Two ways in: `Authorization: Bearer <admin token>` (scripts), or the dashboard's session cookie,
 * which is stateless (HMAC-signed under a key derived from the server secret) so that every instance
 * sharing a database accepts it. Cookie-authenticated calls that change something must echo the
 * session's CSRF token in `x-csrf-token`: SameSite=Strict already stops cross-site posts, and the
 * token covers browsers or proxies that do not honour it.
 */
export class AdminAuth implements Authenticator {
  readonly #sessionKey: Buffer;

  constructor(
    private readonly adminToken: string,
    serverSecret: Buffer,
  ) {
    this.#sessionKey = createHmac('sha256', serverSecret).update('vaultgate dashboard session v1').digest();
  }

  authenticate(req: IncomingMessage): string | undefined {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      return m?.[1] !== undefined && safeEqual(m[1], this.adminToken) ? 'admin-token' : undefined;
    }
    const claims = this.readSession(req);
    if (!claims) return undefined;
    if (!SAFE_METHODS.has(req.method ?? 'GET')) {
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !safeEqual(sent, claims.csrf)) return undefined;
    }
    return 'dashboard';
  }

  checkToken(token: string): boolean {
    return safeEqual(token, this.adminToken);
  }

  /**
   * `secure` adds the cookie's Secure attribute (RFC 6265 §4.1.2.5): set it when the browser reached
   * us over HTTPS (see `cameOverHttps`), so the session is never sent back over plain HTTP.
   */
  issueSession(now = Date.now(), secure = false): { cookie: string; csrf: string; expiresAt: string } {
    const claims: SessionClaims = { exp: now + SESSION_TTL_MS, csrf: randomBytes(24).toString('base64url') };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const value = `${payload}.${this.#sign(payload)}`;
    return {
      cookie: `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_MS / 1000}${secure ? '; Secure' : ''}`,
      csrf: claims.csrf,
      expiresAt: new Date(claims.exp).toISOString(),
    };
  }

  readSession(req: IncomingMessage, now = Date.now()): SessionClaims | undefined {
    const cookie = req.headers.cookie ?? '';
    const raw = cookie
      .split(';')
      .map((c) => c.trim())
      .find((c) => c.startsWith(`${SESSION_COOKIE}=`))
      ?.slice(SESSION_COOKIE.length + 1);
    if (!raw) return undefined;
    const [payload, signature] = raw.split('.');
    if (!payload || !signature) return undefined;
    const expected = Buffer.from(this.#sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as SessionClaims;
      return typeof claims.exp === 'number' && claims.exp > now && typeof claims.csrf === 'string'
        ? claims
        : undefined;
    } catch {
      return undefined;
    }
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#sessionKey).update(payload).digest('base64url');
  }
}

/**
 * Whether the browser's request reached vaultgate over HTTPS. The management listener speaks plain
 * HTTP, so HTTPS means a TLS-terminating reverse proxy in front, which says so in X-Forwarded-Proto
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

/** Sign-in and sign-out for the dashboard: the admin token is exchanged for a session cookie. */
export function sessionEndpoints(auth: AdminAuth): Endpoint[] {
  const expired = (secure: boolean): string =>
    `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
  return [
    {
      method: 'POST',
      path: '/session',
      summary: 'Sign in to the dashboard with the admin token; sets an HttpOnly session cookie',
      noAuth: true,
      throttled: true,
      status: 201,
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['token'],
        properties: { token: { type: 'string', maxLength: 1024 } },
      },
      handler: ({ body, headers }) => {
        if (!auth.checkToken((body as { token: string }).token)) {
          throw new VaultgateError(
            'unauthorized',
            'That admin token is not correct; it was printed at first start and is in <data>/admin-token.',
          );
        }
        const session = auth.issueSession(Date.now(), cameOverHttps(headers));
        return {
          status: 201,
          body: { data: { csrf_token: session.csrf, expires_at: session.expiresAt } },
          headers: { 'set-cookie': session.cookie },
        };
      },
    },
    {
      method: 'GET',
      path: '/session',
      summary: "The current dashboard session's CSRF token",
      handler: ({ headers }) => {
        const claims = auth.readSession({ headers } as IncomingMessage);
        return { status: 200, body: { data: { csrf_token: claims?.csrf ?? null } } };
      },
    },
    {
      method: 'DELETE',
      path: '/session',
      summary: 'Sign out of the dashboard',
      noAuth: true,
      status: 204,
      handler: ({ headers }) => ({ status: 204, headers: { 'set-cookie': expired(cameOverHttps(headers)) } }),
    },
  ];
}
