import { describe, expect, it } from 'vitest';
import { HostTable } from './table.js';

describe('HostTable', () => {
  const table = new HostTable<string>();
  table.add('callbacks.acme.example', 'exact');
  table.add('*.acme.example', 'wildcard');
  table.add('*.b.acme.example', 'deeper');

  it('prefers an exact name and lets a wildcard cover exactly one label', () => {
    expect(table.get('callbacks.acme.example')).toBe('exact');
    expect(table.get('other.acme.example')).toBe('wildcard');
    expect(table.get('acme.example')).toBeUndefined();
    expect(table.get('x.other.acme.example')).toBeUndefined();
    expect(table.get('x.b.acme.example')).toBe('deeper');
    expect(table.get('.acme.example')).toBeUndefined();
  });

  it('refuses a key that is already taken', () => {
    expect(table.add('*.acme.example', 'again')).toBe(false);
    expect(table.size).toBe(3);
  });
});
