import { describe, expect, it } from 'vitest';
import { run } from '../reliability/scenarios/auth-abuse.js';

describe('authentication abuse (reliability scenario, short version)', () => {
  it('throttles wrong admin tokens, sign-ins and proxy credentials per address with 429 + Retry-After', async () => {
    const result = await run({ quick: true });
    expect(result.failures).toEqual([]);
    expect(result.figures['proxy CONNECT: refusals before 429']).toBe(5);
  }, 60_000);
});
