/**
 * One HTTP attempt of a delivery. The webhook URL is an upstream like any other (SPEC §4): the
 * connection resolves through the blocking lookup, so a name that now resolves into a blocked range
 * or onto one of vaultgate's own listeners is refused before a packet is sent — DNS may have changed
 * since the webhook was created — and an IP literal is checked here, since net.connect skips the
 * lookup for one.
 */
import net from 'node:net';
import tls from 'node:tls';
import { Agent, request } from 'undici';
import { BlockedAddressError } from '../proxy/upstream/classify.js';
import { blockingLookup, type UpstreamBlocker } from '../proxy/upstream/blocked-ranges.js';
import { SIGNATURE_HEADER } from './signature.js';

/** SPEC-free choice (docs/notifications.md): a receiver has 10 s to answer, as an upstream does. */
export const DELIVERY_TIMEOUT_MS = 10_000;

export interface AttemptResult {
  /** The receiver's HTTP status; null when there was no answer. */
  status_code: number | null;
  /** Why the attempt failed, for the deliveries list; null when it succeeded. */
  error: string | null;
}

export interface PostOptions {
  url: string;
  body: string;
  signature: string;
  blocker: UpstreamBlocker;
  /** VAULTGATE_UPSTREAM_CA_FILE's bundle, trusted besides Node's roots for https receivers. */
  extraCaPem?: string | undefined;
}

function defaultPort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

function blockedIn(err: unknown): BlockedAddressError | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof BlockedAddressError) return e;
  }
  return undefined;
}

/** Why an attempt got no answer, in words for the deliveries list (never the URL: it may hold a token). */
function describeFailure(err: unknown): string {
  const blocked = blockedIn(err);
  if (blocked) return `refused: ${blocked.message}`;
  const codes: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
  }
  if (codes.some((c) => c.includes('TIMEOUT') || c === 'ABORT_ERR' || c === 'UND_ERR_ABORTED')) {
    return `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`;
  }
  const reason = codes.find((c) => !c.startsWith('UND_ERR')) ?? codes[0];
  if (reason !== undefined && /CERT|SIGNATURE|ISSUER|ALTNAME/.test(reason)) {
    return `the receiver's TLS certificate was not accepted (${reason}); if a private CA issued it, trust that CA with VAULTGATE_UPSTREAM_CA_FILE`;
  }
  return `could not reach the receiver${reason ? ` (${reason})` : ''}`;
}

/** POSTs one signed body; any 2xx answer is a delivery. Redirects are not followed (a 3xx fails). */
export async function postDelivery(options: PostOptions): Promise<AttemptResult> {
  const target = new URL(options.url);
  const port = defaultPort(target);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) !== 0) {
    const refused = options.blocker.refusal(host, host, port);
    if (refused) return { status_code: null, error: `refused: ${refused.message}` };
  }
  const agent = new Agent({
    connect: {
      lookup: blockingLookup(options.blocker, port),
      timeout: DELIVERY_TIMEOUT_MS,
      ...(options.extraCaPem ? { ca: [...tls.rootCertificates, options.extraCaPem] } : {}),
    },
    headersTimeout: DELIVERY_TIMEOUT_MS,
    bodyTimeout: DELIVERY_TIMEOUT_MS,
  });
  try {
    const res = await request(target, {
      method: 'POST',
      dispatcher: agent,
      body: options.body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'vaultgate-webhooks',
        [SIGNATURE_HEADER]: options.signature,
      },
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    // The answer's body is not kept: only whether the receiver took the event.
    await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    return { status_code: res.statusCode, error: ok ? null : `the receiver answered HTTP ${res.statusCode}` };
  } catch (err) {
    return { status_code: null, error: describeFailure(err) };
  } finally {
    await agent.close().catch(() => undefined);
  }
}
