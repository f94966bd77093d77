/**
 * The load generator of the outbound scenario, run as its own process: `connections` loops, each
 * holding one connection and sending the next GET as soon as the previous answer is complete.
 *
 * Used for every system of that scenario, the direct one included, because wrk cannot speak CONNECT
 * and hey cannot present a client certificate. It is deliberately minimal — a pre-built request, a
 * parser that reads only the status line, Content-Length and chunk sizes — so the client costs as
 * little CPU as Node allows; it is still dearer per request than wrk, so its figures are compared
 * only with each other.
 *
 * argv[2] is a JSON TunnelLoadOptions; the result is one JSON line on stdout.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface TunnelLoadOptions {
  /** CONNECT through this proxy first (Basic credentials); absent: TLS straight to the target. */
  proxy?: { port: number; username: string; password: string };
  /** The host:port the TLS connection is for (the CONNECT target, or the server connected to). */
  target: { host: string; port: number };
  /** Sent as SNI when the target host is a name. */
  servername?: string;
  hostHeader: string;
  /** Trusted to sign the server certificate the client sees (the proxy's interception CA, or the upstream's). */
  caPem: string;
  clientCert?: { certPem: string; keyPem: string };
  connections: number;
  durationMs: number;
  /** Stop after this many answers in total (0: no limit). */
  maxRequests?: number;
}

export interface TunnelLoadResult {
  requests: number;
  errors: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  firstError?: string;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Opens the connection: TCP, optional CONNECT, then TLS. */
async function open(opts: TunnelLoadOptions): Promise<tls.TLSSocket> {
  const port = opts.proxy?.port ?? opts.target.port;
  const raw = net.connect({ host: '127.0.0.1', port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    raw.once('connect', resolve);
    raw.once('error', reject);
  });
  if (opts.proxy) {
    const auth = Buffer.from(`${opts.proxy.username}:${opts.proxy.password}`).toString('base64');
    const authority = `${opts.target.host}:${opts.target.port}`;
    raw.write(
      `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nProxy-Authorization: Basic ${auth}\r\n\r\n`,
    );
    await new Promise<void>((resolve, reject) => {
      let head = '';
      const onData = (d: Buffer): void => {
        head += d.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        raw.off('data', onData);
        raw.off('error', reject);
        if (!/^HTTP\/1\.[01] 200/.test(head)) reject(new Error(`CONNECT refused: ${head.split('\r\n')[0]}`));
        else if (end + 4 < head.length) reject(new Error('proxy sent bytes after its CONNECT answer'));
        else resolve();
      };
      raw.on('data', onData);
      raw.once('error', reject);
    });
  }
  const socket = tls.connect({
    socket: raw,
    ca: opts.caPem,
    servername: opts.servername,
    ...(opts.servername === undefined ? { checkServerIdentity: () => undefined } : {}),
    ...(opts.clientCert ? { cert: opts.clientCert.certPem, key: opts.clientCert.keyPem } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  socket.setNoDelay(true);
  return socket;
}

/** Parses answers from a byte stream; `feed` returns how many complete answers it saw and their statuses. */
export class AnswerParser {
  private buf: Buffer = Buffer.alloc(0);
  private bodyLeft = -1;
  private chunked = false;
  private status = 0;

  /** Calls onAnswer(status) for each complete answer. */
  feed(data: Buffer, onAnswer: (status: number) => void): void {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    for (;;) {
      if (this.bodyLeft === -1) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = this.buf.toString('latin1', 0, end);
        this.status = Number(head.slice(9, 12));
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        this.chunked = length === null && /\r\ntransfer-encoding:[^\r]*chunked/i.test(head);
        this.bodyLeft = length ? Number(length[1]) : 0;
        this.buf = this.buf.subarray(end + 4);
      }
      if (this.chunked) {
        // Chunks: size line, data, CRLF; a zero size ends the body (trailers are not expected).
        const line = this.buf.indexOf('\r\n');
        if (line === -1) return;
        const size = parseInt(this.buf.toString('latin1', 0, line), 16);
        if (size === 0) {
          if (this.buf.length < line + 4) return;
          this.buf = this.buf.subarray(line + 4);
        } else {
          if (this.buf.length < line + 2 + size + 2) return;
          this.buf = this.buf.subarray(line + 2 + size + 2);
          continue;
        }
      } else {
        if (this.buf.length < this.bodyLeft) return;
        this.buf = this.buf.subarray(this.bodyLeft);
      }
      this.bodyLeft = -1;
      this.chunked = false;
      onAnswer(this.status);
    }
  }
}

/** One fresh connection (CONNECT and TLS included) and one GET on it: the time to the complete answer. */
export async function oneRequest(opts: TunnelLoadOptions): Promise<{ ms: number; status: number }> {
  const t0 = performance.now();
  const socket = await open(opts);
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const parser = new AnswerParser();
      socket.on('data', (d: Buffer) => parser.feed(d, resolve));
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('connection closed before the answer')));
      socket.write(`GET / HTTP/1.1\r\nHost: ${opts.hostHeader}\r\nAccept: application/json\r\n\r\n`);
    });
    return { ms: performance.now() - t0, status };
  } finally {
    socket.destroy();
  }
}

export async function runTunnelLoad(opts: TunnelLoadOptions): Promise<TunnelLoadResult> {
  const request = Buffer.from(
    `GET / HTTP/1.1\r\nHost: ${opts.hostHeader}\r\nAccept: application/json\r\n\r\n`,
  );
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let answered = 0;
  const max = opts.maxRequests ?? 0;
  const t0 = performance.now();
  const deadline = t0 + opts.durationMs;
  const done = (): boolean => performance.now() >= deadline || (max > 0 && answered >= max);

  const loop = async (): Promise<void> => {
    while (!done()) {
      let socket: tls.TLSSocket;
      try {
        socket = await open(opts);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      await new Promise<void>((resolve) => {
        const parser = new AnswerParser();
        let sent = performance.now();
        const finish = (): void => {
          socket.destroy();
          resolve();
        };
        socket.on('data', (d: Buffer) =>
          parser.feed(d, (status) => {
            const now = performance.now();
            answered++;
            if (status >= 200 && status < 300) latencies.push(now - sent);
            else {
              errors++;
              firstError ??= `status ${status}`;
            }
            if (done()) return finish();
            sent = now;
            socket.write(request);
          }),
        );
        socket.once('error', (err) => {
          errors++;
          firstError ??= err.message;
          finish();
        });
        socket.once('close', finish);
        socket.write(request);
      });
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, loop));
  const durationS = (performance.now() - t0) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: latencies.length,
    errors,
    durationS,
    rps: latencies.length / durationS,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    ...(firstError === undefined ? {} : { firstError }),
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() as string)) {
  const opts = JSON.parse(process.argv[2] as string) as TunnelLoadOptions;
  runTunnelLoad(opts).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exit(1);
    },
  );
}
