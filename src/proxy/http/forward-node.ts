import http from 'node:http';
import type { Socket } from 'node:net';
import { finished, type Readable, type Writable } from 'node:stream';
import { classifyUpstreamFailure, type UpstreamTimeoutError } from '../upstream/classify.js';
import { tlsStateOf } from '../upstream/tls-state.js';
import {
  Exchange,
  MAX_ATTEMPTS,
  UNSOLICITED_UPGRADE,
  type BodyKind,
  type ForwardOptions,
  type ForwardResult,
  type ForwardTarget,
} from './exchange.js';
import { clientResponseHeaders, trailerPairs, upstreamRequestHeaders } from './headers.js';

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE']);

/**
 * The http.request path (through the pool's https.Agent): for the requests undici cannot carry
 * faithfully — `Expect: 100-continue` (relayed, so the upstream decides) and chunked bodies (whose
 * trailers are relayed). See forward.ts for the choice.
 */
export class NodeExchange extends Exchange {
  private upstream: http.ClientRequest | null = null;
  private socket: Socket | null = null;
  private attempts = 0;

  constructor(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    target: ForwardTarget,
    body: BodyKind,
    certificateId: string | null,
    options: ForwardOptions,
    resolve: (result: ForwardResult) => void,
    private readonly agent: http.Agent,
  ) {
    super(req, res, target, body, certificateId, options, resolve);
  }

  protected begin(): void {
    if (this.done) return;
    const upstream = this.send();
    if (this.body === 'none') return;
    this.watchBody();
    this.req.pipe(upstream, { end: false });
    this.req.once('end', () => {
      if (this.req.rawTrailers.length > 0) upstream.addTrailers(trailerPairs(this.req.rawTrailers));
      upstream.end();
    });
  }

  protected upstreamNotReading(): boolean {
    return this.upstream !== null && this.upstream.writableNeedDrain;
  }

  protected abandonUpstream(): void {
    this.upstream?.destroy();
  }

  protected abortOnTimeout(err: UpstreamTimeoutError): boolean {
    if (this.upstream === null) return false;
    this.upstream.destroy(err);
    return true;
  }

  protected abortForClient(): void {
    this.upstream?.destroy();
    if (!this.responded) this.finish();
  }

  private send(): http.ClientRequest {
    this.attempts++;
    const { url } = this.target;
    const method = this.req.method ?? 'GET';
    const upstream = new http.ClientRequest({
      agent: this.agent,
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
        this.target.requestId,
      ),
      setHost: false,
    });
    this.upstream = upstream;
    // The first attempt's deadline started when it began waiting for a slot (start()).
    if (this.attempts > 1 || !this.armed) this.arm('connect', this.connectTimeoutMs);
    upstream.on('socket', (socket: Socket) => this.onSocket(upstream, socket));
    upstream.on('continue', () => {
      if (!this.res.headersSent) this.res.writeContinue();
      this.refreshDeadline();
    });
    // A 101 with Upgrade and Connection: upgrade surfaces as 'upgrade' (without a listener Node just
    // drops the socket); one without them as a 'response' (Node's client treats every other 1xx as
    // interim, but not 101), see onResponse.
    upstream.on('upgrade', (_upRes, socket: Socket) => {
      socket.destroy();
      this.onUnsolicitedUpgrade(upstream);
    });
    upstream.on('response', (upRes) => this.onResponse(upstream, upRes));
    upstream.on('error', (err) => this.onError(upstream, err));
    // The request is fully written: from now on only the upstream can be slow.
    upstream.once('finish', () => this.refreshDeadline());
    if (this.body === 'none') upstream.end();
    return upstream;
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
    const status = upRes.statusCode ?? 502;
    if (status < 200) {
      this.onUnsolicitedUpgrade(upstream);
      return;
    }
    this.disarm();
    this.responded = true;
    const { res } = this;
    this.result.status = status;
    try {
      res.writeHead(
        status,
        upRes.statusMessage,
        clientResponseHeaders(upRes.rawHeaders, this.target.requestId),
      );
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
      if (!this.result.clientAborted) this.broke = true;
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
      if (err && this.broke) {
        this.record(classifyUpstreamFailure(err, this.failureContext(upstream)));
      }
      this.finish();
    });
  }

  private onUnsolicitedUpgrade(upstream: http.ClientRequest): void {
    if (upstream !== this.upstream || this.done || this.responded) return;
    this.disarm();
    this.req.unpipe(upstream);
    this.req.resume();
    upstream.destroy();
    this.fail(UNSOLICITED_UPGRADE);
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
