/**
 * What runs in the offload threads. Each job is synchronous, takes plain data and returns plain
 * data (structured clone), and reports a user's mistake as a VaultgateError.
 */
import { readCaBundle } from '../certificates/ca-bundle.js';
import { checkClientAuth } from '../certificates/client-auth.js';
import { parseUpload } from '../certificates/upload.js';
import { VaultgateError } from '../errors.js';
import { LINEAR_ENGINE } from '../snapshot/linear-regex.js';
import { guardedFullMatch, hostPatternProblem } from '../snapshot/host-match.js';
import type { JobName, Jobs } from './protocol.js';

const handlers: { [N in JobName]: (input: Jobs[N]['input']) => Jobs[N]['output'] } = {
  parseUpload: (input) => parseUpload(input),
  checkHostEndpoint: (source) => {
    const problem = hostPatternProblem(source);
    if (problem !== null) {
      throw new VaultgateError('invalid_field', `host_endpoint ${problem}.`, 'host_endpoint');
    }
    // Without the linear engine (a Node whose V8 lacks it) matching backtracks: refuse a regex that
    // explodes on a long near-miss host, as before.
    if (!LINEAR_ENGINE && guardedFullMatch(source, `${'a'.repeat(64)}.${'a-'.repeat(40)}!`) === 'timeout') {
      throw new VaultgateError(
        'invalid_field',
        'host_endpoint takes too long to evaluate (nested repetition such as "(a+)+" backtracks without bound); simplify the regular expression.',
        'host_endpoint',
      );
    }
    return null;
  },
  checkCaPem: (pem) => readCaBundle(pem),
  checkClientAuth: ({ settings, field }) => checkClientAuth(settings, field),
};

export function runJob(name: JobName, input: unknown): unknown {
  const handler = handlers[name] as ((input: unknown) => unknown) | undefined;
  if (handler === undefined) throw new Error(`unknown offload job ${String(name)}`);
  return handler(input);
}
