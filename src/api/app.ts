import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { VaultgateError, isVaultgateError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { assignRequestId, requestIdOf } from '../observability/request-id.js';
import type { FailureThrottle } from '../limits/throttle.js';
import { validate } from './schema.js';
import type { ApiResponse, Endpoint } from './router.js';
import { Router, requiredRole } from './router.js';
import { actorOf, allows, forbidden, type Caller } from './roles.js';

/** SPEC §2: bodies over 1 MiB are refused with 413 before they are parsed. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface Authenticator {
  /** Returns the caller, or undefined when the request carries no valid credential. */
  authenticate(req: IncomingMessage): Promise<Caller | undefined>;
}

export interface AppOptions {
  endpoints: readonly Endpoint[];
  auth: Authenticator;
  logger: Logger;
  /** Failed authentications per address; over the limit, authenticated endpoints answer 429. */
  throttle?: FailureThrottle | undefined;
  /** Serves whatever is not under /api/ (the dashboard); returns false when it has nothing. */
  fallback?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // Keep reading and dropping the rest (see refuseBody); the 413 goes out at once.
        if (chunks.length > 0) chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * After a 413 the rest of the body is read and dropped instead of closing the connection at once:
 * closing while the client is still sending makes the kernel answer the unread bytes with a TCP
 * reset, which can overtake the 413, so the client sees "connection reset" instead of the answer
 * (nginx's lingering close exists for the same reason). Nothing is kept, and the management
 * listener's 60 s request timeout bounds how long a client can keep sending.
 */
function refuseBody(req: IncomingMessage): void {
  req.resume();
}

function tooLarge(): VaultgateError {
  return new VaultgateError(
    'payload_too_large',
    'The request body is larger than 1 MiB; send a smaller body.',
  );
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new VaultgateError(
      'invalid_json',
      'The request body is not valid JSON; check quotes, commas and brackets.',
    );
  }
}

function send(res: ServerResponse, response: ApiResponse): void {
  const headers: Record<string, string | string[]> = { 'cache-control': 'no-store', ...response.headers };
  if (response.raw !== undefined) {
    res.writeHead(response.status, headers).end(response.raw);
  } else if (response.body === undefined) {
    res.writeHead(response.status, headers).end();
  } else {
    const text = JSON.stringify(response.body);
    res
      .writeHead(response.status, { 'content-type': 'application/json; charset=utf-8', ...headers })
      .end(text);
  }
}

export function sendApiError(
  res: ServerResponse,
  err: VaultgateError,
  extraHeaders: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const requestId = requestIdOf(res);
  const { error } = err.toJSON();
  send(res, {
    status: err.status,
    body: { error: requestId === undefined ? error : { ...error, request_id: requestId } },
    headers: extraHeaders,
  });
}

export function createApiHandler(options: AppOptions): RequestListener {
  const router = new Router(options.endpoints);
  const { logger, auth, throttle } = options;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://vaultgate.invalid');
    const isApi = url.pathname.startsWith('/api/');
    let match: ReturnType<Router['match']>;
    try {
      match = router.match(req.method ?? 'GET', url.pathname);
    } catch {
      match = undefined; // a malformed %-escape in the path: no endpoint can match it
    }
    if (match === undefined && !isApi && options.fallback && (await options.fallback(req, res))) return;
    if (match === undefined) {
      throw new VaultgateError(
        'not_found',
        `There is no endpoint at ${url.pathname}; see /api/v1/openapi.json.`,
      );
    }
    if (match === 'method_not_allowed') {
      throw new VaultgateError('method_not_allowed', `${req.method} is not allowed on ${url.pathname}.`);
    }
    const { endpoint, params } = match;
    // The credential is checked before the failure throttle, never after it: a right token gets in
    // whatever others from its address failed (issue 13); the catch below throttles the failures.
    const needed = requiredRole(endpoint);
    const caller = needed === undefined ? undefined : await auth.authenticate(req);
    if (needed !== undefined && caller === undefined) {
      throw new VaultgateError(
        'unauthorized',
        'Send an API token (or the admin token) as "Authorization: Bearer <token>", or sign in to the dashboard; a deleted or expired token no longer works.',
      );
    }
    // Before anything about the request is looked at: a call above the role changes nothing and
    // learns nothing (SPEC §2 "API tokens and roles").
    if (caller !== undefined && needed !== undefined && !allows(caller.role, needed))
      throw forbidden(caller, needed);
    const actor = caller === undefined ? 'anonymous' : actorOf(caller);
    // After authentication: a stranger learns nothing about an endpoint's parameters.
    for (const name of url.searchParams.keys()) {
      if (endpoint.query?.includes(name)) continue;
      const accepted = endpoint.query?.length
        ? `it accepts ${endpoint.query.join(', ')}`
        : 'it takes no query parameters';
      throw new VaultgateError(
        'unknown_parameter',
        `${req.method} ${url.pathname} has no query parameter "${name.slice(0, 100)}"; ${accepted}.`,
        name.slice(0, 100),
      );
    }
    const raw = await readBody(req);
    let body: unknown = undefined;
    if (endpoint.body) {
      body = validate(endpoint.body, raw.length === 0 ? {} : parseJson(raw));
    } else if (raw.length > 0 && req.method !== 'GET' && req.method !== 'DELETE') {
      throw new VaultgateError('invalid_field', 'This endpoint takes no request body.');
    }
    const response = await endpoint.handler({
      method: req.method ?? 'GET',
      path: url.pathname,
      params,
      query: url.searchParams,
      headers: req.headers,
      body,
      actor,
      caller,
      remoteAddress: req.socket.remoteAddress ?? '',
    });
    send(res, response);
  };

  return (req, res) => {
    const started = Date.now();
    const requestId = assignRequestId(req, res);
    res.setHeader('x-request-id', requestId);
    res.setHeader('x-content-type-options', 'nosniff');
    handle(req, res)
      .catch((err: unknown) => {
        if (isVaultgateError(err)) {
          // Bearer tokens and sign-ins guess the same secret: one subject. (With API tokens, their
          // non-secret prefix would be the subject, like a proxy username.)
          const wait =
            err.code === 'unauthorized' && throttle
              ? throttle.failed({
                  listener: 'admin',
                  address: req.socket.remoteAddress ?? '',
                  subject: 'token',
                })
              : 0;
          if (wait > 0) {
            const tooMany = new VaultgateError(
              'too_many_requests',
              `Too many failed authentication attempts from your address; try again in ${wait} s.`,
            );
            sendApiError(res, tooMany, { 'retry-after': String(wait) });
            return;
          }
          if (err.status === 413) refuseBody(req);
          sendApiError(res, err);
          return;
        }
        if (req.readableAborted) {
          // The client went away (or sent a body Node's parser refused) while we read it: nothing
          // failed on our side, and there is nobody left to answer.
          logger.debug('management API client aborted its request', {
            method: req.method,
            path: req.url?.split('?')[0],
          });
          res.destroy();
          return;
        }
        logger.error('management API request failed', {
          request_id: requestId,
          method: req.method,
          path: req.url?.split('?')[0],
          err,
        });
        sendApiError(
          res,
          new VaultgateError(
            'internal_error',
            'vaultgate hit an unexpected error; the details are in its log.',
          ),
        );
      })
      .finally(() => {
        logger.debug('api request', {
          request_id: requestId,
          method: req.method,
          path: req.url?.split('?')[0],
          status: res.statusCode,
          ms: Date.now() - started,
        });
      });
  };
}
