import { ERROR_STATUS } from '../errors.js';
import type { Endpoint } from './router.js';

/** The OpenAPI 3 document, generated from the same endpoint list and schemas the server enforces. */
export function buildOpenApi(endpoints: readonly Endpoint[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const e of endpoints) {
    const full = (e.root ? e.path : `/api/v1${e.path}`).replace(/:([a-z_]+)/gi, '{$1}');
    const params = [...full.matchAll(/\{([a-z_]+)\}/gi)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const status = String(e.status ?? 200);
    const ok =
      e.response === undefined
        ? { description: 'Success' }
        : {
            description: 'Success',
            content: { 'application/json': { schema: { type: 'object', properties: { data: e.response } } } },
          };
    paths[full] = {
      ...paths[full],
      [e.method.toLowerCase()]: {
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
    openapi: '3.0.3',
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
