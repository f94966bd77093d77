import { parseArgs } from 'node:util';
import { CONNECTION_FLAGS, OUTPUT_FLAGS, type FlagDef } from './commands.js';

/** Bad usage: printed as `error: usage: <message>` with a hint, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  values: FlagValues;
  positionals: string[];
}

/** node:util parseArgs over the given flags, with its errors turned into UsageError naming the flag. */
export function parseFlags(args: readonly string[], flags: readonly FlagDef[], hint: string): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const f of flags) {
    options[f.name] = { type: f.value === undefined ? 'boolean' : 'string', multiple: f.multiple === true };
  }
  if (options.help !== undefined) options.help.short = 'h';
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as FlagValues, positionals };
  } catch (err) {
    const code = (err as { code?: string }).code;
    const message = err instanceof Error ? err.message : String(err);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new UsageError(`unknown flag ${flag}`, hint);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const flag = /'(--[a-z0-9-]+)/.exec(message)?.[1];
      throw new UsageError(
        flag === undefined
          ? message
          : `${flag} ${flags.find((f) => `--${f.name}` === flag)?.value === undefined ? 'takes no value' : 'needs a value'}`,
        hint,
      );
    }
    throw new UsageError(message, hint);
  }
}

/**
 * Takes the connection flags (--url, --token-file, --ca-file) out of `args`, wherever they are, so
 * that export and apply need not know them: they are every command's.
 */
export function takeConnectionFlags(args: readonly string[]): { rest: string[]; connection: FlagValues } {
  const names = new Set(CONNECTION_FLAGS.map((f) => `--${f.name}`));
  const rest: string[] = [];
  const connection: FlagValues = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (!names.has(name)) {
      rest.push(arg);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = args[i + 1];
      i++;
    }
    if (value === undefined || value === '' || (eq === -1 && value.startsWith('--')))
      throw new UsageError(`${name} needs a value`, 'run vaultgate --help for the connection flags');
    connection[name.slice(2)] = value;
  }
  return { rest, connection };
}

/** The flags every verb takes besides its own. */
export const COMMON_FLAGS: readonly FlagDef[] = [...CONNECTION_FLAGS, ...OUTPUT_FLAGS];

export function stringFlag(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function requireFlag(values: FlagValues, name: string, hint: string): string {
  const v = stringFlag(values, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`, hint);
  return v;
}

/** A flag that takes one of a few words. */
export function choiceFlag<T extends string>(
  values: FlagValues,
  name: string,
  choices: readonly T[],
  hint: string,
): T | undefined {
  const v = stringFlag(values, name);
  if (v === undefined) return undefined;
  if (!(choices as readonly string[]).includes(v))
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}, not "${v}"`, hint);
  return v as T;
}
