/**
 * vaultgate's own whole-vault file: the vault's routes, access credentials (never a password),
 * certificates and hostnames. Key material never leaves vaultgate, so certificates and hostnames
 * refer to files: `cert_file` (the public chain, which export can write) and `key_file` (a path the
 * user fills in with the private key they hold). Paths are relative to the YAML file's folder.
 */
import { Document } from 'yaml';
import { isUuid, readRoute, routeLabel, specOf, type ApiRoute, type RouteSpec } from './routes.js';
import {
  FileRefusedError,
  isObject,
  readSource,
  type FileProblem,
  type Path,
  type SourceFile,
} from './source.js';

export const VAULT_FILE_KIND = 'vaultgate.vault';

export interface CredentialSpec {
  id: string;
  description: string | null;
  status: 'active' | 'inactive';
}

export interface CertificateSpec {
  id: string;
  proxy_type: 'inbound' | 'outbound';
  credential_id?: string;
  route_id?: string;
  description: string | null;
  hosts: string[];
  fingerprint_sha256?: string;
  subject?: string;
  cert_file: string;
  key_file: string;
  passphrase_file?: string;
}

export interface HostnameSpec {
  hostname: string;
  fingerprint_sha256?: string;
  cert_file: string;
  key_file: string;
  passphrase_file?: string;
  client_auth: { mode: 'off' | 'optional' | 'required'; ca_file?: string; crl_file?: string };
}

export interface VaultFile {
  vault: { id?: string; name?: string; environment?: string };
  credentials: CredentialSpec[];
  routes: RouteSpec[];
  certificates: CertificateSpec[];
  hostnames: HostnameSpec[];
}

/** Fields export writes for people to read (subject, expiry, username…): accepted and ignored. */
const INFORMATIONAL = {
  vault: ['inbound_host', 'created_at'],
  credential: ['username', 'created_at', 'vault_id'],
  certificate: [
    'vault_id',
    'issuer',
    'serial_number',
    'not_before',
    'not_after',
    'key_type',
    'key_size',
    'curve',
    'sans',
    'chain',
    'status',
    'warnings',
    'created_at',
    'updated_at',
  ],
  hostname: [
    'id',
    'vault_id',
    'subject',
    'issuer',
    'serial_number',
    'not_before',
    'not_after',
    'sans',
    'chain',
    'status',
    'warnings',
    'created_at',
    'updated_at',
  ],
} as const;

class Reader {
  readonly problems: FileProblem[] = [];
  constructor(readonly src: SourceFile) {}

  fail(path: Path, item: string | undefined, message: string): void {
    this.problems.push({ line: this.src.lineOf(path), ...(item ? { item } : {}), message });
  }

  /** Refuses keys outside `allowed` (the fields read plus the informational ones). */
  keys(obj: Record<string, unknown>, path: Path, item: string | undefined, allowed: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key))
        this.fail([...path, key], item, `"${key}" is not a field here (${allowed.join(', ')}); remove it.`);
    }
  }

  list(
    top: Record<string, unknown>,
    key: string,
  ): { value: Record<string, unknown>; path: Path; index: number }[] {
    const v = top[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.fail([key], undefined, `${key} must be a list.`);
      return [];
    }
    return v.flatMap((value: unknown, index: number) => {
      if (isObject(value)) return [{ value, path: [key, index], index }];
      this.fail([key, index], undefined, `each entry of ${key} is a map.`);
      return [];
    });
  }

  string(
    obj: Record<string, unknown>,
    key: string,
    path: Path,
    item: string,
    required: boolean,
  ): string | undefined {
    const v = obj[key];
    if ((v === undefined || v === null) && !required) return undefined;
    if (typeof v !== 'string' || v === '') {
      this.fail([...path, key], item, `${key} must be ${required ? 'given as ' : ''}a non-empty string.`);
      return undefined;
    }
    return v;
  }
}

