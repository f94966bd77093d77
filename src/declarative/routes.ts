/**
 * A route as the declarative files describe it, the checks a file's route gets before anything is
 * sent (so a file is refused whole, with its line), and the comparison that decides whether a PUT is
 * needed. Both file formats (vgs.ts, vault-file.ts) share it.
 */
import { isObject, type FileProblem, type Path, type SourceFile } from './source.js';

export interface UpstreamTlsSpec {
  verify: boolean;
  ca_pem?: string;
  servername?: string;
}

/** A route with every default filled in: what PUT …/routes/{id} receives (plus `entries: []`). */
export interface RouteSpec {
  id: string;
  destination_override_endpoint: string;
  host_endpoint: string;
  port: number;
  protocol: string;
  source_endpoint: string;
  tags: Record<string, string>;
  upstream_tls: UpstreamTlsSpec;
}

/** A route as the API answers it (the fields the files carry). */
export interface ApiRoute extends RouteSpec {
  type?: string;
  created_at?: string;
  updated_at?: string;
}

/** The route attributes a file may set. */
export const ROUTE_FIELDS = [
  'id',
  'destination_override_endpoint',
  'host_endpoint',
  'port',
  'protocol',
  'source_endpoint',
  'tags',
  'entries',
  'upstream_tls',
] as const;

/** VGS's read-only attributes (SPEC §2): accepted and ignored. */
export const READ_ONLY_FIELDS = ['created_at', 'updated_at', 'ordinal', 'type'] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(v: unknown): v is string {
  return typeof v === 'string' && UUID.test(v);
}

/** How a problem inside one route names it: its place in the file, id and name tag when known. */
export function routeLabel(index: number, attrs: Record<string, unknown>, fallbackId?: unknown): string {
  const id =
    typeof attrs.id === 'string' ? attrs.id : typeof fallbackId === 'string' ? fallbackId : undefined;
  const tags = isObject(attrs.tags) ? attrs.tags : {};
  const name = typeof tags.name === 'string' ? tags.name : undefined;
  const parts = [id ? `id ${id}` : undefined, name ? `name "${name}"` : undefined].filter(Boolean);
  return `route ${index + 1}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/**
 * Reads one route's attributes at `path` of `src`; problems go to `problems` (with the line of the
 * field at fault), and the route is returned only when it has none.
 */
export function readRoute(
  src: SourceFile,
  path: Path,
  attrs: Record<string, unknown>,
  item: string,
  problems: FileProblem[],
): RouteSpec | undefined {
  const before = problems.length;
  const fail = (field: string | Path, message: string): void => {
    problems.push({
      line: src.lineOf([...path, ...(typeof field === 'string' ? [field] : field)]),
      item,
      message,
    });
  };
  const known = new Set<string>([...ROUTE_FIELDS, ...READ_ONLY_FIELDS]);
  for (const key of Object.keys(attrs)) {
    if (!known.has(key)) {
      fail(
        key,
        `"${key}" is not a route attribute vaultgate supports (it knows ${ROUTE_FIELDS.join(', ')}; ${READ_ONLY_FIELDS.join(', ')} are read-only and ignored); remove it.`,
      );
    }
  }
  const id = attrs.id;
  if (!isUuid(id))
    fail('id', 'every route needs an "id" that is a UUID, so that applying the file again finds it.');
  const destination = attrs.destination_override_endpoint;
  if (typeof destination !== 'string' || destination.trim() === '') {
    fail(
      'destination_override_endpoint',
      'destination_override_endpoint must be the upstream URL (inbound route) or "*" (outbound route).',
    );
  } else if (destination.trim() !== '*' && !isHttpUrl(destination.trim())) {
    fail(
      'destination_override_endpoint',
      `destination_override_endpoint "${destination}" is neither "*" nor an http(s) URL such as https://api.example.com:443.`,
    );
  }
  const optionalString = (field: string): string | undefined => {
    const v = attrs[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      fail(field, `${field} must be a string.`);
      return undefined;
    }
    return v;
  };
  const hostEndpoint = optionalString('host_endpoint');
  const sourceEndpoint = optionalString('source_endpoint');
  const protocol = optionalString('protocol');
  if (protocol !== undefined && protocol !== 'http') {
    fail(
      'protocol',
      `protocol "${protocol}" is not supported: vaultgate routes carry HTTP ("protocol: http").`,
    );
  }
  const port = attrs.port;
  if (
    port !== undefined &&
    port !== null &&
    !(Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535)
  ) {
    fail('port', 'port must be a whole number from 1 to 65535.');
  }
  const tags: Record<string, string> = {};
  if (attrs.tags !== undefined && attrs.tags !== null) {
    if (!isObject(attrs.tags))
      fail('tags', 'tags must be a map of names to strings, such as "name: customer api".');
    else {
      for (const [k, v] of Object.entries(attrs.tags)) {
        if (typeof v !== 'string') fail(['tags', k], `tag "${k}" must be a string; quote it.`);
        else tags[k] = v;
      }
    }
  }
  const entries = attrs.entries;
  if (entries !== undefined && entries !== null) {
    if (!Array.isArray(entries))
      fail('entries', 'entries must be a list (vaultgate supports only "entries: []").');
    else if (entries.length > 0) {
      fail(
        'entries',
        `this route has ${entries.length} filter(s) in "entries" (VGS redact/reveal operations), which vaultgate does not support yet; remove them (entries: []) or leave this route out. Nothing was applied.`,
      );
    }
  }
  const upstreamTls: UpstreamTlsSpec = { verify: true };
  const tls = attrs.upstream_tls;
  if (tls !== undefined && tls !== null) {
    if (!isObject(tls)) fail('upstream_tls', 'upstream_tls must be a map (ca_pem, verify, servername).');
    else {
      for (const [k, v] of Object.entries(tls)) {
        if (k === 'verify' && typeof v === 'boolean') upstreamTls.verify = v;
        else if ((k === 'ca_pem' || k === 'servername') && typeof v === 'string') {
          if (v !== '') upstreamTls[k] = v;
        } else if (k === 'verify' || k === 'ca_pem' || k === 'servername') {
          fail(
            ['upstream_tls', k],
            `upstream_tls.${k} must be ${k === 'verify' ? 'true or false' : 'a string'}.`,
          );
        } else {
          fail(
            ['upstream_tls', k],
            `"upstream_tls.${k}" is not supported (ca_pem, verify, servername are); remove it.`,
          );
        }
      }
    }
  }
  if (problems.length > before) return undefined;
  return {
    id: (id as string).toLowerCase(),
    destination_override_endpoint: (destination as string).trim(),
    host_endpoint: hostEndpoint ?? '(.*)',
    port: typeof port === 'number' ? port : 443,
    protocol: protocol ?? 'http',
    source_endpoint: sourceEndpoint?.trim() ?? '*',
    tags,
    upstream_tls: upstreamTls,
  };
}

