import { describe, expect, it } from 'vitest';
import { guardedFullMatch } from './host-match.js';

describe('guardedFullMatch', () => {
  it('matches whole hosts case-insensitively', () => {
    expect(guardedFullMatch('(.*)', 'tntabc.sandbox.localhost')).toBe(true);
    expect(guardedFullMatch('tntabc\\.sandbox\\..*', 'TNTABC.sandbox.localhost')).toBe(true);
    expect(guardedFullMatch('tntabc', 'tntabc.sandbox.localhost')).toBe(false);
  });

  it('stops a catastrophic regex within its budget instead of stalling', () => {
    const started = Date.now();
    expect(guardedFullMatch('(a+)+b', 'a'.repeat(40))).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
