import dns from 'node:dns';
import net from 'node:net';
import { BlockedAddressError } from './classify.js';

/**
 * Link-local ranges (RFC 3927, RFC 4291 §2.5.6). Cloud metadata services answer there — AWS, GCP and
 * Azure at 169.254.169.254 — and hand out the instance's credentials to whoever asks, so a route or a
 * CONNECT target pointing at them turns the proxy into a way in (SSRF). BlockList also matches the
 * IPv4-mapped IPv6 forms (`::ffff:169.254.169.254`, `::ffff:a9fe:a9fe`) against the IPv4 subnet.
 */
const LINK_LOCAL = new net.BlockList();
LINK_LOCAL.addSubnet('169.254.0.0', 16, 'ipv4');
LINK_LOCAL.addSubnet('fe80::', 10, 'ipv6');

/** Whether an IP address (v4 or v6, without brackets or zone) is link-local. */
export function isLinkLocal(address: string): boolean {
  const plain = address.replace(/%.*$/, '');
  const family = net.isIP(plain);
  if (family === 0) return false;
  return LINK_LOCAL.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

/** The lookup signature net.connect and tls.connect accept (`options.lookup`). */
export type LookupFunction = (
  hostname: string,
  options: dns.LookupOptions,
  callback: (
    err: NodeJS.ErrnoException | null,
    address: string | dns.LookupAddress[],
    family?: number,
  ) => void,
) => void;

type BaseLookup = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

/**
 * A `lookup` for upstream sockets that drops link-local addresses from the answer, so a DNS name that
 * resolves to one (a rebinding name, `metadata.google.internal`, an attacker's record) is refused like
 * the IP literal. When the name also has other addresses, only those are used; when it has none,
 * the connection fails with BlockedAddressError before a packet is sent. The check happens on the
 * address actually connected to, after resolution, so no second lookup can disagree with it.
 */
export function blockingLookup(base: BaseLookup = dns.lookup as BaseLookup): LookupFunction {
  return (hostname, options, callback) => {
    base(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, options.all === true ? [] : '', undefined);
        return;
      }
      const allowed = addresses.filter((a) => !isLinkLocal(a.address));
      if (allowed.length === 0) {
        callback(new BlockedAddressError(hostname, addresses[0]?.address ?? hostname), '', undefined);
        return;
      }
      if (options.all === true) callback(null, allowed);
      else
        callback(null, (allowed[0] as dns.LookupAddress).address, (allowed[0] as dns.LookupAddress).family);
    });
  };
}

/** A blocking lookup carries this marker, so the literal check below cannot disagree with it. */
type MarkedLookup = LookupFunction & { blocksLinkLocal?: true };

/** The lookup both upstream clients (pools.ts, lane.ts) resolve through when blocking is on. */
export function markedBlockingLookup(): LookupFunction {
  return Object.assign(blockingLookup(), { blocksLinkLocal: true as const });
}

/**
 * net.connect skips `lookup` for an IP literal, so a blocking lookup never sees one: literals are
 * checked here instead, before connecting. Only connections made with the marked lookup refuse
 * literals (VAULTGATE_BLOCK_LINK_LOCAL=false builds none).
 */
export function refusedLiteral(host: string | null | undefined, lookup: unknown): BlockedAddressError | null {
  if (!(lookup as MarkedLookup | undefined)?.blocksLinkLocal) return null;
  const plain = (host ?? '').replace(/^\[|\]$/g, '');
  return net.isIP(plain) !== 0 && isLinkLocal(plain) ? new BlockedAddressError(plain, plain) : null;
}
