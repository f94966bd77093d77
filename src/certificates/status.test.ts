import { describe, expect, it } from 'vitest';
import { computeStatus } from './status.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);

describe('computeStatus', () => {
  it.each([
    ['not_yet_valid', NOW + 1, NOW + 100 * DAY],
    ['valid', NOW, NOW + 100 * DAY],
    ['valid', NOW - DAY, NOW + 30 * DAY + 1],
    ['expiring_soon', NOW - DAY, NOW + 30 * DAY],
    ['expiring_soon', NOW - DAY, NOW + 1],
    ['expired', NOW - DAY, NOW],
    ['expired', NOW - 2 * DAY, NOW - DAY],
  ] as const)('%s for [%d, %d)', (expected, notBefore, notAfter) => {
    expect(computeStatus(notBefore, notAfter, NOW)).toBe(expected);
  });

  it('accepts ISO strings and Dates, as stored records hold them', () => {
    expect(computeStatus('2026-01-01T00:00:00.000Z', new Date('2027-01-01T00:00:00Z'), new Date(NOW))).toBe(
      'valid',
    );
  });
});
