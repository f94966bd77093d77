import type { Evidence } from '../../reliability/lib/evidence.js';

/**
 * The shape every reliability scenario module returns (reliability/README.md): a name, the figures it
 * measured, the target they are judged against, and whether they met it. Scenarios also list the
 * individual checks that failed, so a red run says what broke.
 */
export interface ScenarioResult {
  name: string;
  figures: Record<string, number | string>;
  target: string;
  pass: boolean;
  /** One line per failed check; empty when `pass`. */
  failures: string[];
}

export interface ScenarioOptions {
  /** The short version run inside `npm test`: fewer rounds, same checks. */
  quick?: boolean;
  /** From the reliability runner: `--name=value` tuning flags. */
  options?: Readonly<Record<string, string>>;
  /** From the reliability runner: secrets created and texts seen, for the secrets scan. */
  evidence?: Evidence;
}

/** Collects checks: `check(ok, what)` records `what` as a failure when `ok` is false. */
export function checker(): { check(ok: boolean, what: string): boolean; failures: string[] } {
  const failures: string[] = [];
  return {
    failures,
    check(ok, what) {
      if (!ok) failures.push(what);
      return ok;
    },
  };
}

/** Resolves `promise` or rejects after `ms`, so no step of a scenario can hang the run. */
export function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
