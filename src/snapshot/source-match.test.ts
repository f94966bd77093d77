import { describe, expect, it } from 'vitest';
import { compileSourceEndpoint, sourceEndpointProblem } from './source-match.js';

describe('source_endpoint', () => {
  it('accepts "*" and lists of IPv4/IPv6 ranges and bare addresses', () => {
    for (const ok of [
      '*',
      ' * ',
      '10.0.0.0/8',
      '192.0.2.1',
      '::1',
      '2001:db8::/32, 10.0.0.0/8',
      '0.0.0.0/0,::/0',
    ]) {
      expect(sourceEndpointProblem(ok), ok).toBeNull();
    }
  });

  it('names the item it refuses', () => {
    expect(sourceEndpointProblem('10.0.0.0/8, bogus')).toContain('"bogus"');
    expect(sourceEndpointProblem('10.0.0.0/08x')).toContain('"10.0.0.0/08x"');
    expect(sourceEndpointProblem('10.0.0.0/33')).toContain('0 to 32');
    expect(sourceEndpointProblem('::/129')).toContain('0 to 128');
    expect(sourceEndpointProblem('10.0.0.0/8,')).toContain('empty item');
    expect(sourceEndpointProblem('*,10.0.0.0/8')).toContain('"*"');
    expect(sourceEndpointProblem('')).toContain('"*"');
  });

  it('matches IPv4, IPv6 and IPv4-mapped IPv6 callers', () => {
    const m = compileSourceEndpoint('10.0.0.0/8, 192.0.2.1, 2001:db8::/32');
    expect(m.allows('10.1.2.3')).toBe(true);
    expect(m.allows('::ffff:10.1.2.3')).toBe(true);
    expect(m.allows('::FFFF:192.0.2.1')).toBe(true);
    expect(m.allows('192.0.2.2')).toBe(false);
    expect(m.allows('::ffff:192.0.2.2')).toBe(false);
    expect(m.allows('2001:db8::5')).toBe(true);
    expect(m.allows('2001:db9::5')).toBe(false);
    expect(m.allows('11.0.0.1')).toBe(false);
    expect(m.allows(undefined)).toBe(false);
    expect(compileSourceEndpoint('::1').allows('127.0.0.1')).toBe(false);
  });

  it('allows everyone for "*" (and a stored empty value), no one for a stored value it cannot read', () => {
    expect(compileSourceEndpoint('*').allows('203.0.113.9')).toBe(true);
    expect(compileSourceEndpoint('').allows('203.0.113.9')).toBe(true);
    expect(compileSourceEndpoint('office network').allows('203.0.113.9')).toBe(false);
  });
});
