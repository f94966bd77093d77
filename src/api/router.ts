import type { IncomingHttpHeaders } from 'node:http';
import type { ErrorCode } from '../errors.js';
import type { Caller, Role } from './roles.js';
import type { JsonSchema } from './schema.js';

/** What a handler sees: validated input only. */
export interface ApiRequest<B = unknown> {
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: B;
  /** Who is calling, for audit events: "token:<name>", "dashboard:<name>", or "anonymous" (noAuth). */
  readonly actor: string;
  /** The authenticated token; undefined only on noAuth endpoints. */
  readonly caller: Caller | undefined;
  readonly remoteAddress: string;
}

export interface ApiResponse {
  status: number;
  /** Serialised as JSON unless `raw` is set. */
  body?: unknown;
  raw?: string | Buffer;
  headers?: Record<string, string | string[]>;
}

export interface Endpoint {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Relative to /api/v1 when `public` is not set; `:name` segments become params. */
  path: string;
  summary: string;
  /** The OpenAPI operationId, when the one derived from the path would be misleading (openapi.ts). */
  operationId?: string;
  /**
   * The query parameters the endpoint reads; any other → 400 unknown_parameter (SPEC §2), so a
   * misspelt filter is an error, never a silently unfiltered answer. Paged lists include
   * PAGE_PARAMETERS (paging.ts).
   */
  query?: readonly string[];
  /** Request body schema; endpoints without one refuse a body. */
  body?: JsonSchema;
  /** A valid request body, shown in the OpenAPI document (Redocly checks it against `body`). */
  example?: unknown;
  /** Schema of `data` in a successful `{"data": …}` answer (with `next_cursor` when paged). */
  response?: JsonSchema;
  /** A successful answer that is not `{"data": …}`: its media type and the schema of the whole body. */
  plain?: { readonly media: string; readonly schema: JsonSchema };
  /** Successful status, for the OpenAPI document. */
  status?: number;
  /** Further non-error statuses answered with the success body's shape (readiness: 503), with why. */
  alsoAnswers?: Readonly<Record<number, string>>;
  /**
   * The SPEC §5 codes this endpoint's own checks can answer with. The document adds those every
   * endpoint of its kind can get from the app (openapi.ts `errorCodes`): authentication, query
   * parameters, paging, bodies, and vault_not_found under /vaults/:vault_id.
   */
  errors?: readonly ErrorCode[];
  /**
   * The least role that may call it (SPEC §2 "API tokens and roles"). A GET needs viewer unless it
   * says otherwise; every other method must say (Router refuses an endpoint that does not), so a new
   * endpoint cannot forget its role. docs/security.md's table is checked against these.
   */
  role?: Role;
  /** No authentication (health probes, sign-in). */
  noAuth?: boolean;
  /** Subject to the failed-authentication throttle even without authentication (sign-in). */
  throttled?: boolean;
  /** Mounted at the root instead of under /api/v1. */
  root?: boolean;
  handler(req: ApiRequest): Promise<ApiResponse> | ApiResponse;
}

interface Compiled {
  endpoint: Endpoint;
  pattern: RegExp;
  names: string[];
}

export interface Match {
  endpoint: Endpoint;
  params: Record<string, string>;
}

/** Matches paths compiled once at start; answers "no such path" and "wrong method" apart. */
export class Router {
  readonly #routes: Compiled[] = [];

  constructor(readonly endpoints: readonly Endpoint[]) {
    for (const endpoint of endpoints) {
      if (!endpoint.noAuth && endpoint.method !== 'GET' && endpoint.role === undefined)
        throw new Error(`${endpoint.method} ${endpoint.path} declares no role (Endpoint.role)`);
      const names: string[] = [];
      const full = endpoint.root ? endpoint.path : `/api/v1${endpoint.path}`;
      const source = full.replace(/:([a-z_]+)/gi, (_, name: string) => {
        names.push(name);
        return '([^/]+)';
      });
      this.#routes.push({ endpoint, pattern: new RegExp(`^${source}/?$`), names });
    }
  }

  match(method: string, path: string): Match | 'method_not_allowed' | undefined {
    let pathMatched = false;
    for (const { endpoint, pattern, names } of this.#routes) {
      const m = pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (endpoint.method !== method) continue;
      const params: Record<string, string> = {};
      names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1] ?? '')));
      return { endpoint, params };
    }
    return pathMatched ? 'method_not_allowed' : undefined;
  }
}

/** The least role an endpoint needs; undefined for noAuth endpoints. */
export function requiredRole(endpoint: Endpoint): Role | undefined {
  if (endpoint.noAuth) return undefined;
  return endpoint.role ?? 'viewer';
}
