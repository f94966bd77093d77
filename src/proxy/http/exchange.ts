import type http from 'node:http';
import type { ErrorCode } from '../../errors.js';
import {
  classifyUpstreamFailure,
  UpstreamTimeoutError,
  type UpstreamFailure,
  type UpstreamFailureKind,
} from '../upstream/classify.js';
import type { FairGate, GateTicket } from '../upstream/fair-gate.js';
import { failureMessage, sendError, type ErrorAudience } from './errors.js';
import type { ForwardedInfo } from './headers.js';

export interface ForwardTarget {
  /** The full upstream URL: scheme, host, port, path and query. */
  url: URL;
  /**
   * The request target sent upstream, byte for byte; defaults to `url.pathname + url.search`. A
   * reverse proxy passes the caller's target here because a WHATWG URL rewrites it: it resolves dot
   * segments (`/v1/../admin` → `/admin`, escaping a route's path prefix), turns `\` into `/` and
   * percent-encodes `'`, `"`, `{`… — which breaks signatures computed over the raw URL.
   */
  path?: string;
  /** From `UpstreamPools.agentFor` — fetch it per request, do not keep it across snapshots. */
  agent: http.Agent;
  /** The Host header the upstream gets (usually `url.host`). */
  hostHeader: string;
  /** Sets X-Forwarded-*; null leaves those headers as the client sent them. */
  forwarded: ForwardedInfo | null;
  /** The request's id (request-id.ts): sent upstream and returned to the client. */
  requestId?: string;
}

export interface ForwardOptions {
  /** No connection (TCP + TLS handshake) within this long → upstream_timeout. */
  connectTimeoutMs?: number;
  /** No response headers within this long of the last sign of progress → upstream_timeout. */
  headersTimeoutMs?: number;
  /**
   * A request body that sends nothing for this long → 408 request_timeout, the upstream request is
   * aborted and its connection freed (VAULTGATE_REQUEST_BODY_TIMEOUT_MS). Time the upstream spends not
   * reading (backpressure) does not count against the client.
   */
  bodyTimeoutMs?: number;
  /**
   * Who reads the error bodies (errors.ts): `caller` (inbound) gets generic sentences, `client`
   * (outbound, the default) the detailed ones. The detail is in the result either way, for the log.
   */
  audience?: ErrorAudience;
}

/** Everything the caller's one log line per request needs. */
export interface ForwardResult {
  /** The upstream's status as relayed to the client; null when none was received. */
  status: number | null;
  errorCode: ErrorCode | null;
  errorKind: UpstreamFailureKind | null;
  errorMessage: string | null;
  /** The client certificate of the pool used, i.e. the identity of the upstream connection. */
  certificateId: string | null;
  /** Request body bytes read from the client (and sent upstream). */
  bytesUp: number;
  /** Response body bytes received from the upstream (and relayed). */
  bytesDown: number;
  durationMs: number;
  reusedConnection: boolean;
  /** The client went away before the response was complete; the upstream request was aborted. */
  clientAborted: boolean;
}

/** How the request body is framed. Node's server accepts only `chunked` as a transfer coding. */
export type BodyKind = 'none' | 'length' | 'chunked';

/**
 * RFC 9110 §15.2.2: a server sends 101 only in answer to an Upgrade request, and vaultgate never sends
 * one upstream (Upgrade is hop-by-hop). Whatever follows a 101 is not HTTP any more: the request is
 * answered 502 and that upstream connection closed, instead of waiting for a final answer that will
 * not come (or relaying a 101 the client did not ask for either).
 */
export const UNSOLICITED_UPGRADE: UpstreamFailure = {
  kind: 'invalid_response',
  code: 'upstream_unreachable',
  message:
    'the upstream answered 101 Switching Protocols to a request that asked for no protocol change; vaultgate closed that connection',
};

/** Idempotent, bodiless requests that hit a pooled connection the server had just closed. */
export const MAX_ATTEMPTS = 3;

/**
 * What both upstream clients share for one forwarded request (forward-node.ts, forward-undici.ts):
 * admission through the pool's fair gate, the connect and headers deadlines, the request body idle
 * deadline, the answer on failure and the result. A subclass sends the request once `begin` runs
 * (a slot is held) and ends the exchange with `fail` or `finish`.
 */
export abstract class Exchange {
  /** Set by a subclass when the upstream broke mid-response (so a closing client is a consequence, not the cause). */
  protected broke = false;
  private startedAt = performance.now();
  protected readonly connectTimeoutMs: number;
  protected readonly headersTimeoutMs: number;
  protected readonly bodyTimeoutMs: number;
  private readonly audience: ErrorAudience;
  private ticket: GateTicket | null = null;
  private bodyTimer: NodeJS.Timeout | null = null;
  private timer: NodeJS.Timeout | null = null;
  protected responded = false;
  protected done = false;
  protected readonly result: ForwardResult;

  constructor(
    protected readonly req: http.IncomingMessage,
    protected readonly res: http.ServerResponse,
    protected readonly target: ForwardTarget,
    protected readonly body: BodyKind,
    certificateId: string | null,
    options: ForwardOptions,
    private readonly resolve: (result: ForwardResult) => void,
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.headersTimeoutMs = options.headersTimeoutMs ?? 60_000;
    this.bodyTimeoutMs = options.bodyTimeoutMs ?? 30_000;
    this.audience = options.audience ?? 'client';
    this.result = {
      status: null,
      errorCode: null,
      errorKind: null,
      errorMessage: null,
      certificateId,
      bytesUp: 0,
      bytesDown: 0,
      durationMs: 0,
      reusedConnection: false,
      clientAborted: false,
    };
  }

