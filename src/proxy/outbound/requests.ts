import type http from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '../../errors.js';
import { upstreamTlsSetup } from '../http/errors.js';
import { forward, type ForwardResult } from '../http/forward.js';
import { assignRequestId } from '../../observability/request-id.js';
import { refuseRequest, requestRuleViolation } from '../http/request-rules.js';
import { sendInvalidTarget, sendProxyAuthRequired, sendThrottled } from './answers.js';
import type { Principal } from './auth.js';
import { choiceFor } from './choice.js';
import type { OutboundContext } from './context.js';
import { BadTargetError, parseAbsoluteTarget } from './target.js';

/** Returns the exchange's promise (or nothing when answered at once) for the guard in servers.ts. */
type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> | undefined;

interface LogEntry {
  kind: 'tunnel' | 'absolute';
  principal: Principal | undefined;
  host: string;
  method: string | undefined;
  status: number;
  result: ForwardResult | null;
  startedAt: number;
  /** The SPEC §5 code vaultgate answered with, when it refused the request itself. */
  code?: ErrorCode;
  reason?: string;
}

/**
 * Requests read from inside an intercepted tunnel (origin-form, RFC 9112 §3.2.1), each sent to
 * `https://<CONNECT host:port>` + its path.
 *
 * Deactivation and deletion: the credential is looked up again in the current snapshot before every
 * request, so a credential deactivated or deleted through the API stops working at the next request
 * even on a tunnel opened before, which then answers 407 and closes (the client's next CONNECT gets
 * the 407 at the proxy level). Requests already in flight finish.
 */
export function tunnelRequestHandler(ctx: OutboundContext): Handler {
  return (req, res) => {
    const startedAt = performance.now();
    const requestId = assignRequestId(req, res);
    const tunnel = ctx.tunnels.get(req.socket as Socket);
    if (tunnel === undefined) {
      res.destroy(); // only sockets we emitted reach this server
      return undefined;
    }
    if (req.socket.writableEnded) {
      // Shutdown ended this tunnel after its previous answer, and the client sent another request
      // before it saw the close. Nothing can be answered any more, so it must not reach the upstream
      // either: dropped unseen, it is a plain connection close the client may retry, not a lost request.
      req.socket.destroy();
      return undefined;
    }
    tunnel.requests++;
    tunnel.active++;
    tunnel.response = res;
    res.once('close', () => {
      tunnel.active--;
      tunnel.response = null;
      // Shutdown began during this answer: end the tunnel after it — unless the client already
      // pipelined another request, which is answered (with Connection: close) before Node closes.
      if (ctx.closing && tunnel.active === 0) req.socket.end();
    });
    const principal = ctx.auth.recheck(tunnel.principal);
    if (principal === undefined) {
      sendProxyAuthRequired(res, true);
      logRequest(ctx, requestId, {
        kind: 'tunnel',
        principal: tunnel.principal,
        host: tunnel.target.host,
        method: req.method,
        status: 407,
        result: null,
        startedAt,
        code: 'proxy_auth_required',
        reason: 'credential_inactive_or_deleted',
      });
      return undefined;
    }
    tunnel.principal = principal;
    // SPEC §4: the request rules of §3 (dot segments, transfer codings) hold inside tunnels too.
    const violation = requestRuleViolation(req);
    if (violation !== null) {
      refuseRequest(res, violation);
      const host = tunnel.target.host;
      logRequest(ctx, requestId, {
        kind: 'tunnel',
        principal,
        host,
        method: req.method,
        status: res.statusCode,
        result: null,
        startedAt,
        code: violation.code,
        reason: violation.code,
      });
      return undefined;
    }

    const path = tunnelPath(req.url ?? '/');
    if (path === null) {
      // `OPTIONS *` (RFC 9112 §3.2.4) has no URL to forward to, and anything else is malformed.
      sendInvalidTarget(
        res,
        `The request target ${JSON.stringify((req.url ?? '').slice(0, 200))} cannot be forwarded.`,
      );
      logRequest(ctx, requestId, {
        kind: 'tunnel',
        principal,
        host: tunnel.target.host,
        method: req.method,
        status: res.statusCode,
        result: null,
        startedAt,
        code: 'invalid_target',
        reason: 'invalid_target',
      });
      return undefined;
    }
    // Certificate choice and its TLS context: a failure there is this request's 502
    // upstream_tls_error (answered by the guard in servers.ts), not the process's.
    const choice = upstreamTlsSetup(() => choiceFor(ctx, tunnel, principal, Date.now()));
    // Node then answers with `Connection: close` and closes after it (RFC 9112 §9.6).
    if (ctx.closing) res.shouldKeepAlive = false;
    return forward(
      req,
      res,
      {
        url: new URL(tunnel.originPrefix + path),
        agent: choice.agent,
        // End-to-end: the Host the client wrote is what it means; the connection already goes to the
        // CONNECT target, whatever it says.
        hostHeader: req.headers.host ?? tunnel.defaultHost,
        forwarded: null,
        requestId,
      },
      ctx.forwardOptions,
    ).then((result) =>
      logRequest(ctx, requestId, {
        kind: 'tunnel',
        principal,
        host: tunnel.target.host,
        method: req.method,
        status: res.statusCode,
        result,
        startedAt,
      }),
    );
  };
}

