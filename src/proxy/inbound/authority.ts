import type { ErrorCode } from '../../errors.js';
import type { InboundName, RuntimeConfig } from '../../snapshot/types.js';

/** The name a Host header or SNI value resolves to, or undefined. `name` is lower-case, no port. */
export function resolveName(snapshot: RuntimeConfig, name: string): InboundName | undefined {
  return snapshot.inboundNames.get(name);
}

/** Whether the name asks callers for a certificate: such a name must be reached with its SNI. */
const callerAuth = (name: InboundName): boolean => name.tls.clientAuth !== 'off';

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
 * One exception: a TLS 1.2 session resumed by ticket reports no SNI (OpenSSL keeps none in the
 * session), so `resumed` lifts that rule; the caller's identity is then checked on its own terms
 * (caller-identity.ts accepts it only if a full handshake verified it for this very name).
 */
export function selectName(
  snapshot: RuntimeConfig,
  host: string,
  sni: string | null,
  domain: string,
  resumed = false,
): Selection {
  const name = resolveName(snapshot, host);
  if (name === undefined) {
    return {
      ok: false,
      code: 'vault_not_found',
      message: `No vault serves the host "${host}"; inbound hosts look like <vault_id>.<environment>.${domain}, or a custom hostname added to a vault.`,
    };
  }
  const negotiated = sni === null ? undefined : resolveName(snapshot, sni.toLowerCase().replace(/\.$/, ''));
  // Two lookups under one wildcard hostname give the same object: one name, one TLS setting.
  if (negotiated !== undefined ? negotiated !== name : callerAuth(name) && !(resumed && sni === null)) {
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
