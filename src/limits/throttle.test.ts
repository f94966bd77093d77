import { describe, expect, it } from 'vitest';
import { FailureThrottle } from './throttle.js';

describe('FailureThrottle', () => {
  it('blocks an address after the limit within a minute, only that address, and forgives after the window', () => {
    let now = 1_000_000;
    const throttle = new FailureThrottle(3, () => now);
    for (let i = 0; i < 3; i++) {
      expect(throttle.retryAfter('10.0.0.1')).toBe(0);
      throttle.fail('10.0.0.1');
    }
    expect(throttle.retryAfter('10.0.0.1')).toBe(60);
    expect(throttle.retryAfter('10.0.0.2')).toBe(0);
    now += 45_000;
    expect(throttle.retryAfter('10.0.0.1')).toBe(15);
    now += 15_000;
    expect(throttle.retryAfter('10.0.0.1')).toBe(0);
  });
});
