import http from 'node:http';
import type { Socket } from 'node:net';
import { finished, type Readable, type Writable } from 'node:stream';
import type { ErrorCode } from '../../errors.js';
import {
  classifyUpstreamFailure,
  UpstreamTimeoutError,
  type UpstreamFailure,
  type UpstreamFailureKind,
} from '../upstream/classify.js';
import type { GateTicket } from '../upstream/fair-gate.js';
import { certificateIdOf, currentAgent, gateOf } from '../upstream/pools.js';
import { tlsStateOf } from '../upstream/tls-state.js';
import { sendError } from './errors.js';
import {
  clientResponseHeaders,
  trailerPairs,
  upstreamRequestHeaders,
  type ForwardedInfo,
} from './headers.js';

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

/** Idempotent, bodiless requests that hit a pooled connection the server had just closed. */
const MAX_ATTEMPTS = 3;
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE']);

/**
 * Forwards one request and streams both bodies with backpressure. Resolves when the exchange is over;
 * never rejects (failures are answered with a SPEC §5 error and reported in the result).
 *
 * What the caller must wire: register the same handler for the server's `checkContinue` event as for
 * `request` (`server.on('checkContinue', handler)`). Then `Expect: 100-continue` is forwarded and the
 * client gets its 100 Continue only when the upstream sends one (or its final answer instead, e.g.
 * 401 or 413, without the body ever being uploaded). Without that listener Node answers 100 at once
 * and the upstream's 100 is relayed as a second, harmless interim response (RFC 9110 §15.2).
 */
export function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  target: ForwardTarget,
  options: ForwardOptions = {},
): Promise<ForwardResult> {
  return new Promise((resolve) => new Exchange(req, res, target, options, resolve).start());
}

class Exchange {
  private readonly startedAt = performance.now();
  private readonly body: 'none' | 'length' | 'chunked';
  private readonly connectTimeoutMs: number;
  private readonly headersTimeoutMs: number;
  private readonly bodyTimeoutMs: number;
  private readonly agent: http.Agent;
  private ticket: GateTicket | null = null;
  private bodyTimer: NodeJS.Timeout | null = null;
  private upstream: http.ClientRequest | null = null;
  private socket: Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempts = 0;
  private responded = false;
  private upstreamBroke = false;
  private done = false;
  private readonly result: ForwardResult;

  constructor(
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    private readonly target: ForwardTarget,
    options: ForwardOptions,
    private readonly resolve: (result: ForwardResult) => void,
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.headersTimeoutMs = options.headersTimeoutMs ?? 60_000;
    this.bodyTimeoutMs = options.bodyTimeoutMs ?? 30_000;
    this.agent = currentAgent(target.agent);
    // Node's server accepts only `chunked` as a request transfer coding, and never both fields.
    this.body =
      req.headers['transfer-encoding'] !== undefined
        ? 'chunked'
        : req.headers['content-length'] !== undefined
          ? 'length'
          : 'none';
    this.result = {
      status: null,
      errorCode: null,
      errorKind: null,
      errorMessage: null,
      certificateId: certificateIdOf(this.agent),
      bytesUp: 0,
      bytesDown: 0,
      durationMs: 0,
      reusedConnection: false,
      clientAborted: false,
    };
  }

  start(): void {
    this.res.once('close', () => this.onClientClose());
    const gate = gateOf(this.agent);
    if (gate === null) {
      this.begin();
      return;
    }
    // The connect deadline covers the wait for a slot too, as it covered the agent's own queue.
    this.arm('connect', this.connectTimeoutMs);
    this.ticket = gate.acquire(clientKeyOf(this.req), () => this.begin());
  }

  /** Runs once a slot in the pool is ours: sends the request and starts streaming the body. */
  private begin(): void {
    if (this.done) return;
    const upstream = this.send();
    if (this.body === 'none') return;
    this.bodyTimer = setTimeout(() => this.onBodyIdle(), this.bodyTimeoutMs);
    this.req.on('data', (chunk: Buffer) => {
      this.result.bytesUp += chunk.length;
      this.bodyTimer?.refresh();
      // A body still arriving is progress: a long upload must not trip the headers timeout.
      if (!this.responded) this.timer?.refresh();
    });
    this.req.pipe(upstream, { end: false });
    this.req.once('end', () => {
      this.clearBodyTimer();
      if (this.req.rawTrailers.length > 0) upstream.addTrailers(trailerPairs(this.req.rawTrailers));
      upstream.end();
    });
  }

