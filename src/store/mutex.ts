/** A FIFO async mutex: write transactions run one after another, in the order they were requested. */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;

  get locked(): boolean {
    return this.#pending > 0;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.#pending += 1;
    const result = this.#tail.then(fn);
    // The next caller waits for this one to settle, whether it succeeded or not.
    this.#tail = result.then(
      () => this.#release(),
      () => this.#release(),
    );
    return result;
  }

  /** Resolves once every queued task has settled. */
  async drain(): Promise<void> {
    await this.#tail;
  }

  #release(): void {
    this.#pending -= 1;
  }
}