/** Reads a whole-vault file; any problem refuses the whole file (FileRefusedError, with lines). */
export function parseVaultFile(text: string): VaultFile {
  const src = readSource(text);
  const r = new Reader(src);
  const top = src.value;
  if (!isObject(top) || top.kind !== VAULT_FILE_KIND) {
    throw new FileRefusedError([
      {
        line: src.lineOf(isObject(top) && 'kind' in top ? ['kind'] : []),
        message: `a vault file starts with "kind: ${VAULT_FILE_KIND}" (vaultgate export writes it), and VGS route YAML with "data:".`,
      },
    ]);
  }
  r.keys(top, [], undefined, [
    'kind',
    'version',
    'vault',
    'credentials',
    'routes',
    'certificates',
    'hostnames',
  ]);
  if (top.version !== 1)
    r.fail(['version'], undefined, 'version must be 1 (the only version of this format).');

  const vault: VaultFile['vault'] = {};
  if (isObject(top.vault)) {
    r.keys(top.vault, ['vault'], 'vault', ['id', 'name', 'environment', ...INFORMATIONAL.vault]);
    for (const k of ['id', 'name', 'environment'] as const) {
      const v = top.vault[k];
      if (typeof v === 'string') vault[k] = v;
    }
  }

  const credentials: CredentialSpec[] = [];
  for (const { value, path, index } of r.list(top, 'credentials')) {
    const item = `credential ${index + 1}${typeof value.id === 'string' ? ` (id ${value.id})` : ''}`;
    r.keys(value, path, item, ['id', 'description', 'status', ...INFORMATIONAL.credential]);
    if (!isUuid(value.id))
      r.fail([...path, 'id'], item, 'every credential needs its "id" (a UUID): certificates refer to it.');
    const status = value.status ?? 'active';
    if (status !== 'active' && status !== 'inactive')
      r.fail([...path, 'status'], item, 'status is "active" or "inactive".');
    const description = value.description ?? null;
    if (description !== null && typeof description !== 'string')
      r.fail([...path, 'description'], item, 'description must be a string.');
    if (isUuid(value.id)) {
      credentials.push({
        id: value.id.toLowerCase(),
        description: description as string | null,
        status: status as CredentialSpec['status'],
      });
    }
  }

  const routes: RouteSpec[] = [];
  for (const { value, path, index } of r.list(top, 'routes')) {
    const spec = readRoute(src, path, value, routeLabel(index, value), r.problems);
    if (spec) routes.push(spec);
  }

  const credentialIds = new Set(credentials.map((c) => c.id));
  const routesById = new Map(routes.map((x) => [x.id, x]));
  const certificates: CertificateSpec[] = [];
  for (const { value, path, index } of r.list(top, 'certificates')) {
    const item = `certificate ${index + 1}${typeof value.id === 'string' ? ` (id ${value.id})` : ''}`;
    r.keys(value, path, item, [
      'id',
      'proxy_type',
      'credential_id',
      'route_id',
      'description',
      'hosts',
      'fingerprint_sha256',
      'subject',
      'cert_file',
      'key_file',
      'passphrase_file',
      ...INFORMATIONAL.certificate,
    ]);
    const before = r.problems.length;
    const proxyType = value.proxy_type;
    if (proxyType !== 'inbound' && proxyType !== 'outbound')
      r.fail([...path, 'proxy_type'], item, 'proxy_type is "inbound" or "outbound".');
    const credentialId =
      typeof value.credential_id === 'string' ? value.credential_id.toLowerCase() : undefined;
    const routeId = typeof value.route_id === 'string' ? value.route_id.toLowerCase() : undefined;
    if (proxyType === 'outbound' && (!credentialId || !credentialIds.has(credentialId))) {
      r.fail(
        [...path, 'credential_id'],
        item,
        'an outbound certificate names the id of a credential listed in this file.',
      );
    }
    if (
      proxyType === 'inbound' &&
      (!routeId || routesById.get(routeId)?.destination_override_endpoint === '*' || !routesById.has(routeId))
    ) {
      r.fail(
        [...path, 'route_id'],
        item,
        'an inbound certificate names the id of an inbound route listed in this file.',
      );
    }
    const hosts = value.hosts ?? [];
    if (!Array.isArray(hosts) || !hosts.every((h) => typeof h === 'string'))
      r.fail([...path, 'hosts'], item, 'hosts is a list of host names.');
    const description = value.description ?? null;
    const certFile = r.string(value, 'cert_file', path, item, true);
    const keyFile = r.string(value, 'key_file', path, item, true);
    const passphraseFile = r.string(value, 'passphrase_file', path, item, false);
    if (r.problems.length > before || !isUuid(value.id)) {
      if (!isUuid(value.id))
        r.fail([...path, 'id'], item, 'every certificate keeps its "id" (a UUID) from the export.');
      continue;
    }
    certificates.push({
      id: value.id.toLowerCase(),
      proxy_type: proxyType as CertificateSpec['proxy_type'],
      ...(proxyType === 'outbound' ? { credential_id: credentialId } : { route_id: routeId }),
      description: typeof description === 'string' ? description : null,
      hosts: hosts as string[],
      ...(typeof value.fingerprint_sha256 === 'string'
        ? { fingerprint_sha256: value.fingerprint_sha256 }
        : {}),
      ...(typeof value.subject === 'string' ? { subject: value.subject } : {}),
      cert_file: certFile as string,
      key_file: keyFile as string,
      ...(passphraseFile ? { passphrase_file: passphraseFile } : {}),
    });
  }

  const hostnames: HostnameSpec[] = [];
  for (const { value, path, index } of r.list(top, 'hostnames')) {
    const item = `hostname ${index + 1}${typeof value.hostname === 'string' ? ` (${value.hostname})` : ''}`;
    r.keys(value, path, item, [
      'hostname',
      'fingerprint_sha256',
      'cert_file',
      'key_file',
      'passphrase_file',
      'client_auth',
      ...INFORMATIONAL.hostname,
    ]);
    const before = r.problems.length;
    const hostname = r.string(value, 'hostname', path, item, true);
    const certFile = r.string(value, 'cert_file', path, item, true);
    const keyFile = r.string(value, 'key_file', path, item, true);
    const passphraseFile = r.string(value, 'passphrase_file', path, item, false);
    const clientAuth: HostnameSpec['client_auth'] = { mode: 'off' };
    if (value.client_auth !== undefined && value.client_auth !== null) {
      const ca = value.client_auth;
      if (!isObject(ca))
        r.fail([...path, 'client_auth'], item, 'client_auth is a map (mode, ca_file, crl_file).');
      else {
        r.keys(ca, [...path, 'client_auth'], item, ['mode', 'ca_file', 'crl_file', 'ca_subjects']);
        if (ca.mode !== 'off' && ca.mode !== 'optional' && ca.mode !== 'required') {
          r.fail(
            [...path, 'client_auth', 'mode'],
            item,
            'client_auth.mode is "off", "optional" or "required".',
          );
        } else clientAuth.mode = ca.mode;
        if (typeof ca.ca_file === 'string' && ca.ca_file !== '') clientAuth.ca_file = ca.ca_file;
        if (typeof ca.crl_file === 'string' && ca.crl_file !== '') clientAuth.crl_file = ca.crl_file;
      }
    }
    if (r.problems.length > before) continue;
    hostnames.push({
      hostname: hostname as string,
      ...(typeof value.fingerprint_sha256 === 'string'
        ? { fingerprint_sha256: value.fingerprint_sha256 }
        : {}),
      cert_file: certFile as string,
      key_file: keyFile as string,
      ...(passphraseFile ? { passphrase_file: passphraseFile } : {}),
      client_auth: clientAuth,
    });
  }
  if (r.problems.length > 0) throw new FileRefusedError(r.problems);
  return { vault, credentials, routes, certificates, hostnames };
}

