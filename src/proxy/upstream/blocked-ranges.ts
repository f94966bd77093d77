import dns from 'node:dns';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { BlockedAddressError, type BlockReason } from './classify.js';

/**
 * Upstreams vaultgate never connects to (SPEC §4, issue 13), checked on the address actually
 * connected to, after DNS resolution:
 *
 * - its own listeners: any local address (loopback, the unspecified 0.0.0.0 and ::, which connect to
 *   the host itself, and every interface address) with one of its listener ports. Listeners may bind
 *   a wildcard, so "its address" is every local one. Without this, anyone with a proxy credential
 *   reaches the management API and dashboard through the outbound proxy (`GET http://127.0.0.1:9000/`),
 *   from wherever the proxy is reachable, with the proxy's own loopback address.
 * - link-local ranges (RFC 3927, RFC 4291 §2.5.6), unless VAULTGATE_BLOCK_LINK_LOCAL=false. Cloud
 *   metadata services answer there — AWS, GCP and Azure at 169.254.169.254 — and hand out the
 *   instance's credentials to whoever asks (SSRF).
 * - the CIDR ranges of VAULTGATE_BLOCKED_UPSTREAMS (the operator's internal networks).
 *
 * IPv4-mapped IPv6 spellings (`::ffff:127.0.0.1`, `::ffff:7f00:1`) are checked as the IPv4 address
 * they reach.
 */
export interface BlockPolicy {
  /** VAULTGATE_BLOCK_LINK_LOCAL. */
  readonly linkLocal: boolean;
  /** VAULTGATE_BLOCKED_UPSTREAMS, validated CIDR ranges (src/config/settings.ts). */
  readonly ranges: readonly string[];
  /** The ports vaultgate's own listeners are bound to (admin, inbound, outbound, outbound_tls). */
  readonly ownPorts: readonly number[];
}

const LINK_LOCAL = new net.BlockList();
LINK_LOCAL.addSubnet('169.254.0.0', 16, 'ipv4');
LINK_LOCAL.addSubnet('fe80::', 10, 'ipv6');

/** An IP address without brackets or zone id, an IPv4-mapped IPv6 one as its IPv4 address; or null. */
export function plainAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } | null {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = net.isIP(bare);
  if (family === 4) return { address: bare, family: 'ipv4' };
  if (family !== 6) return null;
  const dotted = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (dotted) return { address: dotted[1] as string, family: 'ipv4' };
  const hex = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(bare);
  if (hex) {
    const hi = parseInt(hex[1] as string, 16);
    const lo = parseInt(hex[2] as string, 16);
    return { address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: 'ipv4' };
  }
  return { address: bare, family: 'ipv6' };
}

/** Whether an IP address (v4 or v6, without brackets or zone) is link-local. */
export function isLinkLocal(address: string): boolean {
  const plain = plainAddress(address);
  return plain !== null && LINK_LOCAL.check(plain.address, plain.family);
}

/** The addresses that reach this host: loopback, unspecified, and the interfaces' (read once). */
function localAddresses(): net.BlockList {
  const list = new net.BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addSubnet('0.0.0.0', 8, 'ipv4'); // Linux connects 0.0.0.0 (and 0/8) to the host itself
  list.addAddress('::1', 'ipv6');
  list.addAddress('::', 'ipv6');
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      const plain = plainAddress(entry.address);
      if (plain !== null) list.addAddress(plain.address, plain.family);
    }
  }
  return list;
}

const LOOKUP_LIMIT_MS = 2_000;

export class UpstreamBlocker {
  readonly #ports: ReadonlySet<number>;
  readonly #local: net.BlockList;
  readonly #linkLocal: boolean;
  readonly #ranges: { list: net.BlockList; cidr: string }[];

