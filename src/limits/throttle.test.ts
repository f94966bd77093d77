import { describe, expect, it } from 'vitest';
import { ADDRESS_FACTOR, FailureThrottle, throttleKey } from './throttle.js';

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

  it('never holds more than its cap of windows, however many addresses fail within a minute', () => {
    const now = 1_000_000;
    const throttle = new FailureThrottle(3, () => now, 1_000);
    for (let i = 0; i < 20_000; i++) throttle.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(throttle.size).toBe(1_000);
    // The newest windows are the ones kept; the oldest were evicted.
    expect(throttle.retryAfter('10.0.0.0')).toBe(0);
  });

  it('evicts expired windows before live ones, and keeps a blocked address blocked while there is room', () => {
    let now = 1_000_000;
    const throttle = new FailureThrottle(2, () => now, 100);
    for (let i = 0; i < 99; i++) throttle.fail(`192.0.2.${i}`);
    now += 30_000;
    throttle.fail('198.51.100.7');
    throttle.fail('198.51.100.7');
    expect(throttle.retryAfter('198.51.100.7')).toBe(60);
    now += 31_000; // the 99 first windows have expired, the blocked one has not
    for (let i = 0; i < 99; i++) throttle.fail(`203.0.113.${i}`);
    expect(throttle.size).toBeLessThanOrEqual(100);
    expect(throttle.retryAfter('198.51.100.7')).toBe(29);
  });

  it('a reopened window moves to the end, so expiry order stays opening order', () => {
    let now = 0;
    const throttle = new FailureThrottle(1, () => now, 2);
    throttle.fail('192.0.2.1');
    now += 10_000;
    throttle.fail('192.0.2.2');
    now += 55_000; // 192.0.2.1 expired, 192.0.2.2 not
    throttle.fail('192.0.2.1'); // reopened: the newest now
    expect(throttle.retryAfter('192.0.2.2')).toBe(5);
    expect(throttle.retryAfter('192.0.2.1')).toBe(60);
  });

  it('counts IPv6 addresses per /64, so rotating within one prefix does not escape the limit', () => {
    const throttle = new FailureThrottle(3, () => 0);
    throttle.fail('2001:db8:1:2::1');
    throttle.fail('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
    throttle.fail('2001:0DB8:0001:0002:ffff::9');
    expect(throttle.retryAfter('2001:db8:1:2::42')).toBe(60);
    expect(throttle.retryAfter('2001:db8:1:3::1')).toBe(0);
    expect(throttle.size).toBe(1);
  });

  it('keys addresses by what identifies a client', () => {
    expect(throttleKey('203.0.113.9')).toBe('203.0.113.9');
    expect(throttleKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(throttleKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(throttleKey('2001:db8:0:0:1::1')).toBe('2001:db8:0:0::/64');
    expect(throttleKey('::1')).toBe('0:0:0:0::/64');
    expect(throttleKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(throttleKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(throttleKey('')).toBe('');
  });

  describe('failed() (issue 13: per listener, address and subject)', () => {
    const at = (address: string, subject: string, listener = 'outbound') => ({ listener, address, subject });

    it('answers Retry-After once one subject from one address is over the limit, and does not count those', () => {
      let now = 0;
      const throttle = new FailureThrottle(3, () => now);
      for (let i = 0; i < 3; i++) expect(throttle.failed(at('192.0.2.1', 'USa'))).toBe(0);
      expect(throttle.failed(at('192.0.2.1', 'USa'))).toBe(60);
      // Another username from the same address, the same one from another address or listener: own counts.
      expect(throttle.failed(at('192.0.2.1', 'USb'))).toBe(0);
      expect(throttle.failed(at('192.0.2.2', 'USa'))).toBe(0);
      expect(throttle.failed(at('192.0.2.1', 'USa', 'admin'))).toBe(0);
      now += 60_000;
      expect(throttle.failed(at('192.0.2.1', 'USa'))).toBe(0);
    });

    it('throttles an address guessing usernames after limit × ADDRESS_FACTOR failures', () => {
      const throttle = new FailureThrottle(3, () => 0);
      const total = 3 * ADDRESS_FACTOR;
      for (let i = 0; i < total; i++)
        expect(throttle.failed(at('2001:db8::1', `US${i}`)), `guess ${i}`).toBe(0);
      expect(throttle.failed(at('2001:db8::2', 'USnew'))).toBe(60); // same /64
      expect(throttle.failed(at('2001:db8:0:1::1', 'USnew'))).toBe(0);
    });

    it('stays bounded however many subjects fail, and a limit of 0 turns it off', () => {
      const throttle = new FailureThrottle(3, () => 0, 1_000);
      for (let i = 0; i < 5_000; i++) throttle.failed(at('192.0.2.1', `US${i}`.repeat(100)));
      expect(throttle.size).toBeLessThanOrEqual(1_000);
      const off = new FailureThrottle(0, () => 0);
      for (let i = 0; i < 100; i++) expect(off.failed(at('192.0.2.1', 'USa'))).toBe(0);
      expect(off.size).toBe(0);
    });
  });
});
