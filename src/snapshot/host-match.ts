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

const context = vm.createContext({ re: /(?:)/, input: '' });
const script = new vm.Script('re.test(input)');
const memo = new Map<string, boolean | 'timeout'>();

export function guardedFullMatch(source: string, host: string): boolean | 'timeout' {
  const key = `${source}\n${host}`;
  const cached = memo.get(key);
  if (cached !== undefined) return cached;
  let result: boolean | 'timeout';
  try {
    context.re = new RegExp(`^(?:${source})$`, 'i');
    context.input = host;
    result = script.runInContext(context, { timeout: MATCH_BUDGET_MS }) === true;
  } catch {
    // Either the budget ran out or the source does not compile; both mean "never matches".
    result = 'timeout';
  }
  if (memo.size > 10_000) memo.clear();
  memo.set(key, result);
  return result;
}