/**
 * Absolute-form requests on the proxy port (`GET http://host/path`, RFC 9112 §3.2.2), authenticated one
 * by one (a keep-alive client may switch credentials between requests) and sent as plain HTTP.
 */
export function absoluteRequestHandler(ctx: OutboundContext): Handler {
  return (req, res) => {
    const startedAt = performance.now();
    const requestId = assignRequestId(req, res);
    const auth = ctx.auth.authenticate(req.headers['proxy-authorization'], req.socket.remoteAddress ?? '');
    if (!auth.ok) {
      // Connection stays open: the client may retry with credentials on it (RFC 9110 §15.5.8).
      if (auth.reason === 'throttled') sendThrottled(res, auth.retryAfter);
      else sendProxyAuthRequired(res, false);
      logRequest(ctx, requestId, {
        kind: 'absolute',
        principal: undefined,
        host: '',
        method: req.method,
        status: res.statusCode,
        result: null,
        startedAt,
        code: auth.reason === 'throttled' ? 'too_many_requests' : 'proxy_auth_required',
        reason: auth.reason,
      });
      return undefined;
    }
    const { principal } = auth;
    // Before parsing: the URL parser would resolve the dot segments this rule refuses.
    const violation = requestRuleViolation(req);
    if (violation !== null) {
      refuseRequest(res, violation);
      logRequest(ctx, requestId, {
        kind: 'absolute',
        principal,
        host: '',
        method: req.method,
        status: res.statusCode,
        result: null,
        startedAt,
        code: violation.code,
        reason: violation.code,
      });
      return undefined;
    }
    let parsed;
    try {
      parsed = parseAbsoluteTarget(req.url ?? '');
    } catch (err) {
      if (!(err instanceof BadTargetError)) throw err;
      sendInvalidTarget(res, err.message);
      logRequest(ctx, requestId, {
        kind: 'absolute',
        principal,
        host: '',
        method: req.method,
        status: 400,
        result: null,
        startedAt,
        code: 'invalid_target',
        reason: 'invalid_target',
      });
      return undefined;
    }
    const { target, path } = parsed;
    if (ctx.closing) res.shouldKeepAlive = false;
    return forward(
      req,
      res,
      {
        url: new URL(target.origin.href.slice(0, -1) + path),
        // Plain HTTP: no TLS, so no client certificate to choose (SPEC §4).
        agent: ctx.pools.agentFor({ origin: target.origin, certificate: null }),
        // RFC 9112 §3.2.2: with absolute-form, the target's authority replaces any Host received.
        hostHeader: target.origin.host,
        forwarded: null,
        requestId,
      },
      ctx.forwardOptions,
    ).then((result) =>
      logRequest(ctx, requestId, {
        kind: 'absolute',
        principal,
        host: target.host,
        method: req.method,
        status: res.statusCode,
        result,
        startedAt,
      }),
    );
  };
}

/**
 * The path and query to append to the tunnel's origin: origin-form as is; absolute-form (which RFC 9112
 * §3.2.2 says a server must accept) reduced to its path, since the tunnel fixes the authority.
 */
function tunnelPath(raw: string): string | null {
  if (raw.startsWith('/')) return raw;
  if (!/^https?:\/\//i.test(raw)) return null;
  try {
    const url = new URL(raw);
    return url.pathname + url.search;
  } catch {
    return null;
  }
}

/** One line per request; names the certificate presented by id only, never its key. */
function logRequest(ctx: OutboundContext, requestId: string, e: LogEntry): void {
  const r = e.result;
  ctx.metrics.request(
    'outbound',
    e.principal?.vault.id ?? '',
    e.status,
    r?.errorCode ?? e.code ?? '',
    e.startedAt,
  );
  ctx.metrics.outbound(e.kind, e.status);
  const fields = {
    proxy: 'outbound',
    mode: e.kind,
    request_id: requestId,
    vault_id: e.principal?.vault.id ?? null,
    credential_id: e.principal?.credential.id ?? null,
    host: e.host,
    method: e.method,
    status: e.status,
    upstream_status: r?.status ?? null,
    certificate_id: r?.certificateId ?? null,
    error: r?.errorCode ?? e.reason ?? null,
    error_detail: r?.errorMessage ?? undefined,
    reused_connection: r?.reusedConnection,
    client_aborted: r?.clientAborted || undefined,
    bytes_up: r?.bytesUp,
    bytes_down: r?.bytesDown,
    duration_ms: Math.round((performance.now() - e.startedAt) * 100) / 100,
  };
  if (r?.errorCode) ctx.logger.warn('outbound request failed', fields);
  else ctx.logger.info('outbound request', fields);
}
