import { describe, expect, it } from 'vitest';
import { hasDotSegment } from './request-rules.js';

describe('hasDotSegment', () => {
  it('finds dot segments in every spelling an upstream may normalise', () => {
    for (const target of [
      '/..',
      '/../x',
      '/a/./b',
      '/%2e%2e/x',
      '/%2E./x',
      '/.%2e/x',
      '/a/..\\x',
      '/a%5c..%5cx',
      '/a%2f..%2fx',
      '/..;/x',
      '/a/.;p=1/b',
      'http://host:80/a/../b',
      'https://host/..',
      '/a/..?q',
      '/a/..#f',
    ]) {
      expect(hasDotSegment(target), target).toBe(true);
    }
  });

  it('leaves dots inside segments, in the query and double-encoded ones alone', () => {
    for (const target of [
      '/',
      '/a/b',
      '/a/...',
      '/a/..b',
      '/.well-known/x',
      '/f.json',
      '/a?x=/../y',
      '/%252e%252e/x',
      '*',
      'http://h/a.b',
    ]) {
      expect(hasDotSegment(target), target).toBe(false);
    }
  });
});
