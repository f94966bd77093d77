import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { normaliseHost } from '../../hosts/names.js';
import type { Principal } from './auth.js';
import type { OutboundContext, Tunnel } from './context.js';
import type { ProxyTarget } from './target.js';

/** RFC 9110 §9.3.6: a 2xx to CONNECT carries no Content-Length or Transfer-Encoding; the tunnel starts after it. */
const ESTABLISHED = 'HTTP/1.1 200 Connection Established\r\n\r\n';
/** A client that opened a tunnel but never finishes its handshake must not hold the socket for long. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * TLS alerts an OpenSSL-based client (curl, Python, Go's crypto/tls sends the same) raises when it does
 * not accept the certificate it was shown (RFC 8446 §6.2): unknown_ca for an untrusted issuer, the
 * others for a name mismatch or a certificate it refuses for another reason.
 */
const CERTIFICATE_ALERT =
  /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|ACCESS_DENIED)/;

export interface InterceptRequest {
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly principal: Principal;
  readonly target: ProxyTarget;
  readonly clientAddress: string;
}

/**
 * Answers an authenticated CONNECT with 200 and terminates the client's TLS inside the tunnel with a
 * leaf for the host, signed by the vault's outbound CA; once the handshake completes, the decrypted
 * socket is handed to `tunnelServer` (an unlistened http.Server), which reads keep-alive HTTP/1.1
 * requests from it like from any connection.
 */
export function intercept(ctx: OutboundContext, tunnelServer: http.Server, request: InterceptRequest): void {
  const { socket, head, principal, target } = request;
  const minter = ctx.minters.for(principal.vault);
  // Minting (only for a host not yet cached) overlaps with the 200 and the client's ClientHello.
  const context = minter.contextFor(target.host);
  socket.write(ESTABLISHED);

  // Until the TLS layer takes the socket over, its bytes (the ClientHello, possibly sent right behind
  // the CONNECT as `head`) are collected here, and a client that hangs up is noticed: an EOF read
  // before the handover would otherwise never reach the TLS layer, leaving a dead tunnel open.
  const early: Buffer[] = head.length > 0 ? [head] : [];
  let gone = false;
  const onData = (chunk: Buffer): void => {
    early.push(chunk);
  };
  const onGone = (): void => {
    gone = true;
  };
  socket.on('data', onData);
  socket.once('end', onGone);
  socket.once('close', onGone);

  context
    .then(
      (secureContext) => {
        socket.off('data', onData);
        socket.off('end', onGone);
        socket.off('close', onGone);
        if (gone || socket.destroyed) {
          socket.destroy();
          return;
        }
        socket.pause();
        // TLSSocket feeds what is buffered on the socket to OpenSSL before reading on.
        if (early.length > 0)
          socket.unshift(early.length === 1 ? (early[0] as Buffer) : Buffer.concat(early));
        terminate(ctx, tunnelServer, request, secureContext);
      },
      (err: unknown) => {
        ctx.logger.error('could not mint an interception certificate', {
          vault_id: principal.vault.id,
          host: target.host,
          err,
        });
        socket.destroy();
      },
    )
    // Last resort: an exception while taking the tunnel over ends this tunnel, not the process.
    .catch((err: unknown) => {
      ctx.logger.error('setting up an intercepted tunnel failed unexpectedly; it was closed', {
        vault_id: principal.vault.id,
        host: target.host,
        err,
      });
      socket.destroy();
    });
}

/** The host (name or IP address) an SNI names, or null when it names none (a `host:port`, garbage). */
function sniHost(servername: string): string | null {
  try {
    return normaliseHost(servername).name;
  } catch {
    return null;
  }
}

