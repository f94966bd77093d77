import { describe, expect, it } from 'vitest';
import { VaultgateError } from '../errors.js';
import {
  InvalidHostError,
  isHostname,
  normaliseHost,
  parseHostname,
  parseHostnamePattern,
  validateHosts,
} from './names.js';

/** The VaultgateError `fn` throws, or undefined. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('normaliseHost', () => {
  it.each([
    ['Api.Example.COM', 'dns', 'api.example.com'],
    ['api.example.com.', 'dns', 'api.example.com'],
    ['localhost', 'dns', 'localhost'],
    ['_srv.example.com', 'dns', '_srv.example.com'],
    ['xn--bcher-kva.example', 'dns', 'xn--bcher-kva.example'],
    ['127.0.0.1', 'ip', '127.0.0.1'],
    ['::1', 'ip', '::1'],
    ['[::1]', 'ip', '::1'],
    ['0:0:0:0:0:0:0:1', 'ip', '::1'],
    ['2001:DB8::0:1', 'ip', '2001:db8::1'],
    ['::ffff:10.0.0.1', 'ip', '::ffff:a00:1'],
  ])('%s → %s %s', (input, kind, name) => {
    expect(normaliseHost(input)).toEqual({ kind, name });
  });

  it.each([
    '',
    '.',
    'a..b',
    '-a.example',
    'a-.example',
    'a b.example',
    'a.example:443',
    '*.example.com',
    'bücher.example',
    'example.com/x',
    'a'.repeat(64) + '.example',
    ('a'.repeat(60) + '.').repeat(5) + 'example',
    '127.1',
    '1.2.3.256',
    '0x7f.1',
    'fe80::1%eth0',
    '[::1',
  ])('rejects %j', (input) => {
    expect(() => normaliseHost(input)).toThrow(InvalidHostError);
  });

  it('gives the caller a stable code for its 400', () => {
    expect(thrown(() => normaliseHost('not a host'))).toMatchObject({ code: 'invalid_host' });
  });
});

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

  it('accepts underscores, as the outbound proxy does', () => {
    expect(validateHosts(['my_svc.example', '*._internal.example'])).toEqual([
      'my_svc.example',
      '*._internal.example',
    ]);
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
    ['hex last label', ['api.0x7f']],
    ['bare wildcard', ['*']],
    ['wildcard over a TLD', ['*.com']],
    ['wildcard inside a label', ['api*.visa.com']],
    ['wildcard not first', ['api.*.visa.com']],
    ['double wildcard', ['*.*.visa.com']],
    ['leading hyphen', ['-api.visa.com']],
    ['empty label', ['api..visa.com']],
    ['label of 64 chars', [`${'a'.repeat(64)}.com`]],
    ['unicode', ['bücher.example']],
    ['space', ['api visa.com']],
    ['too many', Array.from({ length: 101 }, (_, i) => `h${i}.example.com`)],
  ])('rejects %s', (_name, hosts) => {
    const error = thrown(() => validateHosts(hosts));
    expect(error).toBeInstanceOf(VaultgateError);
    expect(error).toMatchObject({ code: 'invalid_field', field: 'hosts', status: 422 });
  });
});

// Issue 14: the outbound proxy intercepted `my_svc.example` while a certificate's `hosts` could not
// name it. Whatever one accepts as a DNS name, the other must accept, and the same for refusals.
describe('one label rule', () => {
  const samples = [
    'my_svc.example',
    '_acme-challenge.example.com',
    'a_.example',
    'api.example.com',
    'localhost',
    'xn--bcher-kva.example',
    'a-b.example',
    '-a.example',
    'a-.example',
    'a..example',
    'bücher.example',
    'a$b.example',
    'a'.repeat(63) + '.example',
    'a'.repeat(64) + '.example',
    ('a'.repeat(62) + '.').repeat(4) + 'example',
    'example.123',
    'example.0x1',
  ];

  it.each(samples)('%j: interception, hosts, hostname and servername agree', (name) => {
    const intercepted = thrown(() => normaliseHost(name)) === undefined;
    expect(thrown(() => validateHosts([name])) === undefined).toBe(intercepted);
    expect(thrown(() => parseHostnamePattern(name, 'hostname')) === undefined).toBe(intercepted);
    expect(thrown(() => parseHostname(name, 'upstream_tls.servername')) === undefined).toBe(intercepted);
    expect(isHostname(name)).toBe(intercepted);
  });

  it('a certificate scoped to an intercepted host names it exactly as the proxy does', () => {
    expect(validateHosts(['My_Svc.Example.'])).toEqual([normaliseHost('MY_SVC.example.').name]);
  });
});

describe('parseHostnamePattern', () => {
  it.each([
    ['Callbacks.Acme.Example', 'callbacks.acme.example'],
    ['callbacks.acme.example.', 'callbacks.acme.example'],
    [' callbacks.acme.example ', 'callbacks.acme.example'],
    ['*.Acme.Example', '*.acme.example'],
    ['localhost', 'localhost'],
  ])('%j → %j', (input, expected) => {
    expect(parseHostnamePattern(input, 'hostname')).toBe(expected);
  });

  it.each([
    ['not a string', 42],
    ['null', null],
    ['empty', ''],
    ['URL', 'https://callbacks.acme.example/'],
    ['port', 'callbacks.acme.example:443'],
    ['IPv4', '203.0.113.7'],
    ['IPv6', '2001:db8::1'],
    ['bracketed IPv6', '[2001:db8::1]'],
    ['wildcard over a TLD', '*.example'],
    ['two wildcards', '*.*.acme.example'],
    ['partial wildcard', 'cb*.acme.example'],
    ['numeric last label', 'acme.1'],
    ['too long', `${'a.'.repeat(127)}example`],
  ])('rejects %s with an actionable invalid_field on the field', (_name, input) => {
    const error = thrown(() => parseHostnamePattern(input, 'hostname'));
    expect(error).toBeInstanceOf(VaultgateError);
    expect(error).toMatchObject({ code: 'invalid_field', field: 'hostname', status: 422 });
    expect((error as Error).message).toMatch(/hostname|wildcard|host name/);
  });
});

describe('parseHostname', () => {
  it('takes one exact name', () => {
    expect(parseHostname('B.Example', 'upstream_tls.servername')).toBe('b.example');
  });

  it.each(['*.acme.example', '10.0.0.1', 'b.example:443'])('rejects %j', (input) => {
    expect(thrown(() => parseHostname(input, 'upstream_tls.servername'))).toMatchObject({
      code: 'invalid_field',
      field: 'upstream_tls.servername',
    });
  });
});
