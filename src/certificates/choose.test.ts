import { describe, expect, it } from 'vitest';
import type { RuntimeCertificate } from '../snapshot/types.js';
import { chooseCertificate } from './choose.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 15);

function cert(id: string, fields: Partial<Omit<RuntimeCertificate, 'id'>> = {}): RuntimeCertificate {
  return {
    id,
    vaultId: 'vault',
    proxyType: 'outbound',
    hosts: [],
    notBefore: NOW - 100 * DAY,
    notAfter: NOW + 100 * DAY,
    createdAt: NOW - 50 * DAY,
    chainPem: '',
    keyPem: Buffer.alloc(0),
    ...fields,
  };
}

interface Case {
  name: string;
  candidates: RuntimeCertificate[];
  host?: string;
  now?: number;
  expected: string | undefined;
}

const cases: Case[] = [
  { name: 'no candidates → none', candidates: [], expected: undefined },
  { name: 'one valid, unscoped', candidates: [cert('a')], expected: 'a' },
  { name: 'expired is skipped', candidates: [cert('a', { notAfter: NOW - DAY })], expected: undefined },
  {
    name: 'notAfter itself is already expired',
    candidates: [cert('a', { notAfter: NOW })],
    expected: undefined,
  },
  { name: 'notBefore itself is already valid', candidates: [cert('a', { notBefore: NOW })], expected: 'a' },
  { name: 'not yet valid is skipped', candidates: [cert('a', { notBefore: NOW + 1 })], expected: undefined },
  {
    name: 'renewal uploaded early takes over once valid (latest notBefore)',
    candidates: [
      cert('old', { notBefore: NOW - 300 * DAY, notAfter: NOW + 5 * DAY }),
      cert('new', { notBefore: NOW - DAY }),
    ],
    expected: 'new',
  },
  {
    name: 'renewal not yet valid: the old one stays',
    candidates: [
      cert('old', { notAfter: NOW + 5 * DAY }),
      cert('new', { notBefore: NOW + DAY, notAfter: NOW + 400 * DAY }),
    ],
    expected: 'old',
  },
  {
    name: 'same notBefore: the newest upload wins',
    candidates: [cert('first', { createdAt: NOW - 2 * DAY }), cert('second', { createdAt: NOW - DAY })],
    expected: 'second',
  },
  {
    name: 'full tie: the greater id wins, whatever the order',
    candidates: [cert('b'), cert('c'), cert('a')],
    expected: 'c',
  },
  {
    name: 'exact host match beats unscoped, even when older',
    candidates: [
      cert('any', { notBefore: NOW - DAY }),
      cert('visa', { hosts: ['api.visa.com'], notBefore: NOW - 90 * DAY }),
    ],
    host: 'api.visa.com',
    expected: 'visa',
  },
  {
    name: 'wildcard host match beats unscoped',
    candidates: [cert('any'), cert('mc', { hosts: ['*.mastercard.com'] })],
    host: 'api.mastercard.com',
    expected: 'mc',
  },
  {
    name: 'wildcard does not match the bare domain',
    candidates: [cert('mc', { hosts: ['*.mastercard.com'] })],
    host: 'mastercard.com',
    expected: undefined,
  },
  {
    name: 'wildcard does not match two labels',
    candidates: [cert('mc', { hosts: ['*.mastercard.com'] })],
    host: 'a.b.mastercard.com',
    expected: undefined,
  },
  {
    name: 'wildcard does not match a lookalike suffix',
    candidates: [cert('mc', { hosts: ['*.mastercard.com'] })],
    host: 'api.evilmastercard.com',
    expected: undefined,
  },
  {
    name: 'scoped to other hosts: never chosen, unscoped is used',
    candidates: [cert('visa', { hosts: ['api.visa.com'] }), cert('any')],
    host: 'api.bank.example',
    expected: 'any',
  },
  {
    name: 'scoped to other hosts only: none',
    candidates: [cert('visa', { hosts: ['api.visa.com', '*.visa.com'] })],
    host: 'visa.com',
    expected: undefined,
  },
  {
    name: 'expired scoped certificate falls back to unscoped',
    candidates: [cert('visa', { hosts: ['api.visa.com'], notAfter: NOW - 1 }), cert('any')],
    host: 'api.visa.com',
    expected: 'any',
  },
  {
    name: 'among scoped matches, the latest notBefore wins',
    candidates: [
      cert('exact', { hosts: ['api.visa.com'], notBefore: NOW - 10 * DAY }),
      cert('wild', { hosts: ['*.visa.com'], notBefore: NOW - DAY }),
    ],
    host: 'api.visa.com',
    expected: 'wild',
  },
  {
    name: 'evaluated at the given instant, not at snapshot time',
    candidates: [
      cert('a', { notAfter: NOW + DAY }),
      cert('b', { notBefore: NOW + DAY, notAfter: NOW + 9 * DAY }),
    ],
    now: NOW + DAY,
    expected: 'b',
  },
];

describe('chooseCertificate (SPEC §4)', () => {
  it.each(cases)('$name', ({ candidates, host, now, expected }) => {
    expect(chooseCertificate(candidates, host ?? 'upstream.example', now ?? NOW)?.id).toBe(expected);
    // The answer never depends on the order of the candidates.
    expect(chooseCertificate([...candidates].reverse(), host ?? 'upstream.example', now ?? NOW)?.id).toBe(
      expected,
    );
  });
});