function terminate(
  ctx: OutboundContext,
  tunnelServer: http.Server,
  { socket, principal, target, clientAddress }: InterceptRequest,
  connectContext: tls.SecureContext,
): void {
  const minter = ctx.minters.for(principal.vault);
  let sni: string | null = null;
  const tlsSocket = new tls.TLSSocket(socket as Socket, {
    isServer: true,
    // Used when the client sends no SNI (RFC 6066 §3 forbids it for IP literals): the CONNECT host.
    secureContext: connectContext,
    // Only HTTP/1.1 is served inside the tunnel; a client offering h2 falls back to it.
    ALPNProtocols: ['http/1.1'],
    SNICallback: (servername, done) => {
      sni = servername;
      // Everything here runs inside OpenSSL's callback: a throw (bad name, minting) fails this
      // handshake only.
      try {
        const name = sniHost(servername);
        // Not a host name (Go's hey sends the request's `host:port`): answered as if no SNI came, with
        // the CONNECT host's certificate, as mitmproxy does. The client still verifies what it gets.
        if (name === null || name === target.host) {
          done(null, connectContext);
          return;
        }
        // The client named a different host than it CONNECTed to: it verifies our leaf against SNI.
        minter.contextFor(name).then(
          (c) => done(null, c),
          (err: Error) => done(err),
        );
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    },
  });
  // The socket came from an http.Server, which opens its connections half-open, and a TLSSocket
  // inherits that: a client that hung up right after the handshake (Go's transport does, for a
  // connection it dialled and no longer needs) would leave the tunnel open for good, counted against
  // the client's address. Closed at once instead, as the HTTP server would close a plain connection.
  tlsSocket.allowHalfOpen = false;

  let secured = false;
  let reported = false;
  const fields = (): Record<string, unknown> => ({
    vault_id: principal.vault.id,
    credential_id: principal.credential.id,
    host: target.host,
    sni,
    client: clientAddress,
  });
  const timer = setTimeout(() => tlsSocket.destroy(), HANDSHAKE_TIMEOUT_MS);
  timer.unref();
  ctx.openTunnels.add(tlsSocket);

  tlsSocket.on('error', (err: NodeJS.ErrnoException) => {
    if (secured || reported) return; // after the handshake, http.Server owns the socket's errors
    reported = true;
    if (CERTIFICATE_ALERT.test(err.code ?? '') || CERTIFICATE_ALERT.test(err.message)) {
      ctx.logger.warn(rejectedLine(target, principal, 'the client rejected'), {
        ...fields(),
        tls_error: err.code,
      });
    } else {
      ctx.logger.info(`TLS handshake with the client failed inside the tunnel to ${target.authority}`, {
        ...fields(),
        err,
      });
    }
  });
  tlsSocket.once('close', () => {
    clearTimeout(timer);
    ctx.openTunnels.delete(tlsSocket);
    if (secured || reported) return;
    // Clients that verify after OpenSSL's handshake (Node's tls, Java) hang up without an alert. If we
    // had its ClientHello (SNI seen), that is what happened; otherwise the client simply left.
    if (sni !== null) {
      ctx.logger.warn(
        rejectedLine(target, principal, 'the client closed the handshake, most likely it rejected'),
        fields(),
      );
    } else {
      ctx.logger.debug('client left before the TLS handshake inside the tunnel completed', fields());
    }
  });
  tlsSocket.once('secure', () => {
    secured = true;
    clearTimeout(timer);
    const tunnel: Tunnel = {
      principal,
      target,
      sni,
      clientAddress,
      originPrefix: target.origin.href.slice(0, -1),
      defaultHost: target.port === 443 ? hostForHeader(target) : `${hostForHeader(target)}:${target.port}`,
      choice: null,
      requests: 0,
      active: 0,
      response: null,
    };
    ctx.tunnels.set(tlsSocket, tunnel);
    try {
      tunnelServer.emit('connection', tlsSocket);
    } catch (err) {
      // Last resort: a throw while handing the tunnel to the HTTP server ends this tunnel only.
      ctx.logger.error(
        'handing an intercepted tunnel to the HTTP server failed unexpectedly; it was closed',
        {
          ...fields(),
          err,
        },
      );
      tlsSocket.destroy();
    }
  });
}

function hostForHeader(target: ProxyTarget): string {
  return target.kind === 'ip' && target.host.includes(':') ? `[${target.host}]` : target.host;
}

function rejectedLine(target: ProxyTarget, principal: Principal, what: string): string {
  return `${what} the interception certificate for ${target.host}; it must trust the vault's outbound CA (GET /api/v1/vaults/${principal.vault.id}/outbound-ca)`;
}
