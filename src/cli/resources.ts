/**
 * What each `vaultgate <resource> <verb>` does: the API path, the table's columns, and how `create`
 * turns flags and files into the API's body. Parsing and help are commands.ts/args.ts.
 */
import { UsageError, choiceFlag, requireFlag, stringFlag, type FlagValues } from './args.js';
import type { FileReader } from './files.js';
import { expiry, expiryField, show, when, type Cell, type Column, type Row } from './output.js';

export interface CreateInput {
  readonly values: FlagValues;
  readonly files: FileReader;
  /** The verb's help hint, for usage errors. */
  readonly hint: string;
}

export interface ResourceImpl {
  /** The API path of the collection, relative to /api/v1; `vault` is the --vault flag (checked present). */
  readonly path: (vault: string) => string;
  readonly vaultScoped: boolean;
  /** The singular, for messages: "deleted route …". */
  readonly noun: string;
  readonly columns: readonly Column[];
  /** Detail-view fields shown differently (dates marked), and those left out of it. */
  readonly special?: Record<string, (row: Row) => Cell>;
  readonly skip?: readonly string[];
  /** The query of `list` from its filter flags. */
  readonly listQuery?: (values: FlagValues) => Record<string, string>;
  readonly createBody: (input: CreateInput) => Promise<Record<string, unknown>>;
  /** The field of `create`'s answer that is shown once and never again (a password, a token). */
  readonly once?: { field: string; what: string };
  /** The query of `delete` from its flags. */
  readonly deleteQuery?: (values: FlagValues) => string;
}

/**
 * An id as one path segment. `.` and `..` are refused: WHATWG URL parsing resolves them (and their
 * %2E spellings) as dot-segments, so `routes delete .. --vault V` would otherwise become DELETE /vaults/V.
 */
export function segment(id: string, what: string): string {
  if (/^(\.|%2e){1,2}$/i.test(id))
    throw new UsageError(`"${id}" is not ${what}`, 'give the id as list prints it');
  return encodeURIComponent(id);
}

const text = (field: string) => (row: Row) => ({ text: show(row[field]) });
const at = (field: string) => (row: Row) => ({ text: when(row[field]) });
const col = (title: string, value: (row: Row) => Cell): Column => ({ title, value });

/** The material flags of certificates and hostnames as the API's fields (PEM text, or base64 PKCS#12). */
async function material(input: CreateInput): Promise<Record<string, string>> {
  const { values, files, hint } = input;
  const cert = stringFlag(values, 'cert');
  const p12 = stringFlag(values, 'p12');
  if (cert === undefined && p12 === undefined) throw new UsageError('give --cert FILE or --p12 FILE', hint);
  if (cert !== undefined && p12 !== undefined) throw new UsageError('give --cert or --p12, not both', hint);
  const out: Record<string, string> = {};
  if (cert !== undefined) {
    let pem = await files.text('cert', cert);
    const chain = stringFlag(values, 'chain');
    if (chain !== undefined) pem = `${pem.trimEnd()}\n${await files.text('chain', chain)}`;
    out.certificate = pem;
    const key = stringFlag(values, 'key');
    if (key !== undefined) out.private_key = await files.text('key', key);
  } else {
    for (const flag of ['key', 'chain']) {
      if (stringFlag(values, flag) !== undefined)
        throw new UsageError(
          `--${flag} goes with --cert; a PKCS#12 file holds the key and chain itself`,
          hint,
        );
    }
    out.pkcs12 = (await files.read('p12', p12 ?? '')).toString('base64');
  }
  const passphrase = stringFlag(values, 'passphrase-file');
  if (passphrase !== undefined) out.passphrase = await files.secret('passphrase-file', passphrase);
  return out;
}

function optional(values: FlagValues, pairs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [flag, field] of Object.entries(pairs)) {
    const v = stringFlag(values, flag);
    if (v !== undefined) out[field] = v;
  }
  return out;
}

