/**
 * "direct": no proxy at all. The load generator talks to the upstream itself, presenting the client
 * certificate — the ceiling every proxy is measured against. It has no process of its own, so it has
 * no CPU or memory figure.
 */
import type { StartOptions, SystemHandle } from './types.js';

export function directHandle(opts: StartOptions): SystemHandle {
  return {
    name: 'direct',
    workers: '–',
    pids: () => [],
    inbound: {
      port: opts.upstream.port,
      hostHeader: `127.0.0.1:${opts.upstream.port}`,
      caPem: opts.pki.caPem,
    },
    stop: async () => undefined,
  };
}
