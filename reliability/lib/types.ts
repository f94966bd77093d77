/**
 * The contract between the reliability runner and its scenarios (see reliability/README.md).
 * A scenario module exports `scenario`; the runner calls `run` once and prints every row it returns.
 */
import type { Evidence } from './evidence.js';

export type Mode = 'quick' | 'full';

/** One row of the figures table. */
export interface ScenarioResult {
  name: string;
  /** Measured figures, printed as `key: value` in the table and kept as-is in latest.json. */
  figures: Record<string, number | string>;
  /** The target the figures are judged against, in words (printed in the table). */
  target: string;
  pass: boolean;
}

export interface RunContext {
  mode: Mode;
  /**
   * Secrets the scenario created (private keys, passwords, tokens) and every text it saw (child
   * logs, response bodies, /metrics, data dirs): the secrets scenario scans all of it at the end.
   */
  evidence: Evidence;
  /** `--name=value` flags from the command line and RELIABILITY_* variables, for tuning. */
  options: Readonly<Record<string, string>>;
  /** Progress line on stderr (the table goes to stdout). */
  log(message: string): void;
  /** A fresh temporary directory, removed when the run ends. */
  tempDir(prefix: string): string;
}

export interface Scenario {
  name: string;
  /** Runs only with --full (the soak). */
  fullOnly?: boolean;
  /** Runs after every other scenario (the secrets scan). */
  last?: boolean;
  run(ctx: RunContext): Promise<ScenarioResult | ScenarioResult[]>;
}
