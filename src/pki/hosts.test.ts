import { describe, expect, it } from 'vitest';
import { InvalidHostError, normaliseHost } from './hosts.js';

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
    try {
      normaliseHost('not a host');
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidHostError).code).toBe('invalid_host');
    }
  });
});
