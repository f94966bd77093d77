import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ERROR_STATUS, type ErrorCode } from '../../errors.js';
import { unexpectedFailure } from '../http/errors.js';
import { AUTH_MESSAGE, PROXY_AUTHENTICATE, refuseConnect, throttledMessage } from './answers.js';
import type { OutboundContext } from './context.js';
import { intercept } from './intercept.js';
import { BadTargetError, parseConnectTarget } from './target.js';

type ConnectListener = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * `CONNECT host:port` (RFC 9110 §9.3.6) on either proxy port: authenticate, validate the target, then
 * intercept. Refusals are complete HTTP answers on the raw socket, which is then closed.
 */
export function connectHandler(ctx: OutboundContext, tunnelServer: http.Server): ConnectListener {
  const handle = connectRequest(ctx, tunnelServer);
  return (req, socket, head) => {
    // Node lets go of the socket for CONNECT: without a listener, a reset would be an uncaught error.
    socket.on('error', () => socket.destroy());
    try {
      handle(req, socket, head);
    } catch (err) {
      // The last-resort guard: one CONNECT that throws ends that tunnel, never the process.
      const { code, message } = unexpectedFailure(err);
      const untouched = (socket as Socket).bytesWritten === 0;
      ctx.logger.error('outbound CONNECT failed unexpectedly; it was ended, the process goes on', {
        host: req.url,
        error: code,
        answered: untouched,
        err,
        stack: (err as Error)?.stack
          ?.split('\n')
          .slice(1, 9)
          .map((l) => l.trim()),
      });
      refused(ctx, '', code, undefined);
      if (untouched) refuseConnect(socket, code, message);
      else socket.destroy();
    }
  };
}

function connectRequest(ctx: OutboundContext, tunnelServer: http.Server): ConnectListener {
  return (req, socket, head) => {
    const started = performance.now();
    const clientAddress = req.socket.remoteAddress ?? '';
    const auth = ctx.auth.authenticate(req.headers['proxy-authorization'], clientAddress);
    if (!auth.ok) {
      const throttled = auth.reason === 'throttled';
      if (throttled) {
        refuseConnect(socket, 'too_many_requests', throttledMessage(auth.retryAfter), {
          'Retry-After': String(auth.retryAfter),
        });
      } else {
        refuseConnect(socket, 'proxy_auth_required', AUTH_MESSAGE, {
          'Proxy-Authenticate': PROXY_AUTHENTICATE,
        });
      }
      ctx.logger.info('outbound CONNECT refused', {
        host: req.url,
        status: throttled ? 429 : 407,
        error: auth.reason,
        client: clientAddress,
      });
      refused(ctx, '', throttled ? 'too_many_requests' : 'proxy_auth_required', started);
      return;
    }
    const { principal } = auth;
    let target;
    /** Answers the CONNECT with `code` instead of 200, logged and counted once. */
    const refuse = (code: 'invalid_target' | 'upstream_blocked', message: string): void => {
      const status = ERROR_STATUS[code];
      refuseConnect(socket, code, message);
      ctx.logger.info('outbound CONNECT refused', {
        vault_id: principal.vault.id,
        credential_id: principal.credential.id,
        host: req.url,
        status,
        error: code,
      });
      refused(ctx, principal.vault.id, code, started);
    };
    try {
      target = parseConnectTarget(req.url);
    } catch (err) {
      if (!(err instanceof BadTargetError)) throw err;
      refuse('invalid_target', err.message);
      return;
    }
    // An IP literal is refused before the 200 (SPEC §4 upstream_blocked); a name is checked on the
    // addresses it resolves to when a request inside the tunnel connects (blocked-ranges.ts), so no
    // lookup here can disagree with the one that connects.
    const blocked =
      target.kind === 'ip' ? ctx.pools.blocker.refusal(target.host, target.host, target.port) : null;
    if (blocked !== null) {
      refuse('upstream_blocked', `${blocked.message}.`);
      return;
    }
    if (ctx.closing) {
      socket.destroy();
      return;
    }
    intercept(ctx, tunnelServer, { socket, head, principal, target, clientAddress });
  };
}

/** A refused CONNECT is one outbound request answered with a vaultgate code (src/observability/proxy-metrics.ts). */
function refused(ctx: OutboundContext, vaultId: string, code: ErrorCode, started: number | undefined): void {
  const status = ERROR_STATUS[code];
  ctx.metrics.request('outbound', vaultId, status, code, started);
  ctx.metrics.outbound('connect', status);
}