/** What export reads from the API for a vault file. */
export interface VaultState {
  vault: { id: string; name: string; environment: string; inbound_host?: string };
  credentials: { id: string; username: string; description: string | null; status: string }[];
  routes: ApiRoute[];
  certificates: (Record<string, unknown> & { id: string })[];
  hostnames: (Record<string, unknown> & { id: string; hostname: string })[];
}

/** Where export writes (and the file refers to) a certificate's chain and its key. */
export function certificatePaths(id: string): { cert_file: string; key_file: string } {
  return { cert_file: `certificates/${id}.pem`, key_file: `certificates/${id}.key` };
}

export function hostnamePaths(hostname: string): { cert_file: string; key_file: string } {
  const name = hostname.replace(/^\*\./, '_wildcard.');
  return { cert_file: `hostnames/${name}.pem`, key_file: `hostnames/${name}.key` };
}

const CERTIFICATE_FIELDS = [
  'id',
  'proxy_type',
  'credential_id',
  'route_id',
  'description',
  'hosts',
  'subject',
  'issuer',
  'not_after',
  'fingerprint_sha256',
];

/** Renders a vault file; informational fields (username, subject, expiry) are for reviewers. */
export function renderVaultFile(state: VaultState): string {
  const pick = (obj: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> =>
    Object.fromEntries(keys.filter((k) => obj[k] !== undefined && obj[k] !== null).map((k) => [k, obj[k]]));
  const value = {
    kind: VAULT_FILE_KIND,
    version: 1,
    vault: pick(state.vault, ['id', 'name', 'environment', 'inbound_host']),
    credentials: state.credentials.map((c) => ({
      id: c.id,
      username: c.username,
      description: c.description,
      status: c.status,
    })),
    routes: state.routes.map((route) => {
      const spec = specOf(route);
      const out: Record<string, unknown> = { ...spec };
      if (spec.upstream_tls.verify && !spec.upstream_tls.ca_pem && !spec.upstream_tls.servername)
        delete out.upstream_tls;
      return out;
    }),
    certificates: state.certificates.map((c) => ({
      ...pick(c, CERTIFICATE_FIELDS),
      ...certificatePaths(c.id),
    })),
    hostnames: state.hostnames.map((h) => {
      const clientAuth = isObject(h.client_auth) ? h.client_auth : { mode: 'off' };
      const mode = typeof clientAuth.mode === 'string' ? clientAuth.mode : 'off';
      const paths = hostnamePaths(h.hostname);
      return {
        ...pick(h, ['hostname', 'subject', 'issuer', 'not_after', 'fingerprint_sha256']),
        ...paths,
        client_auth:
          mode === 'off'
            ? { mode }
            : {
                mode,
                ca_file: paths.cert_file.replace(/\.pem$/, '.client-ca.pem'),
                ca_subjects: clientAuth.ca_subjects,
              },
      };
    }),
  };
  const doc = new Document(value);
  doc.commentBefore =
    ' vaultgate whole-vault file (vaultgate export). Apply with: vaultgate apply -f FILE --vault ID.\n' +
    ' No passwords and no private keys: key_file paths are for you to fill in with the keys you hold.';
  return doc.toString({ lineWidth: 0 });
}
