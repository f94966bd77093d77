import type http from 'node:http';
import { PassThrough } from 'node:stream';
import type { Dispatcher } from 'undici';
import { classifyUpstreamFailure, type UpstreamTimeoutError } from '../upstream/classify.js';
import type { Lane, LaneClient } from '../upstream/lane.js';
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

/** undici's socket error ("other side closed") and the errno codes of a reset. */
const RESET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/**
 * undici derives a TLS server name from the Host header and reconnects when it changes; our
 * connector takes the name from the pool (connector.ts), so every request states the same one.
 */
const SERVERNAME = 'vaultgate-pool';

/**
 * The undici path: one request through a client of the pool's lane (lane.ts), both bodies streamed
 * with backpressure. This object is the undici dispatch handler itself (the callback-style handler
 * undici calls natively, with raw header buffers), so a request allocates no closures for it.
 */
export class UndiciExchange extends Exchange implements Dispatcher.DispatchHandler {
  private client: LaneClient | null = null;
  /** The abort undici hands over once the request is on a connection. */
  private abortRequest: ((err?: Error) => void) | null = null;
  /** The request body as undici reads it: a stream of its own, so undici never destroys `req`. */
  private upload: PassThrough | null = null;
  private resumeUpstream: (() => void) | null = null;
  private attempts = 0;
  private reused = false;

  constructor(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    target: ForwardTarget,
    body: BodyKind,
    certificateId: string | null,
    options: ForwardOptions,
    resolve: (result: ForwardResult) => void,
    private readonly lane: Lane,
    /** The same request as an exchange through the pool's agent (see handOverAmbiguousRefusal). */
    private readonly handOver: () => Exchange,
  ) {
    super(req, res, target, body, certificateId, options, resolve);
  }

  protected begin(): void {
    if (this.done) return;
    this.client = this.lane.acquire();
    if (this.body !== 'none') {
      this.upload = new PassThrough();
      this.watchBody();
      this.req.pipe(this.upload);
    }
    this.dispatch();
  }

  private dispatch(): void {
    this.attempts++;
    this.abortRequest = null;
    // The first attempt's deadline started when it began waiting for a slot (start()).
    if (this.attempts > 1 || !this.armed) this.arm('connect', this.connectTimeoutMs);
    const { url } = this.target;
    const method = this.req.method ?? 'GET';
    const options: Dispatcher.DispatchOptions & { servername: string } = {
      path: this.target.path ?? url.pathname + url.search,
      method: method as Dispatcher.HttpMethod,
      headers: upstreamRequestHeaders(
        this.req.rawHeaders,
        this.target.hostHeader,
        this.target.forwarded,
        this.body,
        method,
        this.target.requestId,
      ),
      body: this.upload,
      servername: SERVERNAME,
    };
    (this.client as LaneClient).client.dispatch(options, this);
  }

  // --- undici handler -------------------------------------------------------------------------

  onConnect(abort: (err?: Error) => void): void {
    if (this.done) {
      abort();
      return;
    }
    this.abortRequest = abort;
    const client = this.client as LaneClient;
    this.reused = client.served > 0;
    client.served++;
    this.result.reusedConnection = this.reused;
    if (!this.responded) this.arm('headers', this.headersTimeoutMs);
  }

