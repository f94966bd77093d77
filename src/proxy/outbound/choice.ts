import { chooseCertificate } from '../../certificates/choose.js';
import { guardedFullMatch } from '../../snapshot/host-match.js';
import type { RuntimeRoute } from '../../snapshot/types.js';
import type { Principal } from './auth.js';
import type { Choice, OutboundContext, Tunnel } from './context.js';

/**
 * The client certificate and upstream pool for the next request in a tunnel (SPEC §4 choice rule).
 *
 * The answer depends only on the credential's certificates (fixed within one snapshot), the host
 * (fixed per tunnel) and the clock, and the clock matters only when some candidate starts or stops
 * being valid. So it is computed once and kept until the next such instant or the next snapshot,
 * whichever comes first: an expiring certificate still stops being presented at its not_after, a
 * renewal takes over at its not_before, and a swap (rotation, deletion) is followed at once.
 *
 * Trust toward the upstream: Node's roots plus VAULTGATE_UPSTREAM_CA_FILE (the pools' default), or the
 * `upstream_tls` of the vault's first outbound route whose host_endpoint matches the host (SPEC §2
 * routes), so a user can trust a private CA or pin SNI for one third party.
 */
export function choiceFor(ctx: OutboundContext, tunnel: Tunnel, principal: Principal, now: number): Choice {
  const { credential } = principal;
  const previous = tunnel.choice;
  if (previous !== null && previous.credential === credential && now < previous.until) return previous;

  const candidates = credential.certificates;
  const certificate = chooseCertificate(candidates, tunnel.target.host, now) ?? null;
  if (certificate === null && candidates.length > 0) ctx.metrics.choiceFailed('outbound', principal.vault.id);
  let until = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    if (c.notBefore > now && c.notBefore < until) until = c.notBefore;
    if (c.notAfter > now && c.notAfter < until) until = c.notAfter;
  }
  const route = matchingRoute(principal.vault.outboundRoutes, tunnel.target.host);
  const agent = ctx.pools.agentFor({ origin: tunnel.target.origin, certificate, tls: route?.upstreamTls });
  const choice: Choice = { credential, certificate, agent, until };
  tunnel.choice = choice;
  return choice;
}

/**
 * host_endpoint sources that ran out of their time budget once. The API refuses regexes that
 * backtrack on its probe host, but one can still explode on another input (`(x+x+)+y` on a host of
 * x's); each new host would then cost the full budget (up to ~0.5 s) of event loop. After its first
 * timeout such a regex is treated as matching nothing, for every host: at most one stall per regex.
 */
const runaway = new Set<string>();
const RUNAWAY_LIMIT = 1_000;

function matchingRoute(routes: readonly RuntimeRoute[], host: string): RuntimeRoute | undefined {
  // Guarded: the host comes from the client, and a route regex must not be able to stall the proxy.
  for (const route of routes) {
    if (runaway.has(route.hostEndpoint)) continue;
    const result = guardedFullMatch(route.hostEndpoint, host);
    if (result === 'timeout') {
      if (runaway.size >= RUNAWAY_LIMIT) runaway.clear();
      runaway.add(route.hostEndpoint);
    } else if (result) {
      return route;
    }
  }
  return undefined;
}

/** For tests: whether a host_endpoint has been set aside as too slow to evaluate. */
export function isRunawayRegex(source: string): boolean {
  return runaway.has(source);
}
