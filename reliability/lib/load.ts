/**
 * Load for the proxies: a pacer that fires at a fixed rate with a bound on requests in flight, and
 * one client per proxy direction that turns every request into an Outcome (status, vaultgate error
 * code, the client certificate the upstream reported) instead of throwing.
 */
import https from 'node:https';
import { ProxyAgent, request } from 'undici';
import type { Evidence } from './evidence.js';

export interface Outcome {
  start: number;
  end: number;
  /** 0 when no response arrived. */
  status: number;
  /** vaultgate's error code (x-vaultgate-error), when it answered with one. */
  code: string | null;
  /** The client certificate the upstream reported (Node's fingerprint256), when it answered. */
  fingerprint: string | null;
  /** The transport error, when the request did not complete. */
  error: string | null;
  body: string;
}

export interface Pace {
  ratePerSec: number;
  durationMs: number;
  maxInFlight: number;
  /** Checked before every shot; true ends the run early. */
  stop?: () => boolean;
}

/**
 * Fires `shot(i)` ratePerSec times a second for durationMs. A shot due while maxInFlight are still
 * open is skipped and counted: the load never grows without bound. Resolves when all shots settled.
 */
export async function pace(
  p: Pace,
  shot: (i: number) => Promise<unknown>,
): Promise<{ fired: number; skipped: number }> {
  const interval = 1000 / p.ratePerSec;
  const started = performance.now();
  const pending = new Set<Promise<unknown>>();
  let fired = 0;
  let skipped = 0;
  for (let i = 0; ; i++) {
    const due = started + i * interval;
    if (due - started >= p.durationMs || p.stop?.() === true) break;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (pending.size >= p.maxInFlight) {
      skipped++;
      continue;
    }
    fired++;
    const promise = shot(i).catch(() => undefined);
    pending.add(promise);
    void promise.finally(() => pending.delete(promise));
  }
  await Promise.all(pending);
  return { fired, skipped };
}

function outcome(start: number, status: number, headers: Record<string, unknown>, body: string): Outcome {
  let fingerprint: string | null = null;
  let code = typeof headers['x-vaultgate-error'] === 'string' ? headers['x-vaultgate-error'] : null;
  try {
    const json = JSON.parse(body) as { clientFingerprint256?: string | null; error?: { code?: string } };
    fingerprint = json.clientFingerprint256 ?? null;
    code ??= json.error?.code ?? null;
  } catch {
    // not JSON: the figures only need the status
  }
  return { start, end: Date.now(), status, code, fingerprint, error: null, body };
}

function failed(start: number, err: unknown): Outcome {
  const e = err as NodeJS.ErrnoException;
  return {
    start,
    end: Date.now(),
    status: 0,
    code: null,
    fingerprint: null,
    error: e.code ?? e.message,
    body: '',
  };
}

/** HTTPS to the inbound port with keep-alive, SNI and Host set to the vault's inbound host. */
export class InboundClient {
  readonly #agent: https.Agent;
  constructor(
    readonly port: number,
    readonly localCa: string,
    readonly host: string,
    readonly evidence: Evidence,
    maxSockets = 32,
  ) {
    this.#agent = new https.Agent({ keepAlive: true, maxSockets, ca: localCa });
  }

  get(path: string, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<Outcome> {
    const start = Date.now();
    return new Promise((resolve) => {
      const req = https.request(
        {
          agent: this.#agent,
          host: '127.0.0.1',
          port: this.port,
          servername: this.host,
          path,
          headers: { host: `${this.host}:${this.port}`, ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => resolve(failed(start, err)));
          res.on('aborted', () => resolve(failed(start, new Error('response aborted'))));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            this.evidence.addText('proxied response', body);
            resolve(outcome(start, res.statusCode ?? 0, res.headers, body));
          });
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error('client timeout')));
      req.on('error', (err) => resolve(failed(start, err)));
      req.end();
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

export interface Credential {
  id: string;
  username: string;
  password: string;
}

/** Requests to an HTTPS upstream through the outbound proxy (CONNECT + interception), undici's ProxyAgent. */
export class OutboundClient {
  readonly #agent: ProxyAgent;
  constructor(
    proxyPort: number,
    cred: Credential,
    vaultCaPem: string,
    readonly upstreamOrigin: string,
    readonly evidence: Evidence,
  ) {
    this.#agent = new ProxyAgent({
      uri: `http://127.0.0.1:${proxyPort}`,
      token: 'Basic ' + Buffer.from(`${cred.username}:${cred.password}`).toString('base64'),
      requestTls: { ca: vaultCaPem },
    });
  }

  async get(path: string, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<Outcome> {
    const start = Date.now();
    try {
      const res = await request(this.upstreamOrigin + path, {
        dispatcher: this.#agent,
        headers,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const body = await res.body.text();
      this.evidence.addText('proxied response', body);
      return outcome(start, res.statusCode, res.headers, body);
    } catch (err) {
      return failed(start, err);
    }
  }

  async close(): Promise<void> {
    await this.#agent.destroy();
  }
}
