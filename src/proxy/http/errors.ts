import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERROR_STATUS, type ErrorCode } from '../../errors.js';
import { requestIdOf } from '../../observability/request-id.js';
import type { LogFields, Logger } from '../../observability/logger.js';
import type { UpstreamFailure, UpstreamFailureKind } from '../upstream/classify.js';

/**
 * Answers a data-plane request with a SPEC §5 error: the code's status, `{"error":{code,message}}` and
 * `x-vaultgate-error: <code>` so scripts can tell vaultgate's own errors from the upstream's. Once the
 * response head is out nothing can be said any more; the connection is cut so the client sees a
 * truncated response rather than a silently wrong one.
 */
export function sendError(res: ServerResponse, code: ErrorCode, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (res.destroyed) return;
  const requestId = requestIdOf(res);
  const body = JSON.stringify({
    error: { code, message, ...(requestId === undefined ? {} : { request_id: requestId }) },
  });
  res.writeHead(ERROR_STATUS[code], {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-vaultgate-error': code,
    ...(requestId === undefined ? {} : { 'x-request-id': requestId }),
  });
  res.end(body);
}

/**
 * Thrown (by `upstreamTlsSetup`) when building the TLS side toward the upstream failed: the client
 * certificate's chain and key, or the route's trust settings, could not be turned into a TLS context.
 * The guard answers it with 502 upstream_tls_error instead of a generic 500.
 */
export class UpstreamTlsSetupError extends Error {
  constructor(
    readonly reason: string,
    options: { cause: unknown },
  ) {
    super(`could not set up TLS toward the upstream: ${reason}`, options);
    this.name = 'UpstreamTlsSetupError';
  }
}

/** OpenSSL's one-line reason (`ca md too weak`, `key values mismatch`), never key material. */
function reasonOf(err: unknown): string {
  const e = err as { reason?: unknown; message?: unknown };
  const text =
    typeof e?.reason === 'string' ? e.reason : typeof e?.message === 'string' ? e.message : String(err);
  return text.replace(/\s+/g, ' ').slice(0, 200);
}

