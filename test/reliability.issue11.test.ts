/**
 * The short versions of the issue 11 reliability scenarios (`npm run test:reliability -- --quick
 * --only=event-loop,resource-flood`), asserting only what must hold whatever the machine's speed:
 * every hostile upload answered without a 5xx and every probe answered 200 while they run; every
 * legitimate request served during a slow-body flood and every silent upload answered 408; every
 * request to a flood of distinct origins answered. The latency and RSS targets are the full suite's.
 */
import { describe, expect, it } from 'vitest';
import { runScenarios } from '../reliability/lib/runner.js';
import { scenario as eventLoop } from '../reliability/scenarios/event-loop.js';
import { scenario as resourceFlood } from '../reliability/scenarios/resource-flood.js';

describe('reliability, issue 11 short version', () => {
  it('hostile uploads, a slow-body flood and a distinct-origin flood leave the proxies serving', async () => {
    const lines: string[] = [];
    const run = await runScenarios([eventLoop, resourceFlood], 'quick', {}, (l) => lines.push(l));
    const rows = run.results;
    const loop = rows.find((r) => r.scenario === 'event-loop');
    expect(loop, lines.join('\n')).toBeDefined();
    expect(loop?.figures['failed checks'], JSON.stringify(loop?.figures)).toBeUndefined();
    expect(loop?.figures['probes sent']).toBeGreaterThan(0);
    expect(loop?.figures['probes not answered 200']).toBe(0);
    const flood = rows.filter((r) => r.scenario === 'resource-flood');
    expect(flood, lines.join('\n')).toHaveLength(2);
    for (const row of flood)
      expect(row.figures['failed checks'], JSON.stringify(row.figures)).toBeUndefined();
  }, 240_000);
});
