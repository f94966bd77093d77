/**
 * Errors the store raises in the same shape for both backends, so callers never inspect driver codes.
 */

/** A write broke a UNIQUE constraint (for example a second credential with the same username). */
export class UniqueViolationError extends Error {
  override readonly name = 'UniqueViolationError';
  readonly code = 'unique_violation';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
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
