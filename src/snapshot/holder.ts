import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/types.js';
import type { SnapshotBuilder } from './build.js';
import type { RuntimeConfig } from './types.js';

export type SwapListener = (next: RuntimeConfig, previous: RuntimeConfig) => void;

/**
 * Holds the current RuntimeConfig and replaces it whole (Caddy-style): a new snapshot is built
 * completely before it is swapped in, and if building fails the old one keeps serving.
 *
 * refresh() resolves with a snapshot built from a store read that started after the call, so an
 * API handler that awaits it knows the data plane already follows its write (SPEC §4, "Changes
 * apply at once"). Concurrent calls share one queued rebuild.
 */
export class SnapshotHolder {
  #current: RuntimeConfig;
  #tail: Promise<unknown> = Promise.resolve();
  #queued: Promise<RuntimeConfig> | undefined;
  readonly #listeners: SwapListener[] = [];

  private constructor(
    private readonly store: Store,
    private readonly builder: SnapshotBuilder,
    private readonly logger: Logger,
    initial: RuntimeConfig,
  ) {
    this.#current = initial;
  }

  static async create(store: Store, builder: SnapshotBuilder, logger: Logger): Promise<SnapshotHolder> {
    const version = await store.version();
    const initial = await builder.build(store.read, version);
    const holder = new SnapshotHolder(store, builder, logger, initial);
    store.onRemoteChange(() => {
      holder
        .refresh()
        .catch((err: unknown) => logger.error('could not apply a change from another instance', { err }));
    });
    return holder;
  }

  get current(): RuntimeConfig {
    return this.#current;
  }

  onSwap(listener: SwapListener): void {
    this.#listeners.push(listener);
  }

  refresh(): Promise<RuntimeConfig> {
    if (this.#queued) return this.#queued;
    const queued = this.#tail.then(() => {
      this.#queued = undefined;
      return this.#rebuild();
    });
    this.#queued = queued;
    this.#tail = queued.catch(() => undefined);
    return queued;
  }

  /**
   * Resolves with a snapshot of at least `version`: the current one when it already is (a change
   * from another instance may have brought it), else a refresh(). Data-plane workers answer the
   * control plane's "serve version N" with this (src/dataplane/worker.ts).
   */
  refreshTo(version: number): Promise<RuntimeConfig> {
    if (this.#current.version >= version) return Promise.resolve(this.#current);
    return this.refresh();
  }

  async #rebuild(): Promise<RuntimeConfig> {
    const version = await this.store.version();
    const next = await this.builder.build(this.store.read, version);
    const previous = this.#current;
    this.#current = next;
    for (const listener of this.#listeners) {
      try {
        listener(next, previous);
      } catch (err) {
        this.logger.error('a snapshot listener failed', { err });
      }
    }
    return next;
  }
}
