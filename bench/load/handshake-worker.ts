/**
 * The inbound-hostnames scenario's fallback generator, where bench/load/handshake-client.c cannot be
 * built (no C compiler or OpenSSL headers); it costs more CPU per connection than the server it
 * measures, so its rates say less. Run as its own process: `connections` loops,
 * each opening a new TLS connection (a full handshake: no session is offered, so nothing is resumed),
 * sending one GET with `Connection: close`, reading the answer and closing. Successive connections
 * take the next name of `hostnames` as SNI and Host, so with 1,000 names every one is asked for in
 * turn, and the server certificate is verified for that name: a handshake answered with another
 * hostname's certificate counts as an error, not as a connection served.
 *
 * wrk cannot do this: it sends the URL's host as SNI on every connection. argv[2] is a JSON
 * HandshakeLoadOptions; the result is one JSON line on stdout.
 */
import tls from 'node:tls';
import { AnswerParser } from './tunnel-worker.js';

export interface HandshakeLoadOptions {
  /** The inbound listener, on 127.0.0.1. */
  port: number;
  /** SNI and Host of successive connections, taken in turn. */
  hostnames: string[];
  /** Trusted to sign the server certificates (the customer's CA). */
  caPem: string;
  connections: number;
  durationMs: number;
  /** Stop after this many connections (0 or absent: no limit); the names' count asks for each once. */
  maxConnections?: number;
}

export interface HandshakeLoadResult {
  /** Connections that completed the handshake and got a 2xx answer. */
  requests: number;
  errors: number;
  durationS: number;
  rps: number;
  /** From the TCP connect to the complete answer. */
  p50Ms: number;
  p99Ms: number;
  firstError?: string;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** One connection: handshake for `hostname`, one request, the status of its answer. */
function once(
  opts: HandshakeLoadOptions,
  secureContext: tls.SecureContext,
  hostname: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    // servername sets SNI, and the default checkServerIdentity then checks the certificate against it.
    const socket = tls.connect({ host: '127.0.0.1', port: opts.port, servername: hostname, secureContext });
    const parser = new AnswerParser();
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.once('secureConnect', () => {
      if (socket.isSessionReused()) return fail(new Error('session resumed (not a full handshake)'));
      socket.setNoDelay(true);
      socket.write(
        `GET / HTTP/1.1\r\nHost: ${hostname}\r\nAccept: application/json\r\nConnection: close\r\n\r\n`,
      );
    });
    socket.on('data', (d: Buffer) =>
      parser.feed(d, (status) => {
        socket.destroy();
        resolve(status);
      }),
    );
    socket.once('error', fail);
    socket.once('close', () => reject(new Error('connection closed before the answer')));
  });
}

export async function runHandshakeLoad(opts: HandshakeLoadOptions): Promise<HandshakeLoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  // One context for every connection: given `ca` instead, tls.connect would build a context (parse
  // the PEM, fill a trust store) per connection, and the client would cost more than the server.
  // A context holds no session, so each handshake is still a full one.
  const secureContext = tls.createSecureContext({ ca: opts.caPem });
  const t0 = performance.now();
  const deadline = t0 + opts.durationMs;
  const max = opts.maxConnections ?? 0;
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline && (max === 0 || next < max)) {
      const hostname = opts.hostnames[next++ % opts.hostnames.length] as string;
      const started = performance.now();
      try {
        const status = await once(opts, secureContext, hostname);
        if (status >= 200 && status < 300) latencies.push(performance.now() - started);
        else {
          errors++;
          firstError ??= `status ${status} for ${hostname}`;
        }
      } catch (err) {
        errors++;
        firstError ??= `${hostname}: ${(err as Error).message}`;
        // A refused connection fails at once: do not spin on it.
        await new Promise((r) => setTimeout(r, 10));
      }
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
  const opts = JSON.parse(process.argv[2] as string) as HandshakeLoadOptions;
  runHandshakeLoad(opts).then(
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
