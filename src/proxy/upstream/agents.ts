import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { portLookup, refusedLiteral } from './blocked-ranges.js';
import { PoolRetiredError, TlsContextError } from './classify.js';
import { watchHandshake, type HandshakeCounters } from './connector.js';
import type { FairGate } from './fair-gate.js';
import type { Lane } from './lane.js';
import type { UpstreamTarget } from './pools.js';

/**
 * The agents of the pool map (pools.ts): each pool is one of these, carrying its fair gate and its
 * undici lane, and serving itself the requests forward() keeps on http.request.
 */

/**
 * An https.Agent bound to a single (origin, client certificate, trust) triple. Its
 * SecureContext — the parsed certificate chain, key and trust store — is built once here instead of
 * by `tls.connect` on every new connection, which would re-parse ~140 root certificates each time.
 */
export class TlsPoolAgent extends https.Agent {
  retired = false;
  evicted = false;
  lastUsed = performance.now();
  /** The undici connections of this pool (lane.ts); set right after construction. */
  lane!: Lane;

  constructor(
    options: https.AgentOptions,
    readonly certificateId: string | null,
    private readonly counters: HandshakeCounters,
    readonly gate: FairGate,
    readonly target: UpstreamTarget,
    /** The shared context's key (released when the pool closes), or why there is no context. */
    readonly context: string | TlsContextError,
  ) {
    super(options);
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    if (this.retired) {
      // Only a request queued (maxSockets reached) before the certificate was deleted gets here;
      // opening a connection now would present a deleted certificate (SPEC §4), so it fails instead.
      callback?.(new PoolRetiredError(), undefined as unknown as Duplex);
      return undefined;
    }
    if (this.context instanceof TlsContextError) {
      callback?.(this.context, undefined as unknown as Duplex);
      return undefined;
    }
    const port = Number(options.port ?? 443);
    const blocked = refusedLiteral(options.host ?? options.hostname, port, options.lookup);
    if (blocked !== null) {
      callback?.(blocked, undefined as unknown as Duplex);
      return undefined;
    }
    // requestOCSP: see watchHandshake (connector.ts).
    const withOcsp: https.RequestOptions & Pick<tls.TLSSocketOptions, 'requestOCSP'> = {
      ...options,
      ...withPortLookup(options.lookup, port),
      requestOCSP: true,
    };
    // https.Agent's createConnection is tls.connect, so the Duplex it returns is a TLSSocket.
    const socket = super.createConnection(withOcsp, callback) as tls.TLSSocket;
    watchHandshake(socket, this.counters);
    return socket;
  }
}

export class PlainPoolAgent extends http.Agent {
  readonly certificateId = null;
  evicted = false;
  lastUsed = performance.now();
  lane!: Lane;

  constructor(
    options: http.AgentOptions,
    readonly gate: FairGate,
    readonly target: UpstreamTarget,
  ) {
    super(options);
  }

  override createConnection(
    options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const port = Number(options.port ?? 80);
    const blocked = refusedLiteral(options.host ?? options.hostname, port, options.lookup);
    if (blocked !== null) {
      callback?.(blocked, undefined as unknown as Duplex);
      return undefined;
    }
    return super.createConnection({ ...options, ...withPortLookup(options.lookup, port) }, callback);
  }
}

export type PoolAgent = TlsPoolAgent | PlainPoolAgent;

/** The agent's blocking lookup narrowed to the port connected to (blocked-ranges.ts portLookup). */
function withPortLookup(lookup: unknown, port: number): { lookup?: http.AgentOptions['lookup'] } {
  const narrowed = portLookup(lookup, port);
  return narrowed === undefined ? {} : { lookup: narrowed as http.AgentOptions['lookup'] };
}

export function isPoolAgent(agent: http.Agent): agent is PoolAgent {
  return agent instanceof TlsPoolAgent || agent instanceof PlainPoolAgent;
}

export function retire(agent: PoolAgent): void {
  if (agent instanceof TlsPoolAgent) agent.retired = true;
  agent.lane.retire();
  // Runs before the agent's own 'free' handler, which would otherwise hand the connection to a
  // queued request or keep it: a destroyed socket is no longer writable, so that handler skips it.
  agent.prependListener('free', (socket: Duplex) => socket.destroy());
  for (const sockets of Object.values(agent.freeSockets)) {
    for (const socket of sockets ?? []) socket.destroy();
  }
}

/** Nothing in flight or waiting, neither in the gate nor in the agent (idle connections may remain). */
export function isIdle(agent: PoolAgent): boolean {
  if (agent.gate.inUse > 0 || agent.gate.waitingCount > 0 || agent.lane.busy > 0) return false;
  const busy = Object.values(agent.sockets).some((list) => list !== undefined && list.length > 0);
  const queued = Object.values(agent.requests).some((list) => list !== undefined && list.length > 0);
  return !busy && !queued;
}

export function hasIdleConnections(agent: PoolAgent): boolean {
  if (agent.lane.hasIdleConnections()) return true;
  return Object.values(agent.freeSockets).some((list) => list !== undefined && list.length > 0);
}
