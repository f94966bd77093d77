import type { ErrorCode } from '../../errors.js';
import type { RuntimeConfig, RuntimeVault } from '../../snapshot/types.js';

/**
 * What one name the inbound listener answers to stands for: the vault, and the name's own TLS and
 * caller-mTLS settings. Today every name is a vault's `<vault_id>.<environment>.<domain>`; custom
 * hostnames (SPEC §2) join as further entries, each its own object, so "SNI and Host name different
 * hostnames" is the same identity test as "different vaults".
 */
export interface InboundName {
  readonly vault: RuntimeVault;
  /**
   * Whether the name asks callers for a certificate (SPEC §2 `client_auth` other than `off`): such a
   * name must be reached with SNI, since the TLS handshake is where the certificate is asked for.
   * False for every vault's own host until caller mTLS lands.
   */
  readonly callerAuth: boolean;
}

/** The name a Host header or SNI value resolves to, or undefined. `name` is lower-case, no port. */
export function resolveName(snapshot: RuntimeConfig, name: string): InboundName | undefined {
  const vault = snapshot.vaultsByHost.get(name);
  return vault === undefined ? undefined : { vault, callerAuth: false };
}

function sameName(a: InboundName, b: InboundName): boolean {
  // Two lookups of one vault host give two objects; custom hostnames will compare their own ids.
  return a.vault === b.vault;
}

export type Selection =
  | { readonly ok: true; readonly name: InboundName }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

/**
 * Host selects the vault (SPEC §3); SNI must agree with it (SPEC §2). The TLS side of the connection —
 * the server certificate, and with caller mTLS the certificate check — followed the SNI, so a Host of
 * another vault would be served under what was negotiated for the first: `421 misdirected_request`
 * (RFC 9110 §15.5.20), which tells the client to open a new connection for that host.
 *
 * No SNI is allowed (a client connecting by IP address sends none, RFC 6066 §3), and so is an SNI
 * that names no vault (e.g. `localhost`, which the listener certificate also covers): the handshake
 * then applied no vault's settings. Only a name that asks for caller mTLS must be reached by its SNI.
 */
export function selectName(
  snapshot: RuntimeConfig,
  host: string,
  sni: string | null,
  domain: string,
): Selection {
  const name = resolveName(snapshot, host);
  if (name === undefined) {
    return {
      ok: false,
      code: 'vault_not_found',
      message: `No vault serves the host "${host}"; inbound hosts look like <vault_id>.<environment>.${domain}.`,
    };
  }
  const negotiated = sni === null ? undefined : resolveName(snapshot, sni.toLowerCase().replace(/\.$/, ''));
  if (negotiated !== undefined ? !sameName(negotiated, name) : name.callerAuth) {
    return {
      ok: false,
      code: 'misdirected_request',
      message:
        negotiated === undefined
          ? `The host "${host}" must be reached with its own name in TLS SNI; connect to https://${host}/ by name.`
          : `This connection was opened for "${sni}" (TLS SNI), not for "${host}"; open a new connection to https://${host}/ for it.`,
    };
  }
  return { ok: true, name };
}
