import { describe, expect, it } from 'vitest';
import { VaultgateError } from '../errors.js';
import { hostMatches, validateHosts } from './hosts.js';

describe('validateHosts', () => {
  it('normalises hostnames and one-label wildcards', () => {
    expect(validateHosts(['API.Visa.com', '*.MasterCard.com', 'api.visa.com.', 'api.visa.com'])).toEqual([
      'api.visa.com',
      '*.mastercard.com',
    ]);
  });

  it('treats absent hosts as "any host"', () => {
    expect(validateHosts(undefined)).toEqual([]);
    expect(validateHosts(null)).toEqual([]);
    expect(validateHosts([])).toEqual([]);
  });

  it.each([
    ['not a list', 'api.visa.com'],
    ['a number', [42]],
    ['empty', ['']],
    ['scheme', ['https://api.visa.com']],
    ['port', ['api.visa.com:443']],
    ['path', ['api.visa.com/v1']],
    ['IPv4', ['10.0.0.1']],
    ['IPv6', ['::1']],
    ['IP wildcard', ['*.0.0.1']],
    ['bare wildcard', ['*']],
    ['wildcard over a TLD', ['*.com']],
    ['wildcard inside a label', ['api*.visa.com']],
    ['wildcard not first', ['api.*.visa.com']],
    ['double wildcard', ['*.*.visa.com']],
    ['underscore', ['api_v1.visa.com']],
    ['leading hyphen', ['-api.visa.com']],
    ['empty label', ['api..visa.com']],
    ['label of 64 chars', [`${'a'.repeat(64)}.com`]],
    ['unicode', ['bücher.example']],
    ['space', ['api visa.com']],
    ['too many', Array.from({ length: 101 }, (_, i) => `h${i}.example.com`)],
  ])('rejects %s', (_name, hosts) => {
    let error: unknown;
    try {
      validateHosts(hosts);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(VaultgateError);
    expect(error).toMatchObject({ code: 'invalid_field', field: 'hosts', status: 422 });
  });
});

describe('hostMatches', () => {
  it.each([
    ['api.visa.com', 'api.visa.com', true],
    ['api.visa.com', 'www.visa.com', false],
    ['*.visa.com', 'api.visa.com', true],
    ['*.visa.com', 'visa.com', false],
    ['*.visa.com', 'a.b.visa.com', false],
    ['*.visa.com', 'apivisa.com', false],
    ['*.visa.com', '.visa.com', false],
    ['*.visa.com', 'api.visa.co', false],
  ])('%s vs %s → %s', (pattern, host, expected) => {
    expect(hostMatches(pattern, host)).toBe(expected);
  });
});
