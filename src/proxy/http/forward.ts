import type http from 'node:http';
import { certificateIdOf, currentAgent, gateOf, laneOf } from '../upstream/pools.js';
import type { BodyKind, ForwardOptions, ForwardResult, ForwardTarget } from './exchange.js';
import { NodeExchange } from './forward-node.js';
import { UndiciExchange } from './forward-undici.js';

export { clientKeyOf } from './exchange.js';
export type { ForwardOptions, ForwardResult, ForwardTarget } from './exchange.js';

/**
 * Forwards one request and streams both bodies with backpressure. Resolves when the exchange is over;
 * never rejects (failures are answered with a SPEC §5 error and reported in the result).
 *
 * Two upstream clients share each pool (pools.ts), its fair gate, certificate and trust: undici
 * (forward-undici.ts), about twice the throughput of Node's http client, carries every request it
 * can relay faithfully — no body, or a Content-Length body. The others keep Node's http.request
 * (forward-node.ts), because undici 7 cannot: it refuses an `Expect` header and treats a 100 as a bad
 * response, and it ends a chunked body without a trailer section. So `Expect`, a chunked body and a
 * `Trailer` announcement go through the agent, and so does a request target undici would refuse.
 *
 * What the caller must wire: register the same handler for the server's `checkContinue` event as for
 * `request` (`server.on('checkContinue', handler)`). Then `Expect: 100-continue` is forwarded and the
 * client gets its 100 Continue only when the upstream sends one (or its final answer instead, e.g.
 * 401 or 413, without the body ever being uploaded). Without that listener Node answers 100 at once
 * and the upstream's 100 is relayed as a second, harmless interim response (RFC 9110 §15.2).
 */
export function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  target: ForwardTarget,
  options: ForwardOptions = {},
): Promise<ForwardResult> {
  const agent = currentAgent(target.agent);
  const { headers } = req;
  // Node's server accepts only `chunked` as a request transfer coding, and never both fields.
  const body: BodyKind =
    headers['transfer-encoding'] !== undefined
      ? 'chunked'
      : headers['content-length'] !== undefined
        ? 'length'
        : 'none';
  const lane = laneOf(agent);
  const certificateId = certificateIdOf(agent);
  return new Promise((resolve) => {
    const node = (): NodeExchange =>
      new NodeExchange(req, res, target, body, certificateId, options, resolve, agent);
    const exchange =
      lane !== null && body !== 'chunked' && undiciCanCarry(req, target)
        ? new UndiciExchange(req, res, target, body, certificateId, options, resolve, lane, node)
        : node();
    exchange.start(gateOf(agent));
  });
}

/** What undici refuses or would alter (see forward()); the rest is relayed the same by both. */
function undiciCanCarry(req: http.IncomingMessage, target: ForwardTarget): boolean {
  const { headers } = req;
  if (headers.expect !== undefined || headers.trailer !== undefined) return false;
  // undici takes origin-form targets only ("/…"); an absolute or asterisk form keeps http.request.
  const path = target.path ?? target.url.pathname;
  return path.charCodeAt(0) === 0x2f;
}
