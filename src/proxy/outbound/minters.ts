import { LeafMinter } from '../../pki/index.js';
import type { RuntimeConfig, RuntimeVault } from '../../snapshot/types.js';

interface Entry {
  /** The CA the minter signs with: a vault whose CA changed gets a new minter, never stale leaves. */
  caCertPem: string;
  minter: LeafMinter;
}

/**
 * One LeafMinter per vault (SPEC §4: leaves are signed by the vault's own outbound CA), created on
 * the vault's first CONNECT so an idle vault costs nothing, and dropped with its cached leaves and
 * shared leaf key when the vault leaves the snapshot.
 */
export class VaultMinters {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number | undefined;
  /** Leaves signed by minters since dropped, so the total only ever grows (a Prometheus counter). */
  #retiredMints = 0;

  constructor(maxEntriesPerVault?: number) {
    this.#maxEntries = maxEntriesPerVault;
  }

  get size(): number {
    return this.#entries.size;
  }

  for(vault: RuntimeVault): LeafMinter {
    const entry = this.#entries.get(vault.id);
    if (entry !== undefined && entry.caCertPem === vault.outboundCa.certPem) return entry.minter;
    if (entry !== undefined) this.#retiredMints += entry.minter.mints;
    const minter = new LeafMinter({
      caCertPem: vault.outboundCa.certPem,
      caKey: vault.outboundCa.key,
      ...(this.#maxEntries === undefined ? {} : { maxEntries: this.#maxEntries }),
    });
    this.#entries.set(vault.id, { caCertPem: vault.outboundCa.certPem, minter });
    return minter;
  }

  /** Snapshot swap: forget minters of vaults that are gone or whose CA is no longer theirs. */
  retain(next: RuntimeConfig): void {
    for (const [id, entry] of this.#entries) {
      const vault = next.vaultsById.get(id);
      if (vault === undefined || vault.outboundCa.certPem !== entry.caCertPem) {
        this.#retiredMints += entry.minter.mints;
        this.#entries.delete(id);
      }
    }
  }

  /** Leaves signed since start, by every minter (for the metrics). */
  mints(): number {
    let total = this.#retiredMints;
    for (const entry of this.#entries.values()) total += entry.minter.mints;
    return total;
  }
}
