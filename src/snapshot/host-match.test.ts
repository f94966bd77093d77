import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_HOST_LENGTH, guardedFullMatch, hostPatternProblem } from './host-match.js';
import { LINEAR_ENGINE, compileLinear } from './linear-regex.js';

describe('guardedFullMatch', () => {
  it('runs on the linear-time engine in this process (the V8 flag set at module load took effect)', () => {
    expect(LINEAR_ENGINE).toBe(true);
  });

  it('matches whole hosts case-insensitively', () => {
    expect(guardedFullMatch('(.*)', 'tntabc.sandbox.localhost')).toBe(true);
    expect(guardedFullMatch('tntabc\\.sandbox\\..*', 'TNTABC.sandbox.localhost')).toBe(true);
    expect(guardedFullMatch('tntabc', 'tntabc.sandbox.localhost')).toBe(false);
    expect(guardedFullMatch('API\\.Example\\.COM', 'api.example.com')).toBe(true);
    expect(guardedFullMatch('[A-Z]+\\.bank\\.com', 'Online.BANK.com')).toBe(true);
    expect(guardedFullMatch('[^A-Z.]+\\.com', 'abc.com')).toBe(false); // as /[^A-Z.]+/i would say
    expect(guardedFullMatch('.*\\.bank\\.com', 'www.bank.com.evil')).toBe(false);
  });

  it('matches regexes that backtrack catastrophically in time linear in the host, for every new host', () => {
    const started = performance.now();
    for (let i = 0; i < 200; i++) {
      expect(guardedFullMatch('(x+x+)+y', `${'x'.repeat(40 + i)}`)).toBe(false);
      expect(guardedFullMatch('(a+)+b', `${'a'.repeat(200)}${i}`)).toBe(false);
    }
    // A backtracking engine needs seconds for one of these; 400 linear matches take a few ms.
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('never matches a host longer than the DNS limit', () => {
    expect(guardedFullMatch('(.*)', 'a'.repeat(MAX_HOST_LENGTH))).toBe(true);
    expect(guardedFullMatch('(.*)', 'a'.repeat(MAX_HOST_LENGTH + 1))).toBe(false);
  });

  it('writes out counted repetition, so DNS-label patterns keep their meaning', () => {
    const label = '[a-z0-9-]{1,63}(\\.[a-z0-9-]{1,63}){1,3}';
    expect(guardedFullMatch(label, 'api.example.com')).toBe(true);
    expect(guardedFullMatch(label, `${'a'.repeat(64)}.example`)).toBe(false);
    expect(guardedFullMatch(label, 'a.b.c.d.e')).toBe(false);
    expect(guardedFullMatch('\\d{1,3}(\\.\\d{1,3}){3}', '10.0.0.255')).toBe(true);
    expect(guardedFullMatch('a{2,}', 'a')).toBe(false);
    expect(guardedFullMatch('a{2,}', 'aaaa')).toBe(true);
  });

  it('agrees with the backtracking engine (flag i) on generated hosts', () => {
    const patterns = [
      '(.*)',
      'api\\.example\\.com',
      '.*\\.bank\\.com',
      '(API|www)\\.[A-Z0-9-]{1,5}\\.(com|net)',
      '[^.]+\\.ex[a-c]mple\\.com',
      '(?<sub>[a-f]{2,3})\\.Example\\.(?:COM)?',
      '[\\w-]+(\\.[\\w-]+)*',
      'x?y*z+\\.[Q-T0-5]{0,2}',
    ];
    const host = fc.stringMatching(/^[a-zA-Z0-9.\-_]{0,24}$/);
    fc.assert(
      fc.property(fc.constantFrom(...patterns), host, (pattern, h) => {
        const expected = new RegExp(`^(?:${pattern})$`, 'i').test(h);
        expect(compileLinear(pattern).test(h.toLowerCase()), `${pattern} on ${h}`).toBe(expected);
      }),
      { numRuns: 2_000, seed: 11 },
    );
  });
});

describe('hostPatternProblem', () => {
  it('accepts ordinary host_endpoint regexes', () => {
    for (const ok of ['(.*)', 'api\\.example\\.com', '.*\\.bank\\.com', '(a+)+b', '[a-z0-9-]{1,63}\\.com'])
      expect(hostPatternProblem(ok), ok).toBeNull();
  });

  it('refuses what cannot run in linear time, and says why', () => {
    expect(hostPatternProblem('(a)\\1')).toMatch(/backreference/);
    expect(hostPatternProblem('(?<n>a)\\k<n>')).toMatch(/backreference/);
    expect(hostPatternProblem('(?=api).*')).toMatch(/lookahead or lookbehind/);
    expect(hostPatternProblem('.*(?<!\\.evil)')).toMatch(/lookahead or lookbehind/);
    expect(hostPatternProblem('((a{1,63}){1,63}){1,63}')).toMatch(/4096 atoms/);
    expect(hostPatternProblem('([a-z')).toMatch(/not a valid regular expression/);
  });
});