function isHttpUrl(s: string): boolean {
  try {
    const url = new URL(s);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** The body of PUT …/routes/{id}. */
export function routeBody(spec: RouteSpec): Record<string, unknown> {
  return { ...spec, entries: [] };
}

/** The fields of an API route the files carry, in the files' shape. */
export function specOf(route: ApiRoute): RouteSpec {
  const tls: UpstreamTlsSpec = { verify: route.upstream_tls.verify };
  if (route.upstream_tls.ca_pem) tls.ca_pem = route.upstream_tls.ca_pem;
  if (route.upstream_tls.servername) tls.servername = route.upstream_tls.servername;
  return {
    id: route.id,
    destination_override_endpoint: route.destination_override_endpoint,
    host_endpoint: route.host_endpoint,
    port: route.port,
    protocol: route.protocol,
    source_endpoint: route.source_endpoint,
    tags: { ...route.tags },
    upstream_tls: tls,
  };
}

/** A certificate bundle compared by its content, not by its line breaks or headers. */
function pemKey(pem: string | undefined): string {
  if (pem === undefined) return '';
  return [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)]
    .map((m) => (m[2] ?? '').replace(/\s+/g, ''))
    .join('|');
}

/** The value of each compared field as vaultgate stores it (host names in lower case, PEM by content). */
function comparable(spec: RouteSpec): Record<string, string> {
  const out: Record<string, string> = {
    destination_override_endpoint: spec.destination_override_endpoint,
    host_endpoint: spec.host_endpoint,
    port: String(spec.port),
    protocol: spec.protocol,
    source_endpoint: spec.source_endpoint,
    'upstream_tls.verify': String(spec.upstream_tls.verify),
    'upstream_tls.servername': (spec.upstream_tls.servername ?? '').toLowerCase().replace(/\.$/, ''),
    'upstream_tls.ca_pem': pemKey(spec.upstream_tls.ca_pem),
  };
  for (const [k, v] of Object.entries(spec.tags)) out[`tags.${k}`] = v;
  return out;
}

export interface FieldChange {
  field: string;
  from: string | undefined;
  to: string | undefined;
}

/** What differs between the current route and the wanted one; empty when a PUT would change nothing. */
export function diffRoute(current: RouteSpec, wanted: RouteSpec): FieldChange[] {
  const a = comparable(current);
  const b = comparable(wanted);
  const shown = (field: string, spec: RouteSpec, value: string | undefined): string | undefined => {
    if (value === undefined) return undefined;
    if (field === 'upstream_tls.ca_pem') return value === '' ? '(none)' : '(a CA bundle)';
    if (field === 'upstream_tls.servername') return spec.upstream_tls.servername ?? '(none)';
    return value;
  };
  const changes: FieldChange[] = [];
  for (const field of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (a[field] === b[field]) continue;
    changes.push({ field, from: shown(field, current, a[field]), to: shown(field, wanted, b[field]) });
  }
  return changes;
}

export type RouteAction =
  | { kind: 'create'; spec: RouteSpec }
  | { kind: 'replace'; spec: RouteSpec; changes: FieldChange[] }
  | { kind: 'unchanged'; spec: RouteSpec };

/** Compares before any PUT: a route whose stored form already equals the file's is left alone. */
export function planRoutes(wanted: readonly RouteSpec[], current: readonly ApiRoute[]): RouteAction[] {
  const byId = new Map(current.map((r) => [r.id.toLowerCase(), r]));
  return wanted.map((spec): RouteAction => {
    const existing = byId.get(spec.id);
    if (!existing) return { kind: 'create', spec };
    const changes = diffRoute(specOf(existing), spec);
    return changes.length === 0 ? { kind: 'unchanged', spec } : { kind: 'replace', spec, changes };
  });
}

/** The lines --dry-run (and apply) print for one route action. */
export function describeRouteAction(action: RouteAction): string[] {
  const name = action.spec.tags.name ? ` "${action.spec.tags.name}"` : '';
  if (action.kind === 'unchanged') return [`= route ${action.spec.id}${name}: unchanged`];
  if (action.kind === 'create') {
    return [
      `+ route ${action.spec.id}${name}: create (${action.spec.destination_override_endpoint === '*' ? 'outbound' : 'inbound'}, ${action.spec.destination_override_endpoint})`,
    ];
  }
  return [
    `~ route ${action.spec.id}${name}: replace`,
    ...action.changes.map((c) => `    ${c.field}: ${c.from ?? '(none)'} -> ${c.to ?? '(none)'}`),
  ];
}