  /**
   * The client declared a body and has sent nothing for bodyTimeoutMs: without this, a few hundred
   * connections sending one byte each would hold every pooled upstream connection indefinitely.
   */
  private onBodyIdle(): void {
    this.bodyTimer = null;
    if (this.done || this.req.complete) return;
    const upstream = this.upstream;
    if (upstream !== null && upstream.writableNeedDrain) {
      // The upstream is not reading (backpressure paused the client): not the client's silence.
      this.bodyTimer = setTimeout(() => this.onBodyIdle(), this.bodyTimeoutMs);
      return;
    }
    this.req.unpipe();
    // The rest of the body will not be read: the connection cannot carry another request.
    this.res.shouldKeepAlive = false;
    const failure: UpstreamFailure = {
      kind: 'request_body_timeout',
      code: 'request_timeout',
      message: `the request body sent nothing for ${this.bodyTimeoutMs / 1000} s; vaultgate stopped waiting for it and aborted the upstream request`,
    };
    this.fail(failure);
    upstream?.destroy();
    this.req.socket.destroySoon();
  }

  private clearBodyTimer(): void {
    if (this.bodyTimer !== null) clearTimeout(this.bodyTimer);
    this.bodyTimer = null;
  }

  private send(): http.ClientRequest {
    this.attempts++;
    const { url } = this.target;
    const agent = this.agent;
    const method = this.req.method ?? 'GET';
    const upstream = new http.ClientRequest({
      agent,
      protocol: url.protocol,
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      method,
      path: this.target.path ?? url.pathname + url.search,
      headers: upstreamRequestHeaders(
        this.req.rawHeaders,
        this.target.hostHeader,
        this.target.forwarded,
        this.body,
        method,
      ),
      setHost: false,
    });
    this.upstream = upstream;
    // The first attempt's deadline started when it began waiting for a slot (start()).
    if (this.attempts > 1 || this.timer === null) this.arm('connect', this.connectTimeoutMs);
    upstream.on('socket', (socket: Socket) => this.onSocket(upstream, socket));
    upstream.on('continue', () => {
      if (!this.res.headersSent) this.res.writeContinue();
      this.timer?.refresh();
    });
    upstream.on('response', (upRes) => this.onResponse(upstream, upRes));
    upstream.on('error', (err) => this.onError(upstream, err));
    // The request is fully written: from now on only the upstream can be slow.
    upstream.once('finish', () => this.timer?.refresh());
    if (this.body === 'none') upstream.end();
    return upstream;
  }

