import { describe, expect, it } from 'vitest';
import { run } from '../reliability/scenarios/fuzz.js';

describe('fuzzing the certificate and route endpoints (reliability scenario, short version)', () => {
  it('answers ~1,000 generated and mutated inputs without a 5xx or a crash, storing only what it accepted', async () => {
    const result = await run({ quick: true });
    expect(result.failures).toEqual([]);
    expect(result.figures['5xx or no answer']).toBe(0);
  }, 90_000);
});
