/**
 * Errors the store raises in the same shape for both backends, so callers never inspect driver codes.
 */

/** A write broke a UNIQUE constraint (for example a second credential with the same username). */
export class UniqueViolationError extends Error {
  override readonly name = 'UniqueViolationError';
  readonly code = 'unique_violation';
  /** `table.column` of the violated key when the driver says (e.g. `credentials.username`). */
  readonly target: string | undefined;

  constructor(message: string, target: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.target = target;
  }
}

/** The reason part of a one-sentence message: an error's text without its closing full stop. */
export function reasonOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/[.\s]+$/, '');
}

/** The database could not be opened or reached; the process should exit with code 2. */
export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
  readonly code = 'store_unavailable';
}

/** A write method was called on Store.read, which only reads. */
export class ReadOnlyRepoError extends Error {
  override readonly name = 'ReadOnlyRepoError';

  constructor(method: string) {
    super(`Repo.${method} changes data and must run inside Store.write.`);
  }
}
