import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../src/errors.js';

const root = join(import.meta.dirname, '..');
const SPEC = join(root, '../shared/SPEC.md');

/** `| 404 | \`a\`, \`b\` | … |` rows → code → status. */
function tableCodes(markdown: string): Map<string, number> {
  const codes = new Map<string, number>();
  for (const line of markdown.split('\n')) {
    const m = /^\|\s*(\d{3})\s*\|([^|]+)\|/.exec(line);
    if (!m) continue;
    for (const code of m[2]?.matchAll(/`([a-z0-9_]+)`/g) ?? []) codes.set(code[1] ?? '', Number(m[1]));
  }
  return codes;
}

describe('the error catalogue', () => {
  const docs = tableCodes(readFileSync(join(root, 'docs/errors.md'), 'utf8'));

  it('matches docs/errors.md exactly', () => {
    expect(Object.fromEntries(docs)).toEqual(ERROR_STATUS);
  });

  it.runIf(existsSync(SPEC))('holds every code of SPEC §5 with its status', () => {
    const spec = readFileSync(SPEC, 'utf8');
    const section = spec.slice(spec.indexOf('## 5. Errors'));
    const specCodes = tableCodes(section);
    // "the upload codes of §2" are named in §2's list of rejected uploads.
    const uploads = (/Rejected uploads[^:]*:([^\n]+(?:\n[^\n-][^\n]*)*)/.exec(spec)?.[1] ?? '').replace(
      /\([^)]*\)/g,
      '',
    );
    for (const code of uploads.matchAll(/`([a-z0-9_]+)`/g)) specCodes.set(code[1] ?? '', 422);
    expect(specCodes.size).toBeGreaterThan(25);
    for (const [code, status] of specCodes) {
      expect(ERROR_STATUS[code as keyof typeof ERROR_STATUS], code).toBe(status);
    }
  });
});
