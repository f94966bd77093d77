import type { FailureThrottle } from '../../limits/throttle.js';
import type { CredentialHasher } from '../../secrets/credentials.js';
import type { RuntimeConfig, RuntimeCredential, RuntimeVault } from '../../snapshot/types.js';

/** Who is using the proxy: an active access credential and the vault it belongs to (SPEC §4). */
export interface Principal {
  /** The snapshot this principal was resolved against; a different one means "look again". */
  readonly config: RuntimeConfig;
  readonly credential: RuntimeCredential;
  readonly vault: RuntimeVault;
}

/** Why authentication failed, for the log line only: the client always gets the same 407. */
export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'wrong_password' | 'inactive' | 'no_vault';

export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; reason: AuthFailure }
  /** A wrong credential over the failure limit of its (address, username) or address: 429. */
  | { ok: false; reason: 'throttled'; retryAfter: number };

/**
 * Failures that may be guesses. A missing header is the first step of challenge-response clients; an
 * inactive credential was given with its right password, so an app left running with a deactivated
 * credential does not lock out the other apps on its host.
 */
const GUESSES: ReadonlySet<string> = new Set<AuthFailure>(['malformed', 'unknown', 'wrong_password']);

/** Parsed `Basic` credentials per successful header value; bounded so a flood of logins cannot grow it. */
const CACHE_LIMIT = 1024;
const BASIC = /^basic[ \t]+([A-Za-z0-9+/=._~-]+)[ \t]*$/i;

/**
 * `Proxy-Authorization: Basic` (RFC 9110 §11.7.2, RFC 7617) against the access credentials of the
 * current snapshot. Successful header values are remembered for as long as the snapshot they were
 * checked against is current, so a keep-alive client sending absolute-form requests pays the base64
 * decode and the HMAC once per snapshot, not once per request; any swap empties the memory, so a
 * credential deactivated or deleted through the API is refused at its next request.
 */
export class ProxyAuthenticator {
  readonly #hasher: CredentialHasher;
  readonly #snapshot: { readonly current: RuntimeConfig };
  readonly #throttle: FailureThrottle | undefined;
  readonly #cache = new Map<string, Principal>();
  #cacheConfig: RuntimeConfig | undefined;
  /** Compared against when the username is unknown, so both failures cost one HMAC. */
  readonly #decoy: Buffer;

  constructor(
    hasher: CredentialHasher,
    snapshot: { readonly current: RuntimeConfig },
    throttle?: FailureThrottle,
  ) {
    this.#hasher = hasher;
    this.#snapshot = snapshot;
    this.#throttle = throttle;
    this.#decoy = hasher.hash('vaultgate decoy password');
  }

  /**
   * `address` is the client's, for the failure throttle (src/limits/throttle.ts). The credential is
   * checked first: a right one is let in whatever others from its address failed (issue 13). A failure
   * that may be a guess (see GUESSES) is counted per (address, username) and per address; over the
   * limit it becomes 'throttled' (429) instead of 407.
   */
  authenticate(header: string | undefined, address: string): AuthResult {
    const result = this.#check(header);
    if (result.ok || !GUESSES.has(result.reason) || this.#throttle === undefined) return result;
    const retryAfter = this.#throttle.failed({
      listener: 'outbound',
      address,
      subject: result.username ?? '',
    });
    return retryAfter > 0 ? { ok: false, reason: 'throttled', retryAfter } : result;
  }

  #check(header: string | undefined): AuthResult & { username?: string } {
    const config = this.#snapshot.current;
    if (header === undefined || header === '') return { ok: false, reason: 'missing' };
    if (this.#cacheConfig !== config) {
      this.#cache.clear();
      this.#cacheConfig = config;
    }
    const cached = this.#cache.get(header);
    if (cached !== undefined) return { ok: true, principal: cached };

    const match = BASIC.exec(header);
    if (match === null) return { ok: false, reason: 'malformed', username: '' };
    const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
    // RFC 7617 §2: the user-id cannot contain a colon; the password may.
    const colon = decoded.indexOf(':');
    if (colon <= 0) return { ok: false, reason: 'malformed', username: '' };
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);

    const credential = config.credentialsByUsername.get(username);
    if (credential === undefined) {
      this.#hasher.verify(password, this.#decoy);
      return { ok: false, reason: 'unknown', username };
    }
    if (!this.#hasher.verify(password, credential.passwordHash))
      return { ok: false, reason: 'wrong_password', username };
    if (!credential.active) return { ok: false, reason: 'inactive' };
    const vault = config.vaultsById.get(credential.vaultId);
    if (vault === undefined) return { ok: false, reason: 'no_vault' };

    const principal: Principal = { config, credential, vault };
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(header, principal);
    return { ok: true, principal };
  }

  /**
   * Re-checks a principal authenticated earlier (at CONNECT) against the current snapshot, for each
   * request inside its tunnel. The password was verified once; the same credential id with the same
   * stored hash still accepts it, so no HMAC is needed. Same snapshot → same answer, at no cost.
   */
  recheck(principal: Principal): Principal | undefined {
    const config = this.#snapshot.current;
    if (principal.config === config) return principal;
    const credential = config.credentialsByUsername.get(principal.credential.username);
    if (
      credential === undefined ||
      !credential.active ||
      credential.id !== principal.credential.id ||
      !credential.passwordHash.equals(principal.credential.passwordHash)
    ) {
      return undefined;
    }
    const vault = config.vaultsById.get(credential.vaultId);
    return vault === undefined ? undefined : { config, credential, vault };
  }
}
