import { describe, expect, it } from 'vitest';
import { run } from '../reliability/scenarios/client-abuse.js';

describe('client-side abuse on every listener (reliability scenario, short version)', () => {
  it('cuts slow heads, refuses oversized heads, smuggling, bad CONNECT targets, TLS garbage and connections over the limit, and keeps serving', async () => {
    const result = await run({ quick: true });
    expect(result.failures).toEqual([]);
    expect(result.pass).toBe(true);
    expect(result.figures['smuggled requests seen by upstreams']).toBe(0);
  }, 90_000);
});