  private arm(phase: 'connect' | 'headers', ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    const upstream = this.upstream;
    this.timer = setTimeout(() => {
      const err = new UpstreamTimeoutError(phase, ms);
      if (upstream !== null) upstream.destroy(err);
      // Still waiting for a slot in a saturated pool: nothing was sent, so answer here.
      else
        this.fail(
          classifyUpstreamFailure(err, { certificateId: this.result.certificateId, freshConnection: true }),
        );
    }, ms);
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private onSocket(upstream: http.ClientRequest, socket: Socket): void {
    if (upstream !== this.upstream) return;
    this.socket = socket;
    this.result.reusedConnection = upstream.reusedSocket;
    const ready = (): void => {
      if (upstream === this.upstream && !this.responded) this.arm('headers', this.headersTimeoutMs);
    };
    if (upstream.reusedSocket) ready();
    else if ('encrypted' in socket) socket.once('secureConnect', ready);
    else if (socket.connecting) socket.once('connect', ready);
    else ready();
  }

  private onResponse(upstream: http.ClientRequest, upRes: http.IncomingMessage): void {
    if (upstream !== this.upstream || this.done) return;
    this.disarm();
    this.responded = true;
    const { res } = this;
    const status = upRes.statusCode ?? 502;
    this.result.status = status;
    try {
      res.writeHead(status, upRes.statusMessage, clientResponseHeaders(upRes.rawHeaders));
    } catch (err) {
      // Node refused to re-emit a header the upstream sent (its parser is laxer than its serializer).
      upstream.destroy();
      this.fail({
        kind: 'invalid_response',
        code: 'upstream_unreachable',
        message: `the upstream sent a response vaultgate cannot relay (${(err as Error).message})`,
      });
      return;
    }
    // Streaming responses (SSE, long polling) must show their head before the first body chunk;
    // a body that is already there goes out in the same packet as the head.
    setImmediate(() => {
      if (!res.headersSent && !res.destroyed) res.flushHeaders();
    });
    upRes.on('data', (chunk: Buffer) => {
      this.result.bytesDown += chunk.length;
    });
    upRes.once('aborted', () => {
      if (!this.result.clientAborted) this.upstreamBroke = true;
    });
    // Runs before pipe()'s own 'end' listener (relay, below), which ends the client response.
    upRes.once('end', () => {
      if (upRes.rawTrailers.length > 0) res.addTrailers(trailerPairs(upRes.rawTrailers));
    });
    relay(upRes, res, (err) => {
      // An upstream that answered before reading the whole body (413, 401…): the rest of the upload
      // cannot be sent on this connection any more, and the client's leftovers are drained.
      if (!upstream.writableFinished) {
        this.req.unpipe(upstream);
        this.req.resume();
        upstream.destroy();
      }
      if (err && this.upstreamBroke) {
        this.record(classifyUpstreamFailure(err, this.failureContext(upstream)));
      }
      this.finish();
    });
  }

  private onError(upstream: http.ClientRequest, err: Error): void {
    if (upstream !== this.upstream || this.done || this.responded) return;
    this.disarm();
    if (
      upstream.reusedSocket &&
      this.body === 'none' &&
      this.attempts < MAX_ATTEMPTS &&
      RESET_CODES.has((err as NodeJS.ErrnoException).code ?? '') &&
      !this.res.destroyed
    ) {
      // The server closed a pooled connection while we were reusing it (a keep-alive race no client
      // can avoid). Nothing was processed and nothing needs re-sending, so try another connection.
      this.send();
      return;
    }
    this.req.unpipe(upstream);
    this.req.resume();
    this.fail(classifyUpstreamFailure(err, this.failureContext(upstream)));
  }

  private failureContext(upstream: http.ClientRequest) {
    return {
      tls: tlsStateOf(this.socket),
      certificateId: this.result.certificateId,
      freshConnection: !upstream.reusedSocket,
    };
  }

  private onClientClose(): void {
    if (this.res.writableFinished || this.done) return;
    if (!this.upstreamBroke) this.result.clientAborted = true;
    this.upstream?.destroy();
    if (!this.responded) this.finish();
  }

  private record(failure: UpstreamFailure): void {
    this.result.errorCode = failure.code;
    this.result.errorKind = failure.kind;
    this.result.errorMessage = failure.message;
  }

  private fail(failure: UpstreamFailure): void {
    this.record(failure);
    sendError(this.res, failure.code, failure.message);
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.disarm();
    this.clearBodyTimer();
    // Frees the pool slot (or leaves the queue), letting the next client in turn send.
    this.ticket?.release();
    this.ticket = null;
    this.result.durationMs = performance.now() - this.startedAt;
    this.resolve(this.result);
  }
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

/**
 * `stream.pipeline(src, dst, callback)` for one readable and one writable, without its per-call cost:
 * pipeline allocates an AbortController and aborts it when done, and the abort builds a DOMException
 * with a stack trace. Profiling the inbound keep-alive benchmark (bench/, issue 8) put that at ~7% of
 * the proxy's CPU per request. Same contract: the callback runs once, with the first error (after
 * destroying both streams, so a truncated answer is never passed off as complete) or when `dst` has
 * finished; backpressure is pipe()'s.
 */
function relay(src: Readable, dst: Writable, callback: (err: NodeJS.ErrnoException | null) => void): void {
  let called = false;
  const done = (err: NodeJS.ErrnoException | null | undefined): void => {
    if (called) return;
    called = true;
    if (err) {
      src.destroy();
      dst.destroy();
    }
    callback(err ?? null);
  };
  src.pipe(dst);
  finished(src, (err) => {
    if (err) done(err);
  });
  finished(dst, done);
}