/** An error raised by OpenSSL (Node sets `library`, and codes ERR_OSSL_* / ERR_SSL_*). */
function isOpenSslError(err: unknown): boolean {
  const e = err as { library?: unknown; code?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  return typeof e.library === 'string' || (typeof e.code === 'string' && /^ERR_(OSSL|SSL)_/.test(e.code));
}

/**
 * Runs the part of a request that builds the upstream TLS side (`pools.agentFor`, the certificate
 * choice), so that whatever it throws is known to come from there. The upstream client is being
 * rewritten to report such failures itself; this stays as the last line behind it.
 */
export function upstreamTlsSetup<T>(build: () => T): T {
  try {
    return build();
  } catch (err) {
    throw new UpstreamTlsSetupError(reasonOf(err), { cause: err });
  }
}

/**
 * Who reads an error body. `client`: the outbound proxy's, i.e. the customer's own application, which
 * gets the detailed sentence (what failed, which setting to fix). `caller`: the inbound proxy's, i.e.
 * a third party on the network (a card network's callback, or anyone who can reach the port), which
 * gets a generic sentence per failure kind: internal host names, addresses, ports, certificate ids
 * and OpenSSL reasons describe the customer's network and configuration, and stay in the log line.
 */
export type ErrorAudience = 'client' | 'caller';

const SEE_LOG = "vaultgate's operator can find the details in its log.";

/** The sentences an inbound caller gets, one per failure kind (see ErrorAudience). */
const CALLER_MESSAGES: Readonly<Partial<Record<UpstreamFailureKind, string>>> = {
  connect_timeout: `vaultgate could not connect to the upstream service in time; retry later. ${SEE_LOG}`,
  headers_timeout: `The upstream service did not answer in time. ${SEE_LOG}`,
  connection_refused: `vaultgate could not reach the upstream service; retry later. ${SEE_LOG}`,
  dns_failure: `vaultgate could not reach the upstream service; retry later. ${SEE_LOG}`,
  network_unreachable: `vaultgate could not reach the upstream service; retry later. ${SEE_LOG}`,
  connection_reset: `The upstream service closed the connection before it answered; retry later. ${SEE_LOG}`,
  pool_retired: 'The upstream connection was reconfigured while the request waited; retry the request.',
  tls_context: `vaultgate could not set up its TLS connection to the upstream service. ${SEE_LOG}`,
  request_body_timeout:
    'The request body stalled; vaultgate stopped waiting for it. Send the body without pauses.',
  blocked_address: `vaultgate may not connect to the upstream service. ${SEE_LOG}`,
  invalid_response: `The upstream service sent an answer vaultgate cannot pass on. ${SEE_LOG}`,
  client_certificate_required: `The upstream refused the connection for want of a client certificate. ${SEE_LOG}`,
  client_certificate_rejected: `The upstream refused vaultgate's client certificate. ${SEE_LOG}`,
  server_certificate_untrusted: `vaultgate could not verify the upstream's server certificate. ${SEE_LOG}`,
  server_certificate_expired: `vaultgate could not verify the upstream's server certificate. ${SEE_LOG}`,
  server_hostname_mismatch: `vaultgate could not verify the upstream's server certificate. ${SEE_LOG}`,
  tls_negotiation_failed: `The TLS connection to the upstream service failed. ${SEE_LOG}`,
  not_tls: `The TLS connection to the upstream service failed. ${SEE_LOG}`,
  tls_other: `The TLS connection to the upstream service failed. ${SEE_LOG}`,
};

/** The message of an upstream failure for the given audience (the detailed one goes to the log). */
export function failureMessage(failure: UpstreamFailure, audience: ErrorAudience): string {
  if (audience === 'client') return failure.message;
  // A kind added later without a sentence here still gets a generic one, never the detail.
  return CALLER_MESSAGES[failure.kind] ?? `The request to the upstream service failed. ${SEE_LOG}`;
}

/** The SPEC §5 answer for an exception nobody expected while handling one request. */
export function unexpectedFailure(
  err: unknown,
  audience: ErrorAudience = 'client',
): { code: ErrorCode; message: string } {
  if (err instanceof UpstreamTlsSetupError || isOpenSslError(err)) {
    if (audience === 'caller') {
      return {
        code: 'upstream_tls_error',
        message: failureMessage({ kind: 'tls_context', code: 'upstream_tls_error', message: '' }, audience),
      };
    }
    const reason = err instanceof UpstreamTlsSetupError ? err.reason : reasonOf(err);
    return {
      code: 'upstream_tls_error',
      message: `vaultgate could not set up the TLS connection to the upstream (${reason}); the client certificate or upstream_tls settings for this destination cannot be used — replace the certificate or fix the route.`,
    };
  }
  return {
    code: 'internal_error',
    message:
      'vaultgate failed unexpectedly while handling this request and has logged why; other requests are not affected. Retry, and report it with the time of the request if it persists.',
  };
}

/** The log fields of an unexpected error: name, message, code and where it was thrown. */
function errorFields(err: unknown): LogFields {
  const e = err instanceof Error ? err : new Error(String(err));
  const cause = e.cause instanceof Error ? e.cause : undefined;
  // The stack's first line repeats the message; the frames are what a bug report needs.
  const frames = (cause ?? e).stack
    ?.split('\n')
    .slice(1, 9)
    .map((l) => l.trim());
  return { err: e, cause, stack: frames };
}

/**
 * Ends one request after an unexpected exception, and nothing else: a SPEC §5 answer if nothing has
 * been sent yet, else the connection is cut (a truncated answer, never a silently wrong one).
 */
export function failRequest(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  fields: LogFields = {},
  audience: ErrorAudience = 'client',
): ErrorCode {
  const { code, message } = unexpectedFailure(err, audience);
  const answered = !res.headersSent && !res.destroyed && !res.writableEnded;
  logger.error('request failed unexpectedly; it was ended, the process goes on', {
    ...fields,
    method: req.method,
    host: req.headers.host,
    error: code,
    answered,
    ...errorFields(err),
  });
  // The upload, if any, is no longer wanted: drop what is left of it instead of leaving it unread.
  req.unpipe();
  req.resume();
  try {
    if (answered) sendError(res, code, message);
    // An answer already complete (end() called, e.g. a stray write after it) is left to finish.
    else if (!res.writableEnded) res.destroy();
  } catch {
    req.socket.destroy();
  }
  return code;
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * The last-resort guard around a request handler: a synchronous throw, a rejected promise, or an
 * 'error' emitted on the request or response without a listener of its own ends that request (see
 * failRequest) and is logged — it never reaches the process, where it would take down every other
 * request, the API and /healthz with it.
 */
export function guardRequests(
  logger: Logger,
  handler: RequestHandler,
  counted?: (code: ErrorCode) => void,
  audience: ErrorAudience = 'client',
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // An 'error' with no listener is thrown by the emitter (e.g. a write after end()): caught here.
    // Node's own errors on an aborted request (ECONNRESET) are not emitted without a listener.
    const onError = (err: unknown): void => {
      const code = failRequest(logger, req, res, err, {}, audience);
      counted?.(code);
    };
    res.on('error', onError);
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return; // one answer and one log line per request
      failed = true;
      onError(err);
    };
    try {
      const result = handler(req, res);
      if (result instanceof Promise) result.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}

/**
 * The same guard for listeners on connection-level events (CONNECT, TLS sessions, client errors):
 * an exception ends that one socket and is logged.
 */
export function guardSocketListener<A extends unknown[]>(
  logger: Logger,
  what: string,
  socketOf: (...args: A) => Duplex | undefined,
  listener: (...args: A) => unknown,
): (...args: A) => void {
  return (...args: A) => {
    const fail = (err: unknown): void => {
      logger.error(`${what} failed unexpectedly; that connection was closed, the process goes on`, {
        ...errorFields(err),
      });
      try {
        socketOf(...args)?.destroy();
      } catch {
        // nothing more can be done for this connection
      }
    };
    try {
      const result = listener(...args);
      if (result instanceof Promise) result.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}
