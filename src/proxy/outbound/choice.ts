import { chooseCertificate } from '../../certificates/choose.js';
import type { RuntimeCredential } from '../../snapshot/types.js';
import type { Choice, OutboundContext, Tunnel } from './context.js';

/**
 * The client certificate and upstream pool for the next request in a tunnel (SPEC §4 choice rule).
 *
 * The answer depends only on the credential's certificates (fixed within one snapshot), the host
 * (fixed per tunnel) and the clock, and the clock matters only when some candidate starts or stops
 * being valid. So it is computed once and kept until the next such instant or the next snapshot,
 * whichever comes first: an expiring certificate still stops being presented at its not_after, a
 * renewal takes over at its not_before, and a swap (rotation, deletion) is followed at once.
 */
export function choiceFor(
  ctx: OutboundContext,
  tunnel: Tunnel,
  credential: RuntimeCredential,
  now: number,
): Choice {
  const previous = tunnel.choice;
  if (previous !== null && previous.credential === credential && now < previous.until) return previous;

  const candidates = credential.certificates;
  const certificate = chooseCertificate(candidates, tunnel.target.host, now) ?? null;
  let until = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    if (c.notBefore > now && c.notBefore < until) until = c.notBefore;
    if (c.notAfter > now && c.notAfter < until) until = c.notAfter;
  }
  const agent = ctx.pools.agentFor({ origin: tunnel.target.origin, certificate });
  const choice: Choice = { credential, certificate, agent, until };
  tunnel.choice = choice;
  return choice;
}
