/**
 * The OpenAPI 3.1 document of the management API (SPEC §2), generated from the endpoint list and the
 * very schemas the server validates requests with, so the description cannot drift from what is
 * enforced. test/api.openapi.test.ts runs two standard validators over it, and
 * test/api.contract.test.ts checks every endpoint's real answers against it.
 */
import { ERROR_STATUS, type ErrorCode } from '../errors.js';
import { SESSION_COOKIE } from './auth.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from './paging.js';
import { requiredRole, type Endpoint } from './router.js';
import { certificateStatus, type JsonSchema } from './schema.js';

/** What each query parameter an endpoint reads accepts; one not listed here is described as a string. */
const QUERY_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  limit: {
    type: 'integer',
    minimum: 1,
    maximum: MAX_LIMIT,
    default: DEFAULT_LIMIT,
    description: 'Page size',
  },
  cursor: { type: 'string', description: 'The next_cursor of the previous page (opaque)' },
  since: { type: 'string', format: 'date-time', description: 'Only events at or after this time' },
  force: { type: 'boolean', default: false, description: 'true also deletes what the vault holds' },
  proxy_type: { type: 'string', enum: ['inbound', 'outbound'] },
  status: certificateStatus,
  vault_id: { type: 'string', description: 'Only events of this vault' },
  action: { type: 'string', description: 'Only events of this action', examples: ['certificate.created'] },
  credential_id: { type: 'string', description: 'Only certificates tied to this access credential' },
  route_id: { type: 'string', description: 'Only certificates tied to this route' },
  q: {
    type: 'string',
    maxLength: 200,
    description:
      "vaultgate's certificate search: a case-insensitive part of the description, subject, issuer, a host or SAN, or a fingerprint prefix (docs/dashboard.md)",
  },
};

const VERBS: Readonly<Record<Endpoint['method'], [one: string, many: string]>> = {
  GET: ['get', 'list'],
  POST: ['create', 'create'],
  PUT: ['replace', 'replace'],
  PATCH: ['update', 'update'],
  DELETE: ['delete', 'delete'],
};

const isPaged = (e: Endpoint): boolean => e.query?.includes('cursor') === true;

/**
 * `listCertificates`, `getHostname`, `createVault`, `getHealthzAtRoot`…: the verb from the method (a
 * paged GET lists), the noun from the last literal segment, singular when one item is addressed or
 * created.
 */
function operationId(e: Endpoint, taken: Set<string>): string {
  if (e.operationId !== undefined) {
    taken.add(e.operationId);
    return e.operationId;
  }
  const segments = e.path.split('/').filter(Boolean);
  const literal = [...segments].reverse().find((s) => !s.startsWith(':')) ?? 'root';
  const item = (segments[segments.length - 1] ?? '').startsWith(':') || e.method === 'POST';
  const words = literal.replace(/\.json$/, '').split(/[-_.]/);
  const noun = words.map((w) => (w[0] ?? '').toUpperCase() + w.slice(1)).join('');
  const [single, many] = VERBS[e.method];
  const verb = e.method === 'GET' && isPaged(e) ? many : single;
  const base = `${verb}${item ? noun.replace(/s$/, '') : noun}${e.root ? 'AtRoot' : ''}`;
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}${n}`;
  taken.add(id);
  return id;
}

/**
 * Every code the endpoint can answer with: its own (`errors`) and those the app gives any endpoint
 * of its kind (app.ts): a query parameter it does not read, authentication and its throttle, paging,
 * body parsing and validation, and the vault of a /vaults/:vault_id path.
 */
export function errorCodes(e: Endpoint): ErrorCode[] {
  const codes: ErrorCode[] = ['unknown_parameter'];
  if (!e.noAuth || e.throttled) codes.push('unauthorized', 'too_many_requests');
  if (requiredRole(e) !== undefined && requiredRole(e) !== 'viewer') codes.push('forbidden');
  if (isPaged(e)) codes.push('invalid_parameter');
  if (e.body) codes.push('invalid_json', 'unknown_field', 'invalid_field', 'payload_too_large');
  else if (e.method !== 'GET' && e.method !== 'DELETE') codes.push('invalid_field');
  if (e.path.includes(':vault_id')) codes.push('vault_not_found');
  codes.push(...(e.errors ?? []));
  return [...new Set(codes)];
}

const REQUEST_ID_HEADER = { 'x-request-id': { $ref: '#/components/headers/RequestId' } };

/** One response per status, its `code` narrowed to the codes the endpoint can answer with there. */
function errorResponses(codes: readonly ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes)
    byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  const responses: Record<string, unknown> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const first = list[0] as ErrorCode;
    responses[String(status)] = {
      description: list.join(', '),
      headers:
        status === 429
          ? { ...REQUEST_ID_HEADER, 'retry-after': { $ref: '#/components/headers/RetryAfter' } }
          : REQUEST_ID_HEADER,
      content: {
        'application/json': {
          schema: errorSchema(list),
          example: {
            error: {
              code: first,
              message: 'A sentence that says what was wrong and how to fix it.',
              request_id: '6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e',
            },
          },
        },
      },
    };
  }
  return responses;
}

/** The success answer(s): `{"data": …}` (paged: with next_cursor), a plain body, or none (204). */
function successResponses(e: Endpoint): Record<string, unknown> {
  let content: Record<string, unknown> | undefined;
  if (e.response) {
    const paged = isPaged(e);
    content = {
      'application/json': {
        schema: {
          type: 'object',
          additionalProperties: false,
          required: paged ? ['data', 'next_cursor'] : ['data'],
          properties: {
            data: e.response,
            ...(paged
              ? { next_cursor: { type: ['string', 'null'], description: 'null on the last page' } }
              : {}),
          },
        },
      },
    };
  } else if (e.plain) {
    content = { [e.plain.media]: { schema: e.plain.schema } };
  }
  const answer = (description: string) => ({
    description,
    headers: REQUEST_ID_HEADER,
    ...(content ? { content } : {}),
  });
  const responses: Record<string, unknown> = { [String(e.status ?? 200)]: answer(e.summary) };
  for (const [status, description] of Object.entries(e.alsoAnswers ?? {})) {
    responses[status] = answer(description);
  }
  return responses;
}

function parameters(e: Endpoint, path: string): Record<string, unknown>[] {
  const params: Record<string, unknown>[] = [...path.matchAll(/\{([a-z_]+)\}/gi)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  for (const name of e.query ?? []) {
    params.push({ name, in: 'query', required: false, schema: QUERY_SCHEMAS[name] ?? { type: 'string' } });
  }
  if (!e.noAuth && e.method !== 'GET') {
    params.push({
      name: 'x-csrf-token',
      in: 'header',
      required: false,
      description: "With the dashboard's session cookie (not with a bearer token): the session's csrf_token",
      schema: { type: 'string' },
    });
  }
  return params;
}

/** SPEC §2's error body, its code one of `codes`. */
function errorSchema(codes: readonly string[]): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'message', 'request_id'],
        properties: {
          code: { type: 'string', enum: codes, description: 'Stable; see docs/errors.md' },
          message: { type: 'string', description: 'What went wrong and what to do, for a person' },
          field: { type: 'string', description: 'The request field or parameter at fault, when one is' },
          request_id: { type: 'string', description: 'The x-request-id of the answer, also in its log line' },
        },
      },
    },
  };
}

/**
 * `schema` with every sub-schema that is one of the named ones (the same object) replaced by a $ref to
 * it, so that a generated client gets one named type per resource instead of one per operation.
 */
function withRefs(schema: unknown, names: ReadonlyMap<unknown, string>, own?: string): unknown {
  const name = names.get(schema);
  if (name !== undefined && name !== own) return { $ref: `#/components/schemas/${name}` };
  if (Array.isArray(schema)) return schema.map((s) => withRefs(s, names));
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, withRefs(v, names)]));
}

