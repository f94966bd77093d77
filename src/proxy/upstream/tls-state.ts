import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/**
 * What we learned about one upstream TLS connection while it was being set up. A failed handshake
 * destroys the socket before its 'error' event runs, so anything the classifier needs must be
 * captured while the handshake is still in progress — hence this record, filled in by the pool.
 */
export interface UpstreamTlsState {
  /**
   * The server's first flight (ServerHello … ServerHelloDone in TLS 1.2, … Finished in TLS 1.3) was
   * processed: whatever fails afterwards happened after the server had seen our ClientHello and liked
   * it, so it is not a cipher/group/protocol mismatch.
   */
  serverFlightSeen: boolean;
  /** The server sent a CertificateRequest (see `noteServerFlight`). */
  certificateRequested: boolean;
  /** The handshake completed on our side ('secureConnect'). */
  secure: boolean;
  /** Negotiated protocol ('TLSv1.2', 'TLSv1.3') once secure. */
  protocol: string | null;
}

const states = new WeakMap<Socket, UpstreamTlsState>();

export function tlsStateOf(socket: Socket | null | undefined): UpstreamTlsState | undefined {
  return socket ? states.get(socket) : undefined;
}

export function trackTlsState(socket: TLSSocket): UpstreamTlsState {
  const state: UpstreamTlsState = {
    serverFlightSeen: false,
    certificateRequested: false,
    secure: false,
    protocol: null,
  };
  states.set(socket, state);
  return state;
}

/**
 * Records whether the server asked for a client certificate. OpenSSL computes the *shared* signature
 * algorithms on the client only when it parses a CertificateRequest (its `signature_algorithms` list
 * is the only place a TLS 1.2 or 1.3 server tells the client which signatures it accepts; the
 * ServerKeyExchange/CertificateVerify signatures are checked against the client's own list). So
 * `getSharedSigalgs()` is non-empty exactly when a CertificateRequest arrived. It is read at two
 * moments: in the 'OCSPResponse' event — which OpenSSL fires from `tls_process_initial_server_flight`,
 * i.e. after ServerHelloDone and *before* we send our (possibly empty) Certificate, so the state is
 * known even when the server then kills the TLS 1.2 handshake with an alert — and at 'secureConnect'.
 */
export function noteServerFlight(socket: TLSSocket, state: UpstreamTlsState): void {
  state.serverFlightSeen = true;
  if (!state.certificateRequested) state.certificateRequested = socket.getSharedSigalgs().length > 0;
}
