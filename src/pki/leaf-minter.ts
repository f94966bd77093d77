import type { KeyObject, webcrypto } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { certificatePem, generateKeyPair, pkcs8Pem, validity, x509 } from './crypto.js';
import { normaliseHost, type NormalisedHost } from '../hosts/names.js';
import { chainPem, issueServerCertificate, loadIssuer, type Issuer } from './issuer.js';
import { Lru } from './lru.js';

export interface LeafMinterOptions {
  caCertPem: string;
  caKey: KeyObject;
  /** Hosts kept with their ready TLS context; the least recently used one goes first. */
  maxEntries?: number;
  /**
   * Whole life of each leaf. 30 days keeps a leaked leaf short-lived while a busy process re-mints
   * rarely; it is far inside Apple's 825-day limit for locally trusted roots and CA/B's 398 days.
   */
  validityDays?: number;
  /** Clock, for tests of renewal. */
  now?: () => number;
}

export interface MintedLeaf {
  /** The normalised host the leaf was minted for (lower-case, no trailing dot, bare IPv6). */
  host: string;
  /** The leaf alone. */
  certPem: string;
  notAfter: Date;
  /** Leaf + CA chain + the minter's shared key, built once per host. */
  secureContext: SecureContext;
}

export interface LeafMinterStats {
  mints: number;
  hits: number;
  cached: number;
  inFlight: number;
  maxEntries: number;
}

interface SharedMaterial {
  issuer: Issuer;
  publicKey: webcrypto.CryptoKey;
  keyPem: string;
  subjectKeyIdentifier: x509.SubjectKeyIdentifierExtension;
}

const DAY_MS = 86_400_000;

/**
 * Mints certificates for intercepted hosts (SPEC §4 CONNECT), signed by one CA (a vault's outbound CA).
 *
 * Every leaf of one minter carries the same key pair: the client verifies the chain, not key
 * uniqueness, and reusing the key makes a new host cost one ECDSA signature instead of a key
 * generation as well. The key never leaves the process.
 */
export class LeafMinter {
  readonly #options: LeafMinterOptions;
  readonly #validityDays: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #cache: Lru<string, MintedLeaf>;
  readonly #inFlight = new Map<string, Promise<MintedLeaf>>();
  #shared: Promise<SharedMaterial> | undefined;
  #mints = 0;
  #hits = 0;

  constructor(options: LeafMinterOptions) {
    this.#options = options;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#validityDays = options.validityDays ?? 30;
    this.#now = options.now ?? Date.now;
    this.#cache = new Lru(this.#maxEntries);
    validity(this.#validityDays); // fail at construction, naming the option, not at the first mint
  }

  /** Number of certificates signed so far (cache hits and joined in-flight mints not counted). */
  get mints(): number {
    return this.#mints;
  }

  stats(): LeafMinterStats {
    return {
      mints: this.#mints,
      hits: this.#hits,
      cached: this.#cache.size,
      inFlight: this.#inFlight.size,
      maxEntries: this.#maxEntries,
    };
  }

  /** The TLS context to terminate a client's connection to `host`. Throws InvalidHostError on garbage. */
  async contextFor(host: string): Promise<SecureContext> {
    return (await this.leafFor(host)).secureContext;
  }

  /**
   * The leaf for `host`, minted at most once at a time: concurrent callers for a new host share one
   * in-flight promise, so a burst of connections to it costs one signature. A failed mint is forgotten
   * so the next call tries again.
   */
  leafFor(host: string): Promise<MintedLeaf> {
    let normalised: NormalisedHost;
    try {
      normalised = normaliseHost(host);
    } catch (error) {
      return Promise.reject(error as Error); // one way to fail for callers: a rejected promise
    }
    const { kind, name } = normalised;
    const cached = this.#cache.get(name);
    if (cached && !this.#dueForRenewal(cached)) {
      this.#hits++;
      return Promise.resolve(cached);
    }
    const pending = this.#inFlight.get(name);
    if (pending) return pending;

    const minting = this.#mint(kind, name).then(
      (leaf) => {
        this.#inFlight.delete(name);
        this.#cache.set(name, leaf);
        return leaf;
      },
      (error: unknown) => {
        this.#inFlight.delete(name);
        throw error;
      },
    );
    this.#inFlight.set(name, minting);
    return minting;
  }

  /** Renew once a third of the life is left, so clients never see a leaf close to expiry. */
  #dueForRenewal(leaf: MintedLeaf): boolean {
    return leaf.notAfter.getTime() - this.#now() < (this.#validityDays * DAY_MS) / 3;
  }

  async #mint(kind: 'dns' | 'ip', name: string): Promise<MintedLeaf> {
    const shared = await this.#sharedMaterial();
    const leaf = await issueServerCertificate(shared.issuer, {
      publicKey: shared.publicKey,
      subjectKeyIdentifier: shared.subjectKeyIdentifier,
      dnsNames: kind === 'dns' ? [name] : [],
      ipAddresses: kind === 'ip' ? [name] : [],
      validity: validity(this.#validityDays, this.#now()),
    });
    this.#mints++;
    return {
      host: name,
      certPem: certificatePem(leaf),
      notAfter: leaf.notAfter,
      secureContext: createSecureContext({ cert: chainPem(leaf, shared.issuer), key: shared.keyPem }),
    };
  }

  /** The CA and the shared key pair, prepared once (and again only if preparing failed). */
  #sharedMaterial(): Promise<SharedMaterial> {
    this.#shared ??= (async () => {
      const issuer = await loadIssuer(this.#options.caCertPem, this.#options.caKey);
      const keys = await generateKeyPair();
      return {
        issuer,
        publicKey: keys.publicKey,
        keyPem: await pkcs8Pem(keys.privateKey),
        subjectKeyIdentifier: await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      };
    })();
    this.#shared.catch(() => {
      this.#shared = undefined;
    });
    return this.#shared;
  }
}