/** `named`: schemas published under components/schemas and referred to wherever they appear. */
export function buildOpenApi(
  endpoints: readonly Endpoint[],
  named: Readonly<Record<string, JsonSchema>> = {},
): Record<string, unknown> {
  const names = new Map<unknown, string>(Object.entries(named).map(([name, schema]) => [schema, name]));
  const paths: Record<string, Record<string, unknown>> = {};
  const taken = new Set<string>();
  for (const e of endpoints) {
    const path = (e.root ? e.path : `/api/v1${e.path}`).replace(/:([a-z_]+)/gi, '{$1}');
    const params = parameters(e, path);
    paths[path] = {
      ...paths[path],
      [e.method.toLowerCase()]: {
        operationId: operationId(e, taken),
        summary: e.summary,
        // The least API-token role that may call it (SPEC §2; the table in docs/security.md).
        ...(requiredRole(e) === undefined ? {} : { 'x-vaultgate-role': requiredRole(e) }),
        ...(params.length ? { parameters: params } : {}),
        ...(e.noAuth ? { security: [] } : {}),
        ...(e.body
          ? {
              requestBody: {
                required: true,
                content: {
                  'application/json': {
                    schema: e.body,
                    ...(e.example === undefined ? {} : { example: e.example }),
                  },
                },
              },
            }
          : {}),
        responses: {
          ...successResponses(e),
          ...errorResponses(errorCodes(e)),
          default: { $ref: '#/components/responses/Unexpected' },
        },
      },
    };
  }
  const components = Object.fromEntries(
    Object.entries(named).map(([name, schema]) => [name, withRefs(schema, names, name)]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'vaultgate management API',
      version: '1',
      description:
        'JSON in, JSON out. A resource is {"data": {...}}, a list {"data": [...], "next_cursor"}; an error is {"error": {"code", "message", "field"?, "request_id"}} with a stable code.',
      license: { name: 'UNLICENSED', identifier: 'LicenseRef-UNLICENSED' },
    },
    servers: [{ url: '/', description: 'The vaultgate management port this document was read from' }],
    paths: withRefs(paths, names),
    security: [{ bearer: [] }, { session: [] }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API token (POST /api/v1/api-tokens), or the admin token (VAULTGATE_ADMIN_TOKEN, or <data>/admin-token), which is the admin token named "bootstrap"',
        },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: SESSION_COOKIE,
          description: 'The dashboard session set by POST /api/v1/session; writes also send x-csrf-token',
        },
      },
      schemas: { ...components, Error: errorSchema(Object.keys(ERROR_STATUS)) },
      headers: {
        RequestId: {
          description: "The caller's x-request-id when it sent a sane one, else a new one",
          schema: { type: 'string' },
        },
        RetryAfter: { description: 'Seconds to wait before trying again', schema: { type: 'integer' } },
      },
      responses: {
        Unexpected: {
          description: 'internal_error: vaultgate hit an unexpected error (the details are in its log)',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  };
}