  start(gate: FairGate | null): void {
    this.res.once('close', () => this.onClientClose());
    if (gate === null) {
      this.begin();
      return;
    }
    // The connect deadline covers the wait for a slot too, as it covered the agent's own queue.
    this.arm('connect', this.connectTimeoutMs);
    this.ticket = gate.acquire(clientKeyOf(this.req), () => this.begin());
  }

  /**
   * Takes over a request another exchange could not complete (forward-undici.ts), before anything
   * was answered: its pool slot and start time pass here, and this exchange sends the request anew.
   */
  adopt(from: Exchange): void {
    this.ticket = from.ticket;
    from.ticket = null;
    this.startedAt = from.startedAt;
    from.done = true;
    from.disarm();
    from.clearBodyTimer();
    this.res.once('close', () => this.onClientClose());
    this.begin();
  }

  /** Runs once a slot in the pool is ours: sends the request. */
  protected abstract begin(): void;

  /**
   * A deadline passed with the request sent (or being sent): abort it with `err`, whose failure the
   * subclass then reports through its error path. Returns false when nothing was sent yet.
   */
  protected abstract abortOnTimeout(err: UpstreamTimeoutError): boolean;

  /** The upstream has stopped reading the body (backpressure): the client is not the one silent. */
  protected abstract upstreamNotReading(): boolean;

  /** The body will not be read to its end: stop sending it and abort the upstream request. */
  protected abstract abandonUpstream(): void;

  /** The client went away: abort the upstream request. */
  protected abstract abortForClient(): void;

  /**
   * Counts the body and watches it for silence (bodyTimeoutMs): without this, a few hundred
   * connections sending one byte each would hold every pooled upstream connection indefinitely.
   */
  protected watchBody(): void {
    this.bodyTimer = setTimeout(() => this.onBodyIdle(), this.bodyTimeoutMs);
    this.req.on('data', (chunk: Buffer) => {
      this.result.bytesUp += chunk.length;
      this.bodyTimer?.refresh();
      // A body still arriving is progress: a long upload must not trip the headers timeout.
      if (!this.responded) this.timer?.refresh();
    });
    this.req.once('end', () => this.clearBodyTimer());
  }

  private onBodyIdle(): void {
    this.bodyTimer = null;
    if (this.done || this.req.complete) return;
    if (this.upstreamNotReading()) {
      this.bodyTimer = setTimeout(() => this.onBodyIdle(), this.bodyTimeoutMs);
      return;
    }
    this.req.unpipe();
    // The rest of the body will not be read: the connection cannot carry another request.
    this.res.shouldKeepAlive = false;
    this.fail({
      kind: 'request_body_timeout',
      code: 'request_timeout',
      message: `the request body sent nothing for ${this.bodyTimeoutMs / 1000} s; vaultgate stopped waiting for it and aborted the upstream request`,
    });
    this.abandonUpstream();
    this.req.socket.destroySoon();
  }

  private clearBodyTimer(): void {
    if (this.bodyTimer !== null) clearTimeout(this.bodyTimer);
    this.bodyTimer = null;
  }

  protected arm(phase: 'connect' | 'headers', ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const err = new UpstreamTimeoutError(phase, ms);
      if (this.abortOnTimeout(err)) return;
      // Still waiting for a slot in a saturated pool: nothing was sent, so answer here.
      this.fail(
        classifyUpstreamFailure(err, { certificateId: this.result.certificateId, freshConnection: true }),
      );
    }, ms);
  }

  /** Progress (a 100 Continue, the request fully written): the current deadline starts again. */
  protected refreshDeadline(): void {
    this.timer?.refresh();
  }

  protected disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The deadline armed for the current phase, if any (the first attempt's started in start()). */
  protected get armed(): boolean {
    return this.timer !== null;
  }

  private onClientClose(): void {
    if (this.res.writableFinished || this.done) return;
    if (!this.broke) this.result.clientAborted = true;
    this.abortForClient();
  }

  protected record(failure: UpstreamFailure): void {
    this.result.errorCode = failure.code;
    this.result.errorKind = failure.kind;
    this.result.errorMessage = failure.message;
  }

  protected fail(failure: UpstreamFailure): void {
    this.record(failure);
    sendError(this.res, failure.code, failureMessage(failure, this.audience));
    this.finish();
  }

  protected finish(): void {
    if (this.done) return;
    this.done = true;
    this.disarm();
    this.clearBodyTimer();
    // Frees the pool slot (or leaves the queue), letting the next client in turn send.
    this.ticket?.release();
    this.ticket = null;
    this.onFinish();
    this.result.durationMs = performance.now() - this.startedAt;
    this.resolve(this.result);
  }

  /** Hook for the subclass: give back what the exchange held (an undici client). */
  protected onFinish(): void {}
}

/**
 * Whom a request counts against for pool fairness: its client's address, IPv6 by /64 (one host
 * usually holds a whole /64, so counting single addresses would let it take many turns).
 */
export function clientKeyOf(req: http.IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  if (!address.includes(':') || address.startsWith('::ffff:')) return address;
  const [head = '', tail] = address.split('::');
  const groups = head === '' ? [] : head.split(':');
  if (tail !== undefined && groups.length < 4) {
    const rest = tail === '' ? [] : tail.split(':');
    const zeros = 8 - groups.length - rest.length;
    groups.push(...Array<string>(Math.max(0, zeros)).fill('0'), ...rest);
  }
  return `${groups.slice(0, 4).join(':')}::/64`;
}
