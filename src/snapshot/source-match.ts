import net from 'node:net';

/**
 * A route's `source_endpoint` (SPEC §3): `"*"`, or a comma-separated list of CIDR ranges (IPv4 or
 * IPv6; a bare address is a /32 or /128). The API refuses anything else (`sourceEndpointProblem`);
 * the snapshot compiles it once into a `SourceMatcher` (net.BlockList), so a request costs one lookup.
 */
export interface SourceMatcher {
  /** Whether a caller at `address` (as Node reports `socket.remoteAddress`) may use the route. */
  allows(address: string | undefined): boolean;
}

const ANYONE: SourceMatcher = Object.freeze({ allows: () => true });

/** The problem with one list item, as a sentence fragment naming it, or null. */
function itemProblem(item: string): string | null {
  const shown = JSON.stringify(item.slice(0, 100));
  if (item === '') return 'has an empty item (two commas, or a comma at an end)';
  if (item === '*') return 'may be "*" only on its own, not within a list';
  const slash = item.indexOf('/');
  const address = slash < 0 ? item : item.slice(0, slash);
  const family = net.isIP(address);
  // A zone id (fe80::1%eth0) names an interface of vaultgate's host, not a caller.
  if (family === 0 || address.includes('%'))
    return `has ${shown}, which is not an IPv4 or IPv6 address or CIDR range`;
  if (slash < 0) return null;
  const prefix = item.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
    return `has ${shown}, whose prefix length must be a number from 0 to ${max}`;
  }
  return null;
}

/**
 * Why `value` cannot be a source_endpoint (a sentence fragment after "source_endpoint"), or null.
 */
export function sourceEndpointProblem(value: string): string | null {
  const trimmed = value.trim();
  if (trimmed === '*') return null;
  if (trimmed === '') return 'is empty; use "*" to allow every caller';
  for (const item of trimmed.split(',')) {
    const problem = itemProblem(item.trim());
    if (problem !== null) return problem;
  }
  return null;
}

/** An IPv4 client on a dual-stack socket shows as `::ffff:a.b.c.d`; it is matched as IPv4. */
const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * Compiles a stored source_endpoint. A value the API would refuse now (stored before it checked)
 * allows no caller — the route asked for a restriction that cannot be read, and failing open would
 * ignore it — except an empty one, which could not restrict anything and is read as `"*"`.
 */
export function compileSourceEndpoint(value: string): SourceMatcher {
  const trimmed = value.trim();
  if (trimmed === '*' || trimmed === '') return ANYONE;
  const list = new net.BlockList();
  if (sourceEndpointProblem(trimmed) === null) {
    for (const raw of trimmed.split(',')) {
      const item = raw.trim();
      const slash = item.indexOf('/');
      const address = slash < 0 ? item : item.slice(0, slash);
      const type = net.isIP(address) === 4 ? 'ipv4' : 'ipv6';
      const prefix = slash < 0 ? (type === 'ipv4' ? 32 : 128) : Number(item.slice(slash + 1));
      list.addSubnet(address, prefix, type);
    }
  }
  return Object.freeze({
    allows(address: string | undefined): boolean {
      if (address === undefined) return false;
      const family = net.isIP(address);
      if (family === 0) return false;
      const mapped = MAPPED_V4.exec(address)?.[1];
      if (mapped !== undefined) return list.check(mapped, 'ipv4') || list.check(address, 'ipv6');
      return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
    },
  });
}
