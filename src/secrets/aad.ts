import { createHash } from 'node:crypto';

/**
 * The associated data each kind of sealed value is bound to (keyring.ts authenticates it in both
 * envelope layers). One function per kind, and the only place these strings are written: a value
 * opens only under the binding it was sealed with, so a ciphertext copied or moved onto another row
 * — another certificate, vault, credential or route, or next to another certificate — fails
 * authentication and is left out instead of being used (issue 13).
 */

/** The parts of a certificate row its sealed private key belongs to. */
export interface CertificateKeyOwner {
  id: string;
  vault_id: string;
  credential_id: string | null;
  route_id: string | null;
  /** The stored chain PEM, exactly as stored: the key is bound to the SHA-256 of its bytes. */
  certificate_pem: string;
}

/**
 * A certificate's private key: bound to the certificate id, its vault, the credential or route it is
 * tied to and the certificate chain beside it. With write access to the database but not the master
 * key, moving the row to another vault or route, or swapping its chain, makes the key unopenable.
 */
export function certificateKeyAad(owner: CertificateKeyOwner): string {
  const chain = createHash('sha256').update(owner.certificate_pem).digest('base64url');
  // JSON: no id can spell another's fields (an id containing ':' cannot shift the parts).
  return `certificate_key:${JSON.stringify([owner.id, owner.vault_id, owner.credential_id, owner.route_id, chain])}`;
}

/**
 * The binding certificate keys had before issue 13 (the id alone). Used only by the one-time
 * re-sealing at start-up (reseal.ts); nothing opens a key for use under it.
 */
export function legacyCertificateKeyAad(id: string): string {
  return `certificate:${id}:private_key`;
}

/** The parts of a hostname row its sealed server key belongs to. */
export interface HostnameKeyOwner {
  id: string;
  vault_id: string;
  hostname: string;
  certificate_pem: string;
}

/**
 * A custom hostname's server key: bound to the row, its vault, the name it serves and the chain
 * beside it, so a key moved to another hostname or vault, or paired with another chain, never opens.
 */
export function hostnameKeyAad(owner: HostnameKeyOwner): string {
  const chain = createHash('sha256').update(owner.certificate_pem).digest('base64url');
  return `hostname_key:${JSON.stringify([owner.id, owner.vault_id, owner.hostname, chain])}`;
}

/** A vault's outbound CA key: bound to its vault (a vault's CA key is never moved or replaced). */
export function outboundCaKeyAad(vaultId: string): string {
  return `vault:${vaultId}:outbound_ca_key`;
}

/** The secrets vaultgate keeps for itself in the store's meta table, each bound to its meta key. */
export type MetaSecret = 'master_key_check' | 'server_secret' | 'local_ca_key';

export function metaSecretAad(key: MetaSecret): string {
  return `meta:${key}`;
}

/**
 * A webhook's signing secret: bound to the webhook's id. Sealed rather than hashed, since every
 * delivery is signed with it (HMAC); a secret moved onto another webhook's row never opens.
 */
export function webhookSecretAad(webhookId: string): string {
  return `webhook_secret:${JSON.stringify([webhookId])}`;
}

/** The parts of a certificate request row its sealed private key belongs to. */
export interface CertificateRequestKeyOwner {
  id: string;
  vault_id: string;
  credential_id: string | null;
  route_id: string | null;
  /** The stored CSR PEM, exactly as stored: the key is bound to the SHA-256 of its bytes. */
  csr_pem: string;
}

/**
 * A key vaultgate generated for a certificate request: bound to the request, its vault, the
 * credential or route the certificate will be tied to, and the CSR signed with it. A key moved to
 * another request or vault, or a request re-pointed at another credential, never opens.
 */
export function certificateRequestKeyAad(owner: CertificateRequestKeyOwner): string {
  const csr = createHash('sha256').update(owner.csr_pem).digest('base64url');
  return `certificate_request_key:${JSON.stringify([owner.id, owner.vault_id, owner.credential_id, owner.route_id, csr])}`;
}
