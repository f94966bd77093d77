import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileRefusedError } from './source.js';
import { parseVgsRoutes, renderVgsRoutes } from './vgs.js';
import type { ApiRoute } from './routes.js';

const fixture = (name: string): string =>
  readFileSync(join(import.meta.dirname, '../../test/fixtures/vgs', name), 'utf8');

const refusal = (text: string): FileRefusedError => {
  try {
    parseVgsRoutes(text);
  } catch (err) {
    if (err instanceof FileRefusedError) return err;
    throw err;
  }
  throw new Error('the file was accepted');
};

const ROUTE: ApiRoute = {
  id: '6f1c2a4e-3b5d-4c7e-9f10-a1b2c3d4e5f6',
  type: 'outbound',
  destination_override_endpoint: '*',
  host_endpoint: 'api\\.visa\\.example',
  port: 443,
  protocol: 'http',
  source_endpoint: '*',
  tags: { name: 'visa', source: 'RouteContainer' },
  upstream_tls: { verify: true },
  created_at: '2026-12-03T13:00:00.123Z',
  updated_at: '2026-12-03T13:05:09.000Z',
};

describe('VGS route YAML', () => {
  it('reads the inbound and outbound routes VGS writes, ignoring its read-only fields', () => {
    const [inbound] = parseVgsRoutes(fixture('inbound.yaml'));
    expect(inbound).toEqual({
      id: '3c0f7f4e-8d51-4b7a-9a0e-2f6d1c5b8e90',
      destination_override_endpoint: 'https://payments.acme.example',
      host_endpoint: '(.*)\\.verygoodproxy\\.com',
      port: 80,
      protocol: 'http',
      source_endpoint: '*',
      tags: { name: 'acme-payments-inbound', source: 'RouteContainer' },
      upstream_tls: { verify: true },
    });
    const outbound = parseVgsRoutes(fixture('outbound.yaml'));
    expect(outbound.map((r) => [r.destination_override_endpoint, r.host_endpoint])).toEqual([
      ['*', 'api\\.processor\\.example'],
      ['*', '(.*)\\.cardnetwork\\.example'],
    ]);
  });

  it('writes the layout of `vgs routes get`: sorted keys, indentless lists, id twice, rule_chain, version 1', () => {
    const text = renderVgsRoutes([ROUTE]);
    expect(text).toBe(
      [
        'data:',
        '- attributes:',
        "    created_at: '2026-12-03T13:00:00'",
        "    destination_override_endpoint: '*'",
        '    entries: []',
        '    host_endpoint: api\\.visa\\.example',
        '    id: 6f1c2a4e-3b5d-4c7e-9f10-a1b2c3d4e5f6',
        '    ordinal: null',
        '    port: 443',
        '    protocol: http',
        "    source_endpoint: '*'",
        '    tags:',
        '      name: visa',
        '      source: RouteContainer',
        "    updated_at: '2026-12-03T13:05:09'",
        '  id: 6f1c2a4e-3b5d-4c7e-9f10-a1b2c3d4e5f6',
        '  type: rule_chain',
        'version: 1',
        '',
      ].join('\n'),
    );
    expect(parseVgsRoutes(text)).toEqual([
      {
        id: ROUTE.id,
        destination_override_endpoint: '*',
        host_endpoint: 'api\\.visa\\.example',
        port: 443,
        protocol: 'http',
        source_endpoint: '*',
        tags: ROUTE.tags,
        upstream_tls: { verify: true },
      },
    ]);
  });

  it('renders the same routes byte for byte as the VGS fixture holds them', () => {
    const text = fixture('outbound.yaml');
    const times = [...text.matchAll(/(created|updated)_at: '([^']+)'/g)].map((m) => `${m[2]}.000Z`);
    const routes = parseVgsRoutes(text).map((spec, i): ApiRoute => ({
      ...spec,
      created_at: times[2 * i],
      updated_at: times[2 * i + 1],
    }));
    expect(renderVgsRoutes(routes)).toBe(text);
  });

  it("keeps upstream_tls, vaultgate's own attribute, only when it is not the default", () => {
    const text = renderVgsRoutes([
      { ...ROUTE, upstream_tls: { verify: false, servername: 'api.visa.example' } },
    ]);
    expect(text).toContain('    upstream_tls:\n      servername: api.visa.example\n      verify: false\n');
    expect(parseVgsRoutes(text)[0]?.upstream_tls).toEqual({ verify: false, servername: 'api.visa.example' });
  });

  it('refuses a route with filters in entries, naming the route and the line', () => {
    const err = refusal(fixture('with-entries.yaml'));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatchObject({
      line: 21,
      item: 'route 2 (id 1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b, name "redact-card-number")',
    });
    expect(err.message).toMatch(/^line 21: route 2 .*entries.*not support/);
  });

  it('refuses unknown attributes, bad values and repeated ids, each at its line', () => {
    const text = renderVgsRoutes([ROUTE, { ...ROUTE, id: '0b7c9d1e-2f3a-4b5c-8d6e-7f8091a2b3c4' }])
      .replace(
        '    ordinal: null\n    port: 443',
        '    ordinal: null\n    port: 443\n    token_manager: PERSISTENT',
      )
      .replace('protocol: http', 'protocol: tcp');
    const withExtra = `${text}data2: 1\n`;
    const lineOf = (needle: string): number => withExtra.split('\n').indexOf(needle) + 1;
    const err = refusal(withExtra);
    const lines = err.problems.map((p) => [p.line, p.message.split(' ').slice(0, 2).join(' ')]);
    expect(lines).toEqual([
      [lineOf('data2: 1'), '"data2" is'],
      [lineOf('    token_manager: PERSISTENT'), '"token_manager" is'],
      [lineOf('    protocol: tcp'), 'protocol "tcp"'],
    ]);
    const twice = renderVgsRoutes([ROUTE, ROUTE]);
    const secondId = twice.split('\n').lastIndexOf(`    id: ${ROUTE.id}`) + 1;
    expect(refusal(twice).problems).toEqual([
      expect.objectContaining({ line: secondId, message: expect.stringContaining("also route 1's") }),
    ]);
    expect(refusal('data:\n- attributes: {destination_override_endpoint: "*"}\n').problems[0]).toMatchObject({
      line: 2,
      message: expect.stringContaining('"id" that is a UUID'),
    });
    expect(refusal('data: [\n').problems[0]?.message).toContain('not valid YAML');
  });
});
