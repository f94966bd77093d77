import type { RunContext } from './types.js';

/** A numeric tuning option (`--name=value` or RELIABILITY_NAME), else the default for the mode. */
export function numberOption(
  ctx: RunContext,
  name: string,
  defaults: { quick: number; full: number },
): number {
  const raw = ctx.options[name];
  if (raw === undefined) return defaults[ctx.mode];
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`--${name} must be a non-negative number, not "${raw}"`);
  return value;
}

/** Percentile of a list of numbers (nearest rank); NaN for an empty list. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
