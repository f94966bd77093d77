import { describe, expect, it } from 'vitest';
import { run } from '../reliability/scenarios/upstream-faults.js';

describe('upstream faults through both proxies (reliability scenario, short version)', () => {
  it('gives each fault its SPEC §5 answer, leaves no client hanging and no file descriptor open', async () => {
    const result = await run({ quick: true });
    expect(result.failures).toEqual([]);
    expect(result.figures['leaked fds']).toBe(0);
    expect(result.figures['clients left hanging']).toBe(0);
  }, 90_000);
});
