import vm from 'node:vm';

/**
 * Route `host_endpoint` regexes are user input, and JavaScript regexes backtrack: `(a+)+$` can take
 * minutes on a short string. vaultgate therefore never runs one on the request path. An inbound
 * request reaches a vault only through its exact host `<vault_id>.<environment>.<domain>`, so whether
 * a route matches is a fact about (regex, vault host) that is computed once, here, under a time
 * budget: the vm module interrupts a runaway match, and a regex that needs more than the budget is
 * treated as matching nothing (and refused by the API when it is created).
 */
export const MATCH_BUDGET_MS = 50;
/**
 * The budget is wall-clock time, so a GC pause or a busy machine can exhaust it for an innocent
 * regex; a timeout is therefore confirmed once with a longer budget before it counts.
 */
const CONFIRM_BUDGET_MS = 500;

const context = vm.createContext({ re: /(?:)/, input: '' });
const script = new vm.Script('re.test(input)');
const memo = new Map<string, boolean | 'timeout'>();

export function guardedFullMatch(source: string, host: string): boolean | 'timeout' {
  const key = `${source}\n${host}`;
  const cached = memo.get(key);
  if (cached !== undefined) return cached;
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${source})$`, 'i');
  } catch {
    return 'timeout'; // a source that does not compile never matches (the API refuses it anyway)
  }
  let result = run(re, host, MATCH_BUDGET_MS);
  if (result === 'timeout') result = run(re, host, CONFIRM_BUDGET_MS);
  if (memo.size > 10_000) memo.clear();
  memo.set(key, result);
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

/** Whether a route's host_endpoint fully matches `host` (lower-case), under the time budget. */
export function routeMatchesHost(route: { readonly hostEndpoint: string }, host: string): boolean {
  return guardedFullMatch(route.hostEndpoint, host) === true;
}
