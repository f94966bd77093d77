/**
 * SPEC §2 "GET /openapi.json": the document a running vaultgate serves is accepted by two standard
 * validators — swagger-parser (the OpenAPI 3.1 JSON Schema) and Redocly's recommended ruleset, the
 * one client generators' users run — with no error.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

let t: TestVaultgate;
let text: string;

beforeAll(async () => {
  t = await startTestVaultgate();
  text = (await t.api('GET', '/openapi.json')).text;
});
afterAll(async () => {
  await t.stop();
});

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 for swagger-parser', async () => {
    const doc = JSON.parse(text) as Parameters<typeof SwaggerParser.validate>[0];
    const api = await SwaggerParser.validate(doc);
    expect((api as { openapi?: string }).openapi).toBe('3.1.0');
  });

  it("has no error under Redocly's recommended ruleset", async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: text, absoluteRef: 'openapi.json', config });
    const report = (severity: string) =>
      problems
        .filter((p) => p.severity === severity)
        .map((p) => `${p.ruleId} at ${p.location[0]?.pointer ?? '?'}: ${p.message}`);
    expect(report('error')).toEqual([]);
    expect(report('warn')).toEqual([]);
  });
});
