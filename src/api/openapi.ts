import { ERROR_STATUS } from '../errors.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from './paging.js';
import type { Endpoint } from './router.js';

const QUERY_SCHEMAS: Readonly<Record<string, Record<string, unknown>>> = {
  limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
  cursor: { type: 'string', description: 'next_cursor of the previous page' },
  since: { type: 'string', format: 'date-time' },
  force: { type: 'boolean' },
};

const VERBS: Readonly<Record<Endpoint['method'], [one: string, many: string]>> = {
  GET: ['get', 'list'],
  POST: ['create', 'create'],
  PUT: ['replace', 'replace'],
  PATCH: ['update', 'update'],
  DELETE: ['delete', 'delete'],
};

/**
 * `listCertificates`, `getHostname`, `createVault`…: the verb from the method (GET of a collection
 * lists it) and the noun from the last literal segment, singular when one item is addressed.
 */
function operationId(e: Endpoint, taken: Set<string>): string {
  const segments = e.path.split('/').filter(Boolean);
  const literal = [...segments].reverse().find((s) => !s.startsWith(':')) ?? 'root';
  const one = (segments[segments.length - 1] ?? '').startsWith(':') || e.method === 'POST';
  const words = literal.replace(/\.json$/, '').split(/[-_.]/);
  const noun = words.map((w) => (w[0] ?? '').toUpperCase() + w.slice(1)).join('');
  const [single, many] = VERBS[e.method];
  const base = `${one ? single : many}${one ? noun.replace(/s$/, '') : noun}${e.root ? 'AtRoot' : ''}`;
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}${n}`;
  taken.add(id);
  return id;
}

/** The OpenAPI 3.1 document, generated from the same endpoint list and schemas the server enforces. */
export function buildOpenApi(endpoints: readonly Endpoint[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const taken = new Set<string>();
  for (const e of endpoints) {
    const full = (e.root ? e.path : `/api/v1${e.path}`).replace(/:([a-z_]+)/gi, '{$1}');
    const params: Record<string, unknown>[] = [...full.matchAll(/\{([a-z_]+)\}/gi)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    for (const name of e.query ?? []) {
      params.push({ name, in: 'query', required: false, schema: QUERY_SCHEMAS[name] ?? { type: 'string' } });
    }
    const paged = e.query?.includes('cursor') === true;
    const status = String(e.status ?? 200);
    const ok =
      e.response === undefined
        ? { description: 'Success' }
        : {
            description: 'Success',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: paged ? ['data', 'next_cursor'] : ['data'],
                  properties: {
                    data: e.response,
                    ...(paged ? { next_cursor: { type: ['string', 'null'] } } : {}),
                  },
                },
              },
            },
          };
    paths[full] = {
      ...paths[full],
      [e.method.toLowerCase()]: {
        operationId: operationId(e, taken),
        summary: e.summary,
        ...(params.length ? { parameters: params } : {}),
        ...(e.noAuth ? { security: [] } : {}),
        ...(e.body
          ? { requestBody: { required: true, content: { 'application/json': { schema: e.body } } } }
          : {}),
        responses: { [status]: ok, default: { $ref: '#/components/responses/Error' } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'vaultgate management API', version: '1' },
    paths,
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      responses: {
        Error: {
          description: 'An error with a stable code',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  error: {
                    type: 'object',
                    required: ['code', 'message'],
                    properties: {
                      code: { type: 'string', enum: Object.keys(ERROR_STATUS) },
                      message: { type: 'string' },
                      field: { type: 'string' },
                      request_id: { type: 'string' },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  };
}
