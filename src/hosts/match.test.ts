import { describe, expect, it } from 'vitest';
import { certificateCoversHost, hostMatches } from './match.js';

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
    ['*.visa.com', 'my_svc.visa.com', true],
  ])('%s vs %s → %s', (pattern, host, expected) => {
    expect(hostMatches(pattern, host)).toBe(expected);
  });
});

describe('certificateCoversHost', () => {
  it.each([
    // As stored by certificates/x509-fields.ts, and bare.
    [['DNS:callbacks.acme.example'], 'callbacks.acme.example', true],
    [['callbacks.acme.example'], 'callbacks.acme.example', true],
    [['DNS:Callbacks.ACME.example.'], 'callbacks.acme.example', true],
    [['DNS:other.acme.example', 'DNS:callbacks.acme.example'], 'callbacks.acme.example', true],
    [['DNS:other.acme.example'], 'callbacks.acme.example', false],
    [[], 'callbacks.acme.example', false],
    // A wildcard SAN covers exactly one label.
    [['DNS:*.acme.example'], 'callbacks.acme.example', true],
    [['DNS:*.acme.example'], 'acme.example', false],
    [['DNS:*.acme.example'], 'a.callbacks.acme.example', false],
    [['DNS:*.example'], 'acme.example', false],
    [['DNS:cb*.acme.example'], 'cbx.acme.example', false],
    [['DNS:*.*.example'], 'a.b.example', false],
    // A wildcard hostname is covered only by the same wildcard.
    [['DNS:*.acme.example'], '*.acme.example', true],
    [['DNS:callbacks.acme.example'], '*.acme.example', false],
    [['DNS:*.example.com', 'DNS:acme.example'], '*.acme.example', false],
    [['DNS:*.b.acme.example'], '*.acme.example', false],
    // Names of other kinds never cover a host name.
    [['IP:203.0.113.7'], '203.0.113.7', false],
    [['URI:https://callbacks.acme.example/'], 'callbacks.acme.example', false],
    [['email:callbacks.acme.example'], 'callbacks.acme.example', false],
  ])('%j covers %s → %s', (sans, hostname, expected) => {
    expect(certificateCoversHost(sans, hostname)).toBe(expected);
  });
});
