import vm from 'node:vm';
import { LINEAR_ENGINE, PatternError, compileLinear } from './linear-regex.js';

/**
 * Route `host_endpoint` regexes are user input, matched against hosts a client chooses (the outbound
 * proxy's CONNECT targets). A time budget on a backtracking engine still cost up to half a second
 * of event loop per new host, so matching runs on V8's linear-time engine (linear-regex.ts): the
 * cost is bounded by the host length (capped at 253, the DNS limit) times the pattern's size.
 *
 * The API refuses a regex that engine cannot run (backreferences, lookarounds). A route stored by an
 * older version may still hold one; it keeps working under the old guard — the vm module interrupts a
 * runaway match after a budget, and a timeout counts as "no match" — so an upgrade breaks no route.
 */
export const MAX_HOST_LENGTH = 253;
export const MATCH_BUDGET_MS = 50;
/**
 * The budget is wall-clock time, so a GC pause or a busy machine can exhaust it for an innocent
 * regex; a timeout is therefore confirmed once with a longer budget before it counts.
 */
const CONFIRM_BUDGET_MS = 500;

type Compiled = { readonly linear: RegExp } | { readonly legacy: RegExp } | null;
const compiled = new Map<string, Compiled>();
const legacyMemo = new Map<string, boolean | 'timeout'>();
const context = vm.createContext({ re: /(?:)/, input: '' });
const script = new vm.Script('re.test(input)');

/**
 * Why `source` cannot be a host_endpoint (a sentence fragment for the API's message), or null.
 * Linear in the source's length, up to the expansion cap of linear-regex.ts.
 */
export function hostPatternProblem(source: string): string | null {
  try {
    new RegExp(`^(?:${source})$`);
  } catch (err) {
    return `is not a valid regular expression (${(err as Error).message.replace(/^Invalid regular expression: /, '')})`;
  }
  if (!LINEAR_ENGINE) return null;
  try {
    compileLinear(source);
    return null;
  } catch (err) {
    if (err instanceof PatternError) return `cannot be matched in linear time: ${err.message}`;
    throw err;
  }
}

function compile(source: string): Compiled {
  let entry = compiled.get(source);
  if (entry !== undefined) return entry;
  entry = null; // a source that does not compile never matches (the API refuses it anyway)
  try {
    entry = LINEAR_ENGINE ? { linear: compileLinear(source) } : { legacy: legacyRegex(source) };
  } catch (err) {
    if (err instanceof PatternError) {
      try {
        entry = { legacy: legacyRegex(source) };
      } catch {
        entry = null;
      }
    }
  }
  if (compiled.size >= 10_000) compiled.clear();
  compiled.set(source, entry);
  return entry;
}

const legacyRegex = (source: string): RegExp => new RegExp(`^(?:${source})$`, 'i');

/**
 * Whether `source` fully matches `host`, case-insensitively. `'timeout'` only for a legacy route's
 * regex that the linear engine cannot run and that ran out of its budget.
 */
export function guardedFullMatch(source: string, host: string): boolean | 'timeout' {
  if (host.length > MAX_HOST_LENGTH) return false;
  const entry = compile(source);
  if (entry === null) return 'timeout';
  const lower = host.toLowerCase();
  if ('linear' in entry) return entry.linear.test(lower);
  const key = `${source}\n${lower}`;
  const cached = legacyMemo.get(key);
  if (cached !== undefined) return cached;
  let result = run(entry.legacy, lower, MATCH_BUDGET_MS);
  if (result === 'timeout') result = run(entry.legacy, lower, CONFIRM_BUDGET_MS);
  if (legacyMemo.size > 10_000) legacyMemo.clear();
  legacyMemo.set(key, result);
  return result;
}

function run(re: RegExp, input: string, timeout: number): boolean | 'timeout' {
  context.re = re;
  context.input = input;
  try {
    return script.runInContext(context, { timeout }) === true;
  } catch {
    return 'timeout';
  }
}

/** Whether a route's host_endpoint fully matches `host`. */
export function routeMatchesHost(route: { readonly hostEndpoint: string }, host: string): boolean {
  return guardedFullMatch(route.hostEndpoint, host) === true;
}