function csv(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

async function routeBody({ values, files, hint }: CreateInput): Promise<Record<string, unknown>> {
  let body: Record<string, unknown> = {};
  const file = stringFlag(values, 'file');
  if (file !== undefined) {
    const raw = await files.text('file', file);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (err) {
      throw new UsageError(`--file "${file}" is not JSON: ${(err as Error).message}`, hint);
    }
    // A file as `GET …/routes/{id} --json` or the API wrote it: {"data": {...}} is unwrapped.
    if (parsed !== null && typeof parsed === 'object' && 'data' in parsed && Object.keys(parsed).length === 1)
      parsed = (parsed as { data: unknown }).data;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new UsageError(`--file "${file}" must hold one JSON object (the route)`, hint);
    body = { ...(parsed as Record<string, unknown>) };
    // What the API adds is not part of a body: a route printed with --json can be created again.
    for (const field of ['vault_id', 'type', 'created_at', 'updated_at']) delete body[field];
  }
  Object.assign(
    body,
    optional(values, {
      id: 'id',
      'destination-override-endpoint': 'destination_override_endpoint',
      'host-endpoint': 'host_endpoint',
      protocol: 'protocol',
      'source-endpoint': 'source_endpoint',
    }),
  );
  const port = stringFlag(values, 'port');
  if (port !== undefined) {
    if (!/^\d{1,5}$/.test(port)) throw new UsageError(`--port must be a number, not "${port}"`, hint);
    body.port = Number(port);
  }
  const tags: Record<string, string> = { ...((body.tags as Record<string, string> | undefined) ?? {}) };
  const name = stringFlag(values, 'name');
  if (name !== undefined) tags.name = name;
  for (const tag of (values.tag as string[] | undefined) ?? []) {
    const eq = tag.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag takes KEY=VALUE, not "${tag}"`, hint);
    tags[tag.slice(0, eq)] = tag.slice(eq + 1);
  }
  if (Object.keys(tags).length > 0) body.tags = tags;
  const tls: Record<string, unknown> = {
    ...((body.upstream_tls as Record<string, unknown> | undefined) ?? {}),
  };
  const caFile = stringFlag(values, 'upstream-ca-file');
  if (caFile !== undefined) tls.ca_pem = await files.text('upstream-ca-file', caFile);
  const servername = stringFlag(values, 'upstream-servername');
  if (servername !== undefined) tls.servername = servername;
  const verify = choiceFlag(values, 'upstream-verify', ['true', 'false'], hint);
  if (verify !== undefined) tls.verify = verify === 'true';
  if (Object.keys(tls).length > 0) body.upstream_tls = tls;
  if (body.destination_override_endpoint === undefined)
    throw new UsageError('--destination-override-endpoint is required (or a --file that has it)', hint);
  return body;
}

const certificateColumns: readonly Column[] = [
  col('ID', text('id')),
  col('TYPE', text('proxy_type')),
  col('TIED TO', (r) => ({
    text: r.proxy_type === 'outbound' ? `credential ${show(r.credential_id)}` : `route ${show(r.route_id)}`,
  })),
  col('SUBJECT', text('subject')),
  col('EXPIRES', expiry),
  col('STATUS', text('status')),
  col('DESCRIPTION', text('description')),
];

export const IMPLS: Record<string, ResourceImpl> = {
  vaults: {
    path: () => '/vaults',
    vaultScoped: false,
    noun: 'vault',
    columns: [
      col('ID', text('id')),
      col('NAME', text('name')),
      col('ENVIRONMENT', text('environment')),
      col('INBOUND HOST', text('inbound_host')),
      col('CREATED', at('created_at')),
    ],
    createBody: ({ values, hint }) => {
      const environment = choiceFlag(values, 'environment', ['sandbox', 'live'], hint);
      return Promise.resolve({
        name: requireFlag(values, 'name', hint),
        ...(environment === undefined ? {} : { environment }),
      });
    },
    deleteQuery: (values) => (values.force === true ? '?force=true' : ''),
  },
  credentials: {
    path: (vault) => `/vaults/${segment(vault, 'a vault id')}/credentials`,
    vaultScoped: true,
    noun: 'access credential',
    columns: [
      col('ID', text('id')),
      col('USERNAME', text('username')),
      col('STATUS', text('status')),
      col('DESCRIPTION', text('description')),
      col('CREATED', at('created_at')),
    ],
    createBody: ({ values }) => Promise.resolve(optional(values, { description: 'description' })),
    once: { field: 'password', what: 'password' },
  },
  routes: {
    path: (vault) => `/vaults/${segment(vault, 'a vault id')}/routes`,
    vaultScoped: true,
    noun: 'route',
    columns: [
      col('ID', text('id')),
      col('TYPE', text('type')),
      col('NAME', (r) => ({ text: show((r.tags as Record<string, unknown> | undefined)?.name) })),
      col('DESTINATION', text('destination_override_endpoint')),
      col('HOST ENDPOINT', text('host_endpoint')),
    ],
    createBody: routeBody,
  },
  certificates: {
    path: (vault) => `/vaults/${segment(vault, 'a vault id')}/certificates`,
    vaultScoped: true,
    noun: 'certificate',
    columns: certificateColumns,
    special: { not_after: expiryField },
    skip: ['certificate_pem'],
    listQuery: (values) => {
      const hint = 'run vaultgate certificates list --help';
      choiceFlag(values, 'proxy-type', ['outbound', 'inbound'], hint);
      choiceFlag(values, 'status', ['valid', 'expiring_soon', 'expired', 'not_yet_valid'], hint);
      return optional(values, {
        'proxy-type': 'proxy_type',
        status: 'status',
        credential: 'credential_id',
        route: 'route_id',
      });
    },
    createBody: async (input) => {
      const { values, hint } = input;
      const credential = stringFlag(values, 'credential');
      const route = stringFlag(values, 'route');
      if ((credential === undefined) === (route === undefined))
        throw new UsageError(
          'give --credential ID (an outbound certificate) or --route ID (an inbound one), exactly one',
          hint,
        );
      const hosts = stringFlag(values, 'hosts');
      if (hosts !== undefined && route !== undefined)
        throw new UsageError('--hosts applies to outbound certificates (with --credential) only', hint);
      return {
        proxy_type: credential !== undefined ? 'outbound' : 'inbound',
        ...(credential !== undefined ? { credential_id: credential } : { route_id: route }),
        ...optional(values, { description: 'description' }),
        ...(hosts === undefined ? {} : { hosts: csv(hosts) }),
        ...(await material(input)),
      };
    },
  },
  hostnames: {
    path: (vault) => `/vaults/${segment(vault, 'a vault id')}/hostnames`,
    vaultScoped: true,
    noun: 'custom hostname',
    columns: [
      col('ID', text('id')),
      col('HOSTNAME', text('hostname')),
      col('SUBJECT', text('subject')),
      col('EXPIRES', expiry),
      col('STATUS', text('status')),
      col('CALLER MTLS', (r) => ({
        text: show((r.client_auth as Record<string, unknown> | undefined)?.mode),
      })),
    ],
    special: { not_after: expiryField },
    skip: ['certificate_pem'],
    createBody: async (input) => {
      const { values, files, hint } = input;
      const body: Record<string, unknown> = {
        hostname: requireFlag(values, 'hostname', hint),
        ...(await material(input)),
      };
      const mode = choiceFlag(values, 'client-auth', ['off', 'optional', 'required'], hint);
      const ca = stringFlag(values, 'client-ca-file');
      const crl = stringFlag(values, 'crl-file');
      if (mode === undefined && (ca !== undefined || crl !== undefined))
        throw new UsageError('--client-ca-file and --crl-file go with --client-auth optional|required', hint);
      if (mode !== undefined) {
        const clientAuth: Record<string, string> = { mode };
        if (ca !== undefined) clientAuth.ca_pem = await files.text('client-ca-file', ca);
        if (crl !== undefined) clientAuth.crl_pem = await files.text('crl-file', crl);
        body.client_auth = clientAuth;
      }
      return body;
    },
  },
  tokens: {
    path: () => '/api-tokens',
    vaultScoped: false,
    noun: 'API token',
    columns: [
      col('ID', text('id')),
      col('NAME', text('name')),
      col('ROLE', text('role')),
      col('CREATED', at('created_at')),
      col('EXPIRES', (r) => ({ text: r.expires_at === null ? 'never' : when(r.expires_at) })),
      col('LAST USED', (r) => ({ text: r.last_used_at === null ? 'never' : when(r.last_used_at) })),
    ],
    createBody: ({ values, hint }) =>
      Promise.resolve({
        name: requireFlag(values, 'name', hint),
        role:
          choiceFlag(values, 'role', ['admin', 'operator', 'viewer'], hint) ??
          requireFlag(values, 'role', hint),
        ...optional(values, { 'expires-at': 'expires_at' }),
      }),
    once: { field: 'token', what: 'token' },
  },
};
