/**
 * SPEC §4 "Which certificate is presented", as one pure function. It runs for every new upstream
 * connection, so it makes one pass over the candidates and allocates nothing.
 */
import type { RuntimeCertificate } from '../snapshot/types.js';
import { hostMatches } from '../hosts/match.js';

/**
 * Picks the certificate to present to `host` (lower-case, no port, no trailing dot) at `now`
 * (epoch ms), or undefined for "present none".
 *
 * 1. Only certificates valid at `now`: notBefore ≤ now < notAfter. Evaluated per call, never cached,
 *    so an expiring certificate stops being presented at its notAfter without a snapshot rebuild.
 * 2. A certificate whose `hosts` match the host beats one with no `hosts`; one scoped only to other
 *    hosts is never chosen.
 * 3. Among equals: the latest notBefore (a renewal uploaded early takes over once it is valid), then
 *    the newest createdAt, then the greater id, so the choice never depends on list order.
 * 4. A certificate the TLS stack refuses (`usable` false: a stored row tampered with, or accepted
 *    under an older rule) is never chosen; the next best one is. `usable` is read only for a
 *    candidate about to win, so only certificates that would be presented are ever checked.
 */
export function chooseCertificate(
  candidates: readonly RuntimeCertificate[],
  host: string,
  now: number,
): RuntimeCertificate | undefined {
  let best: RuntimeCertificate | undefined;
  let bestScoped = false;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i] as RuntimeCertificate;
    if (!(c.notBefore <= now && now < c.notAfter)) continue;
    let scoped = false;
    if (c.hosts.length > 0) {
      for (let h = 0; h < c.hosts.length && !scoped; h++) scoped = hostMatches(c.hosts[h] as string, host);
      if (!scoped) continue;
    }
    if ((best === undefined || beats(c, scoped, best, bestScoped)) && c.usable !== false) {
      best = c;
      bestScoped = scoped;
    }
  }
  return best;
}

function beats(a: RuntimeCertificate, aScoped: boolean, b: RuntimeCertificate, bScoped: boolean): boolean {
  if (aScoped !== bScoped) return aScoped;
  if (a.notBefore !== b.notBefore) return a.notBefore > b.notBefore;
  if (a.createdAt !== b.createdAt) return a.createdAt > b.createdAt;
  return a.id > b.id;
}
