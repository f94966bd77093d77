/**
 * The signature on every delivery (SPEC §2): `x-vaultgate-signature: t=<unix>,v1=<hex>` where the
 * hex is HMAC-SHA-256 under the webhook's secret (its UTF-8 text, `whsec_…` included) of
 * `<t>.<body>`. Signing the timestamp with the body lets a receiver refuse an old request replayed
 * at it; the scheme is Stripe's, which receivers already know how to check.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-vaultgate-signature';

function hmac(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
}

/** The header value for `body` sent at `unixSeconds`. */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const t = Math.floor(unixSeconds);
  return `t=${t},v1=${hmac(secret, t, body)}`;
}

/**
 * Whether `header` is a valid signature of `body` (the raw request body, before any JSON parsing)
 * made within `toleranceSeconds` of `now` (milliseconds, as Date.now()). Any `v1` entry may match,
 * so a receiver keeps working while a sender adds signatures under a second secret.
 */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string,
  now: number = Date.now(),
  toleranceSeconds = 300,
): boolean {
  if (header === undefined) return false;
  let t: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (t === undefined || signatures.length === 0) return false;
  if (Math.abs(now / 1000 - t) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, t, body), 'hex');
  return signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
}