  onRequestSent(): void {
    // The request is fully written: from now on only the upstream can be slow.
    if (!this.responded) this.refreshDeadline();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (this.done) return false;
    if (statusCode < 200) {
      // undici hands interim responses (other than 100) here. A 101 is answered 502 (finish() closes
      // the connection); others (102, 103) are not relayed (Node's path does not either) and the
      // final answer is awaited.
      if (statusCode === 101) {
        this.disarm();
        this.fail(UNSOLICITED_UPGRADE);
        return false;
      }
      this.refreshDeadline();
      return true;
    }
    this.disarm();
    this.responded = true;
    this.result.status = statusCode;
    this.resumeUpstream = resume;
    const raw = new Array<string>(rawHeaders.length);
    for (let i = 0; i < rawHeaders.length; i++) raw[i] = (rawHeaders[i] as Buffer).toString('latin1');
    const { res } = this;
    try {
      res.writeHead(statusCode, statusText, clientResponseHeaders(raw, this.target.requestId));
    } catch (err) {
      // Node refused to re-emit a header the upstream sent (its parser is laxer than its serializer).
      this.fail({
        kind: 'invalid_response',
        code: 'upstream_unreachable',
        message: `the upstream sent a response vaultgate cannot relay (${(err as Error).message})`,
      });
      return false;
    }
    // Streaming responses (SSE, long polling) must show their head before the first body chunk;
    // a body that is already there goes out in the same packet as the head.
    setImmediate(() => {
      if (!res.headersSent && !res.destroyed) res.flushHeaders();
    });
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.done) return false;
    this.result.bytesDown += chunk.length;
    if (this.res.write(chunk)) return true;
    // The client reads slower than the upstream sends: undici stops reading the socket until then.
    this.res.once('drain', () => this.resumeUpstream?.());
    return false;
  }

  onComplete(rawTrailers: string[] | Buffer[] | null): void {
    if (this.done) return;
    const client = this.client as LaneClient;
    this.client = null;
    if (rawTrailers !== null && rawTrailers.length > 0) {
      this.res.addTrailers(trailerPairs(rawTrailers.map((t) => t.toString())));
    }
    // undici finishes its own bookkeeping for this response after this callback returns; the
    // client may carry the next request only then.
    queueMicrotask(() => this.lane.release(client));
    // As on the other path, the exchange (and its pool slot) lasts until the client has the answer.
    this.res.end(() => this.finish());
  }

  onError(err: Error): void {
    if (this.done) return;
    this.disarm();
    if (
      !this.responded &&
      (err as NodeJS.ErrnoException).code === 'UND_ERR_SOCKET' &&
      err.message === 'bad upgrade'
    ) {
      // undici's own answer to a 101 with an Upgrade field (it closed the connection): not a reset
      // of a pooled connection, so it is not retried.
      this.fail(UNSOLICITED_UPGRADE);
      return;
    }
    if (this.responded) {
      // The upstream broke after the headers: the client must see a truncated answer.
      this.broke = true;
      this.record(classifyUpstreamFailure(err, this.failureContext()));
      this.res.destroy();
      this.finish();
      return;
    }
    if (
      this.reused &&
      this.body === 'none' &&
      this.attempts < MAX_ATTEMPTS &&
      RESET_CODES.has((err as NodeJS.ErrnoException).code ?? '') &&
      !this.res.destroyed
    ) {
      // The server closed a pooled connection while we were reusing it (a keep-alive race no client
      // can avoid). Nothing was processed and nothing needs re-sending, so try another connection
      // (the client reconnects), once undici is done failing this one.
      this.reused = false;
      process.nextTick(() => {
        if (!this.done) this.dispatch();
      });
      return;
    }
    if (this.handOverAmbiguousRefusal(err)) return;
    this.fail(classifyUpstreamFailure(err, this.failureContext()));
  }

  /**
   * A TLS 1.3 server that refuses our certificate sends its alert after the handshake, then closes.
   * Node's http client reads the alert; undici sees the close first ("other side closed"), which
   * would leave only a guess ("probably rejected"). A bodiless request on a fresh connection whose
   * server asked for a certificate is therefore sent once more through the pool's agent, which reports
   * the alert itself. Failure path only; nothing had been answered or uploaded.
   */
  private handOverAmbiguousRefusal(err: Error): boolean {
    const tls = tlsStateOf(this.client?.socket);
    if (
      this.reused ||
      this.body !== 'none' ||
      (err as NodeJS.ErrnoException).code !== 'UND_ERR_SOCKET' ||
      tls?.certificateRequested !== true ||
      this.res.destroyed
    )
      return false;
    const client = this.client as LaneClient;
    this.client = null;
    this.lane.discard(client);
    this.handOver().adopt(this);
    return true;
  }

  // --- Exchange hooks -------------------------------------------------------------------------

  protected upstreamNotReading(): boolean {
    return this.upload !== null && this.upload.writableNeedDrain;
  }

  protected abandonUpstream(): void {
    // onFinish (already run by fail) closed the connection; only the body stream is left.
    this.upload?.destroy();
  }

  protected abortOnTimeout(err: UpstreamTimeoutError): boolean {
    if (this.client === null) return false;
    // On a connection: undici fails the request with `err` at once. Still connecting: closing the
    // client fails it with `err` and closes the half-open connection too.
    if (this.abortRequest !== null) this.abortRequest(err);
    else this.lane.discard(this.client, err);
    return true;
  }

  protected abortForClient(): void {
    // finish() closes the connection (onFinish): undici's late error for it finds the exchange done.
    this.finish();
  }

  protected override onFinish(): void {
    // Not a clean end (failure, timeout, client gone): the connection's state is unknown, close it.
    if (this.client !== null) this.lane.discard(this.client);
    this.client = null;
    if (this.upload !== null && !this.req.complete) {
      // An upstream that answered before reading the whole body (413, 401…), or a failure: the
      // client's leftovers are drained so its connection can carry its next request.
      this.req.unpipe(this.upload);
      this.upload.destroy();
      this.req.resume();
    }
  }

  private failureContext() {
    return {
      tls: tlsStateOf(this.client?.socket),
      certificateId: this.result.certificateId,
      freshConnection: !this.reused,
    };
  }
}