  constructor(policy: BlockPolicy) {
    this.#ports = new Set(policy.ownPorts.filter((p) => p > 0));
    this.#local = localAddresses();
    this.#linkLocal = policy.linkLocal;
    this.#ranges = policy.ranges.map((cidr) => {
      const [network, bits] = cidr.split('/') as [string, string];
      const plain = plainAddress(network);
      const list = new net.BlockList();
      if (plain !== null) list.addSubnet(plain.address, Number(bits), plain.family);
      return { list, cidr };
    });
  }

  /** Why `address:port` may not be an upstream, or null when it may. */
  why(address: string, port: number): { reason: BlockReason; detail: string } | null {
    const plain = plainAddress(address);
    if (plain === null) return null;
    if (this.#ports.has(port) && this.#local.check(plain.address, plain.family))
      return { reason: 'listener', detail: String(port) };
    if (this.#linkLocal && LINK_LOCAL.check(plain.address, plain.family))
      return { reason: 'link_local', detail: '' };
    for (const range of this.#ranges) {
      if (range.list.check(plain.address, plain.family)) return { reason: 'range', detail: range.cidr };
    }
    return null;
  }

  /** The refusal of an IP literal (or '' / a name: null, the lookup checks those). */
  refusal(host: string, address: string, port: number): BlockedAddressError | null {
    const blocked = this.why(address, port);
    return blocked === null
      ? null
      : new BlockedAddressError(host, address, blocked.reason, blocked.detail, port);
  }

  /**
   * Resolves `host` (an IP literal or a name) and refuses it when any of its addresses is blocked
   * at `port` — for checks ahead of any connection (route creation), where "some addresses are
   * fine" is no answer: which one a later connection picks is not known. A name that does not resolve
   * is not refused here (the connection fails later as upstream_unreachable).
   */
  async check(
    host: string,
    port: number,
    base: BaseLookup = dns.lookup as BaseLookup,
  ): Promise<BlockedAddressError | null> {
    const bare = host.replace(/^\[|\]$/g, '');
    if (plainAddress(bare) !== null) return this.refusal(bare, bare, port);
    // A resolver that does not answer within LOOKUP_LIMIT_MS holds no API call longer: the name is
    // let through here, and the connection's own lookup still refuses a blocked answer.
    const addresses = await new Promise<dns.LookupAddress[]>((resolve) => {
      const timer = setTimeout(() => resolve([]), LOOKUP_LIMIT_MS);
      base(bare, { all: true }, (err, found) => {
        clearTimeout(timer);
        resolve(err ? [] : found);
      });
    });
    for (const a of addresses) {
      const refused = this.refusal(bare, a.address, port);
      if (refused !== null) return refused;
    }
    return null;
  }
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

export type BaseLookup = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

/**
 * A `lookup` for upstream sockets to `port` that drops blocked addresses from the answer, so a DNS
 * name that resolves to one (a rebinding name, `metadata.google.internal`, `localhost`, an
 * attacker's record) is refused like the IP literal. When the name also has other addresses, only
 * those are used; when it has none, the connection fails with BlockedAddressError before a packet is
 * sent. The check happens on the address actually connected to, after resolution, so no second
 * lookup can disagree with it.
 */
export function blockingLookup(
  blocker: UpstreamBlocker,
  port: number,
  base: BaseLookup = dns.lookup as BaseLookup,
): LookupFunction {
  return (hostname, options, callback) => {
    base(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, options.all === true ? [] : '', undefined);
        return;
      }
      const allowed = addresses.filter((a) => blocker.why(a.address, port) === null);
      if (allowed.length === 0) {
        const first = addresses[0]?.address ?? hostname;
        callback(
          blocker.refusal(hostname, first, port) ??
            new BlockedAddressError(hostname, first, 'link_local', '', port),
          '',
          undefined,
        );
        return;
      }
      if (options.all === true) callback(null, allowed);
      else
        callback(null, (allowed[0] as dns.LookupAddress).address, (allowed[0] as dns.LookupAddress).family);
    });
  };
}

/**
 * A blocking lookup carries this marker, so the literal check below cannot disagree with it. The
 * marked lookup itself does not know the port (net's lookup is not told it): connections take
 * `forPort(port)` of it (see portLookup), which also checks vaultgate's own listener ports.
 */
type MarkedLookup = LookupFunction & { blocker?: UpstreamBlocker };

/** The lookup both upstream clients (pools.ts, lane.ts) resolve through. */
export function markedBlockingLookup(blocker: UpstreamBlocker): LookupFunction {
  return Object.assign(blockingLookup(blocker, -1), { blocker });
}

/** The lookup for one connection to `port`: the marked lookup narrowed to that port, else as given. */
export function portLookup(lookup: unknown, port: number): LookupFunction | undefined {
  const blocker = (lookup as MarkedLookup | undefined)?.blocker;
  if (blocker === undefined) return lookup as LookupFunction | undefined;
  return Object.assign(blockingLookup(blocker, port), { blocker });
}

/**
 * net.connect skips `lookup` for an IP literal, so a blocking lookup never sees one: literals are
 * checked here instead, before connecting. Only connections made with the marked lookup refuse them.
 */
export function refusedLiteral(
  host: string | null | undefined,
  port: number,
  lookup: unknown,
): BlockedAddressError | null {
  const blocker = (lookup as MarkedLookup | undefined)?.blocker;
  if (blocker === undefined) return null;
  const plain = (host ?? '').replace(/^\[|\]$/g, '');
  return net.isIP(plain) !== 0 ? blocker.refusal(plain, plain, port) : null;
}
