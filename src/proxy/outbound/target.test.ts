import { describe, expect, test } from 'vitest';
import { BadTargetError, parseAbsoluteTarget, parseConnectTarget } from './target.js';

describe('CONNECT targets (RFC 9112 §3.2.3 authority-form)', () => {
  test.each([
    ['api.visa.example:443', 'api.visa.example', 443, 'https://api.visa.example', 'dns'],
    ['API.Visa.Example.:8443', 'api.visa.example', 8443, 'https://api.visa.example:8443', 'dns'],
    ['127.0.0.1:443', '127.0.0.1', 443, 'https://127.0.0.1', 'ip'],
    ['[::1]:8443', '::1', 8443, 'https://[::1]:8443', 'ip'],
  ])('%s', (input, host, port, origin, kind) => {
    const t = parseConnectTarget(input);
    expect(t).toMatchObject({ host, port, kind });
    expect(t.origin.href).toBe(origin + '/');
  });

  test.each([
    'api.visa.example',
    'api.visa.example:0',
    'api.visa.example:70000',
    ':443',
    'a b:443',
    '[::1:443',
    'user@host:443',
    'http://x:443',
    '127.1:443',
    undefined,
  ])('refuses %s', (input) => {
    expect(() => parseConnectTarget(input)).toThrow(BadTargetError);
  });
});

describe('absolute-form targets (RFC 9112 §3.2.2)', () => {
  test('http URLs, default port 80, path and query kept', () => {
    const { target, path } = parseAbsoluteTarget('http://Example.COM/a/b?c=d');
    expect(target).toMatchObject({ host: 'example.com', port: 80 });
    expect(target.origin.host).toBe('example.com');
    expect(path).toBe('/a/b?c=d');
  });

  test.each([
    '/relative',
    '*',
    'https://example.com/',
    'ftp://example.com/',
    'http://u:p@example.com/',
    'not a url',
  ])('refuses %s with a message', (input) => {
    expect(() => parseAbsoluteTarget(input)).toThrow(BadTargetError);
  });
});
