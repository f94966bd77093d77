import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { isHostname } from '../hosts/names.js';

/**
 * SPEC §1 settings. Each comes from a command-line flag, else its environment variable, else the
 * default; the result is validated once at start and frozen. A bad value raises ConfigError, whose
 * message is one sentence naming the setting; main.ts turns it into exit code 2.
 */
export interface Settings {
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  /** 32 raw bytes when given; undefined means "use or create <data>/master.key". */
  readonly masterKey: Buffer | undefined;
  readonly adminToken: string | undefined;
  readonly host: string;
  /** Per-listener addresses (SPEC §1), each VAULTGATE_HOST unless set: the API can stay on loopback. */
  readonly adminHost: string;
  readonly inboundHost: string;
  /** The outbound proxy, plain and over TLS. */
  readonly outboundHost: string;
  /**
   * The management listener's certificate and key files (validated at load); set → HTTPS only.
   * Only the paths: the key is read again by the control plane and never travels to the workers.
   */
  readonly adminTls: { certFile: string; keyFile: string } | undefined;
  readonly adminPort: number;
  readonly inboundPort: number;
  readonly outboundPort: number;
  readonly outboundTlsPort: number;
  readonly domain: string;
  readonly upstreamCaFile: string | undefined;
  /** The PEM bundle read from upstreamCaFile, so a missing file fails the start, not a request. */
  readonly upstreamCaPem: string | undefined;
  readonly logLevel: LogLevel;
  readonly upstreamConnectTimeoutMs: number;
  readonly upstreamResponseTimeoutMs: number;
  /** A proxied request body that sends nothing for this long → 408 request_timeout (SPEC §3). */
  readonly requestBodyTimeoutMs: number;
  /** Failed authentications per client address per minute before it gets 429 (0 turns this off). */
  readonly authFailuresPerMinute: number;
  /** Open connections per listener (in each process) before new ones are refused. */
  readonly maxConnections: number;
  /** Open connections from one client address per process, over all its listeners (SPEC §1a). */
  readonly maxConnectionsPerClient: number;
  /** Data-plane worker processes (SPEC §1a); at least 1, the data plane never runs in the control plane. */
  readonly workers: number;
  /**
   * Refuse upstreams whose address is link-local (169.254.0.0/16, fe80::/10): the cloud metadata
   * services live there, and a route or CONNECT target pointing at them would hand out credentials.
   */
  readonly blockLinkLocal: boolean;
  /** VAULTGATE_BLOCKED_UPSTREAMS: CIDR ranges no upstream may resolve to (SPEC §4), normalised. */
  readonly blockedUpstreams: readonly string[];
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

interface Definition {
  env: string;
  flag: string;
  default: string | undefined;
  help: string;
  /**
   * A secret: accepted from the environment or from `file` (another setting naming a file), never
   * as a flag, because every local user can read a process's command line (`ps`, /proc/<pid>/cmdline).
   */
  secret?: { file: string };
}

/** The table of SPEC §1, plus two timeouts SPEC §5 calls configurable. */
export const DEFINITIONS = {
  dataDir: {
    env: 'VAULTGATE_DATA_DIR',
    flag: '--data-dir',
    default: './data',
    help: 'where the embedded database, generated keys and CA live',
  },
  databaseUrl: {
    env: 'VAULTGATE_DATABASE_URL',
    flag: '--database-url',
    default: undefined,
    help: 'postgres://… to use PostgreSQL instead of the SQLite file',
  },
  masterKey: {
    env: 'VAULTGATE_MASTER_KEY',
    flag: '--master-key',
    default: undefined,
    help: 'base64 of 32 random bytes; encrypts private keys at rest (environment only)',
    secret: { file: 'VAULTGATE_MASTER_KEY_FILE' },
  },
  masterKeyFile: {
    env: 'VAULTGATE_MASTER_KEY_FILE',
    flag: '--master-key-file',
    default: undefined,
    help: 'file holding VAULTGATE_MASTER_KEY (a trailing newline is ignored)',
  },
  adminToken: {
    env: 'VAULTGATE_ADMIN_TOKEN',
    flag: '--admin-token',
    default: undefined,
    help: 'bearer token of the management API and dashboard (environment only)',
    secret: { file: 'VAULTGATE_ADMIN_TOKEN_FILE' },
  },
  adminTokenFile: {
    env: 'VAULTGATE_ADMIN_TOKEN_FILE',
    flag: '--admin-token-file',
    default: undefined,
    help: 'file holding VAULTGATE_ADMIN_TOKEN (a trailing newline is ignored)',
  },
  host: {
    env: 'VAULTGATE_HOST',
    flag: '--host',
    default: '127.0.0.1',
    help: 'address every listener binds to, unless its own setting below says otherwise',
  },
  adminHost: {
    env: 'VAULTGATE_ADMIN_HOST',
    flag: '--admin-host',
    default: undefined,
    help: 'address of the management API and dashboard alone (default VAULTGATE_HOST)',
  },
  inboundHost: {
    env: 'VAULTGATE_INBOUND_HOST',
    flag: '--inbound-host',
    default: undefined,
    help: 'address of the inbound proxy alone (default VAULTGATE_HOST)',
  },
  outboundHost: {
    env: 'VAULTGATE_OUTBOUND_HOST',
    flag: '--outbound-host',
    default: undefined,
    help: 'address of the outbound proxy, plain and TLS (default VAULTGATE_HOST)',
  },
  adminTlsCertFile: {
    env: 'VAULTGATE_ADMIN_TLS_CERT_FILE',
    flag: '--admin-tls-cert-file',
    default: undefined,
    help: 'PEM certificate (and chain): the management API and dashboard then speak HTTPS only',
  },
  adminTlsKeyFile: {
    env: 'VAULTGATE_ADMIN_TLS_KEY_FILE',
    flag: '--admin-tls-key-file',
    default: undefined,
    help: 'PEM private key of VAULTGATE_ADMIN_TLS_CERT_FILE',
  },
  adminPort: {
    env: 'VAULTGATE_ADMIN_PORT',
    flag: '--admin-port',
    default: '9000',
    help: 'management API, dashboard, /metrics, /healthz',
  },
  inboundPort: {
    env: 'VAULTGATE_INBOUND_PORT',
    flag: '--inbound-port',
    default: '8443',
    help: 'inbound proxy (HTTPS)',
  },
  outboundPort: {
    env: 'VAULTGATE_OUTBOUND_PORT',
    flag: '--outbound-port',
    default: '8080',
    help: 'outbound proxy (plain HTTP proxy protocol)',
  },
  outboundTlsPort: {
    env: 'VAULTGATE_OUTBOUND_TLS_PORT',
    flag: '--outbound-tls-port',
    default: '8444',
    help: 'outbound proxy spoken over TLS',
  },
  domain: {
    env: 'VAULTGATE_DOMAIN',
    flag: '--domain',
    default: 'localhost',
    help: 'vault hostnames are <vault_id>.<environment>.<domain>',
  },
  upstreamCaFile: {
    env: 'VAULTGATE_UPSTREAM_CA_FILE',
    flag: '--upstream-ca-file',
    default: undefined,
    help: 'extra PEM bundle trusted when verifying upstream servers',
  },
  logLevel: {
    env: 'VAULTGATE_LOG_LEVEL',
    flag: '--log-level',
    default: 'info',
    help: 'debug, info, warn or error; JSON logs on stdout',
  },
  upstreamConnectTimeoutMs: {
    env: 'VAULTGATE_UPSTREAM_CONNECT_TIMEOUT_MS',
    flag: '--upstream-connect-timeout-ms',
    default: '10000',
    help: 'no upstream connection within this → 504 upstream_timeout',
  },
  upstreamResponseTimeoutMs: {
    env: 'VAULTGATE_UPSTREAM_RESPONSE_TIMEOUT_MS',
    flag: '--upstream-response-timeout-ms',
    default: '60000',
    help: 'no upstream response headers within this → 504 upstream_timeout',
  },
  requestBodyTimeoutMs: {
    env: 'VAULTGATE_REQUEST_BODY_TIMEOUT_MS',
    flag: '--request-body-timeout-ms',
    default: '30000',
    help: 'a proxied request body that sends nothing for this long → 408 request_timeout',
  },
  authFailuresPerMinute: {
    env: 'VAULTGATE_AUTH_FAILURES_PER_MINUTE',
    flag: '--auth-failures-per-minute',
    default: '20',
    help: 'failed logins or proxy authentications per address per minute before 429 (0 = no limit)',
  },
  maxConnections: {
    env: 'VAULTGATE_MAX_CONNECTIONS',
    flag: '--max-connections',
    default: '10000',
    help: 'open connections per listener before new ones are refused',
  },
  maxConnectionsPerClient: {
    env: 'VAULTGATE_MAX_CONNECTIONS_PER_CLIENT',
    flag: '--max-connections-per-client',
    default: '1000',
    help: 'open connections from one client address (per process) before new ones are refused',
  },
  workers: {
    env: 'VAULTGATE_WORKERS',
    flag: '--workers',
    // What the process may use (cgroup/affinity aware), not the machine's core count.
    default: String(availableParallelism()),
    help: 'data-plane worker processes serving the proxy ports',
  },
  blockLinkLocal: {
    env: 'VAULTGATE_BLOCK_LINK_LOCAL',
    flag: '--block-link-local',
    default: 'true',
    help: 'refuse upstreams in 169.254.0.0/16 and fe80::/10 (cloud metadata); false allows them',
  },
  blockedUpstreams: {
    env: 'VAULTGATE_BLOCKED_UPSTREAMS',
    flag: '--blocked-upstreams',
    default: undefined,
    help: 'comma-separated CIDR ranges no upstream may resolve to (e.g. 10.0.0.0/8,fd00::/8)',
  },
} satisfies Record<string, Definition>;

type Name = keyof typeof DEFINITIONS;

/**
 * VAULTGATE_* names that are not settings of this process but are known, so that the unknown-variable
 * check below does not refuse them: the command-line client's own (SPEC §2), and the knobs of
 * vaultgate's test suite, which the suite's processes inherit from the shell that runs it.
 */
export const OTHER_KNOWN_VARIABLES: readonly string[] = [
  'VAULTGATE_URL',
  'VAULTGATE_TOKEN',
  'VAULTGATE_CA_FILE',
  'VAULTGATE_BLOCKED_UPSTREAMS',
  // test suite (test/helpers/vaultgate.ts, test/helpers/postgres.ts, test/dashboard.e2e.test.ts,
  // test/operations.rotate-master-key.test.ts)
  'VAULTGATE_TEST_WORKERS',
  'VAULTGATE_TEST_DATABASE_URL',
  'VAULTGATE_UPDATE_SCREENSHOTS',
  'VAULTGATE_TEST_ROTATE_FAILPOINT',
];

export function knownVariables(): Set<string> {
  return new Set([...Object.values(DEFINITIONS).map((d: Definition) => d.env), ...OTHER_KNOWN_VARIABLES]);
}

export function usage(): string {
  const lines = Object.values(DEFINITIONS).map((d: Definition) => {
    const flag = d.secret ? '(no flag: a secret)' : d.flag;
    return `  ${flag.padEnd(32)} ${d.env.padEnd(40)} ${d.help}${d.default ? ` (default ${d.default})` : ''}`;
  });
  return `usage: vaultgate [flags]\n\n  --help, -h                       print this list\n  --version, -V                    print the version\n\n${lines.join('\n')}\n`;
}

/** Levenshtein distance, for "did you mean" (names are short: the quadratic table is nothing). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/**
 * An unknown VAULTGATE_* variable refuses the start, like an unknown flag (SPEC §1): a typo such as
 * VAULTGATE_ADMN_PORT would otherwise silently leave the default in place — for a *_HOST, an API
 * on the network that its operator believes is on loopback.
 */
function checkEnvironment(env: NodeJS.ProcessEnv): void {
  const known = knownVariables();
  const unknown = Object.keys(env)
    .filter((k) => k.startsWith('VAULTGATE_') && !known.has(k))
    .sort();
  if (unknown.length === 0) return;
  const named = unknown.map((name) => {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const candidate of known) {
      const d = distance(name, candidate);
      if (d < bestDistance) [best, bestDistance] = [candidate, d];
    }
    // Close: a few edits, fewer than half of the name after the prefix (a short name is no typo of another).
    const close = bestDistance <= 3 && bestDistance * 2 < name.length - 'VAULTGATE_'.length;
    return best !== undefined && close ? `${name} (did you mean ${best}?)` : name;
  });
  throw new ConfigError(
    `Unknown environment variable${unknown.length > 1 ? 's' : ''} ${named.join(', ')}; unset ${unknown.length > 1 ? 'them' : 'it'} or fix the name (run with --help to list the settings).`,
  );
}

/** Parses `--flag value` and `--flag=value`; an unknown flag is an error, not ignored. */
function parseFlags(argv: readonly string[]): Map<Name, string> {
  const byFlag = new Map(Object.entries(DEFINITIONS).map(([name, d]) => [d.flag, name as Name]));
  const out = new Map<Name, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const name = byFlag.get(flag);
    if (!name)
      throw new ConfigError(`Unknown command-line argument "${flag}"; run with --help to list the settings.`);
    const secret = (DEFINITIONS[name] as Definition).secret;
    if (secret) {
      // Refused without reading the value, so the secret is not echoed anywhere either.
      throw new ConfigError(
        `The flag ${flag} is refused because a secret on the command line is visible to every local user (ps); set ${DEFINITIONS[name].env} or ${secret.file} instead.`,
      );
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`The flag ${flag} needs a value.`);
    out.set(name, value);
  }
  return out;
}

function port(name: Name, raw: string): number {
  const d = DEFINITIONS[name];
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) {
    throw new ConfigError(
      `${d.env} must be a port number between 0 and 65535 (0 picks a free port), not "${raw}".`,
    );
  }
  return Number(raw);
}

function count(name: Name, raw: string, min: number): number {
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min) {
    throw new ConfigError(
      `${DEFINITIONS[name].env} must be a whole number of at least ${min}, not "${raw}".`,
    );
  }
  return Number(raw);
}

/** More workers than this only adds memory and snapshot rebuilds: no machine this targets has the cores. */
const MAX_WORKERS = 256;

function workerCount(raw: string): number {
  const n = count('workers', raw, 1);
  if (n > MAX_WORKERS)
    throw new ConfigError(`VAULTGATE_WORKERS must be at most ${MAX_WORKERS}, not "${raw}".`);
  return n;
}

function bool(name: Name, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (value === 'true' || value === '1' || value === 'yes') return true;
  if (value === 'false' || value === '0' || value === 'no') return false;
  throw new ConfigError(`${DEFINITIONS[name].env} must be true or false, not "${raw}".`);
}

/** VAULTGATE_BLOCKED_UPSTREAMS: `a.b.c.d/n` or `v6::/n` items; a bare address counts as /32 or /128. */
function cidrList(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      const [address = '', bits, extra] = item.split('/');
      const family = isIP(address);
      const max = family === 4 ? 32 : 128;
      const n = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
      if (family === 0 || extra !== undefined || n < 0 || n > max) {
        throw new ConfigError(
          `VAULTGATE_BLOCKED_UPSTREAMS must be comma-separated CIDR ranges such as "10.0.0.0/8,fd00::/8"; "${item}" is not one.`,
        );
      }
      return `${address.toLowerCase()}/${n}`;
    });
}

function positiveMs(name: Name, raw: string): number {
  if (!/^\d{1,9}$/.test(raw) || Number(raw) === 0) {
    throw new ConfigError(
      `${DEFINITIONS[name].env} must be a whole number of milliseconds above 0, not "${raw}".`,
    );
  }
  return Number(raw);
}

function readSettingFile(setting: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${setting} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): ${path}.`,
    );
  }
}

/**
 * The management listener's certificate and key, checked the way the TLS server will use them: a
 * missing file, a file that is not PEM or a key that does not belong to the certificate stops the
 * start here (exit 2), not at the first browser that connects.
 */
export function loadAdminTls(files: { certFile: string; keyFile: string }): { cert: string; key: string } {
  const cert = readSettingFile('VAULTGATE_ADMIN_TLS_CERT_FILE', files.certFile);
  const key = readSettingFile('VAULTGATE_ADMIN_TLS_KEY_FILE', files.keyFile);
  if (!cert.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError(
      `VAULTGATE_ADMIN_TLS_CERT_FILE must hold a PEM certificate: ${files.certFile} has none.`,
    );
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key))
    throw new ConfigError(
      `VAULTGATE_ADMIN_TLS_KEY_FILE must hold a PEM private key: ${files.keyFile} has none.`,
    );
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    // OpenSSL's reason (e.g. "key values mismatch") names no secret material.
    throw new ConfigError(
      `VAULTGATE_ADMIN_TLS_CERT_FILE and VAULTGATE_ADMIN_TLS_KEY_FILE are not a usable certificate and key (${(err as Error).message}).`,
    );
  }
  return { cert, key };
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = []): Settings {
  const flags = parseFlags(argv);
  checkEnvironment(env);
  const raw = (name: Name): string | undefined => {
    const value = flags.get(name) ?? env[DEFINITIONS[name].env];
    return value === undefined || value === '' ? DEFINITIONS[name].default : value;
  };
  const need = (name: Name): string => raw(name) as string;
  /** A secret from its variable or from its *_FILE (one trailing newline dropped), never both. */
  const secret = (name: 'masterKey' | 'adminToken', fileName: 'masterKeyFile' | 'adminTokenFile') => {
    const value = raw(name);
    const file = raw(fileName);
    const { env: valueEnv } = DEFINITIONS[name];
    const { env: fileEnv } = DEFINITIONS[fileName];
    if (value !== undefined && file !== undefined)
      throw new ConfigError(`Set either ${valueEnv} or ${fileEnv}, not both.`);
    if (file === undefined) return value === undefined ? undefined : { value, source: valueEnv };
    const content = readSettingFile(fileEnv, file).replace(/\r?\n$/, '');
    if (content === '') throw new ConfigError(`${fileEnv} names an empty file: ${file}.`);
    return { value: content, source: fileEnv };
  };

  const masterKeyGiven = secret('masterKey', 'masterKeyFile');
  let masterKey: Buffer | undefined;
  if (masterKeyGiven !== undefined) {
    masterKey = Buffer.from(masterKeyGiven.value, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(masterKeyGiven.value.trim()) || masterKey.length !== 32) {
      throw new ConfigError(
        `${masterKeyGiven.source} must ${masterKeyGiven.source.endsWith('_FILE') ? 'name a file holding' : 'be'} the base64 of exactly 32 random bytes (for example the output of \`openssl rand -base64 32\`).`,
      );
    }
  }

  const databaseUrl = raw('databaseUrl');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      'VAULTGATE_DATABASE_URL must be a postgres:// URL; leave it unset to use the embedded SQLite file.',
    );
  }

  const adminTokenGiven = secret('adminToken', 'adminTokenFile');
  const adminToken = adminTokenGiven?.value;
  if (adminTokenGiven !== undefined && adminTokenGiven.value.length < 16) {
    throw new ConfigError(
      `${adminTokenGiven.source} must ${adminTokenGiven.source.endsWith('_FILE') ? 'name a file holding a token of' : 'be'} at least 16 characters${adminTokenGiven.source.endsWith('_FILE') ? '' : ' long'}.`,
    );
  }
  if (adminToken !== undefined && /\s/.test(adminToken)) {
    throw new ConfigError(
      `${adminTokenGiven?.source ?? 'VAULTGATE_ADMIN_TOKEN'} must not contain spaces or line breaks (it is sent as "Authorization: Bearer <token>").`,
    );
  }

  const certFile = raw('adminTlsCertFile');
  const keyFile = raw('adminTlsKeyFile');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(
      `${certFile === undefined ? 'VAULTGATE_ADMIN_TLS_CERT_FILE' : 'VAULTGATE_ADMIN_TLS_KEY_FILE'} must be set too: HTTPS for the management API needs both VAULTGATE_ADMIN_TLS_CERT_FILE and VAULTGATE_ADMIN_TLS_KEY_FILE.`,
    );
  }
  const adminTls =
    certFile !== undefined && keyFile !== undefined
      ? { certFile: resolve(certFile), keyFile: resolve(keyFile) }
      : undefined;
  if (adminTls) loadAdminTls(adminTls);

  const domain = need('domain').toLowerCase();
  if (!isHostname(domain)) {
    throw new ConfigError(
      `VAULTGATE_DOMAIN must be a DNS name such as "localhost" or "proxy.example.com", not "${domain}".`,
    );
  }

  const logLevel = need('logLevel');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`VAULTGATE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${logLevel}".`);
  }

  const upstreamCaFile = raw('upstreamCaFile');
  let upstreamCaPem: string | undefined;
  if (upstreamCaFile !== undefined) {
    try {
      upstreamCaPem = readFileSync(upstreamCaFile, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `VAULTGATE_UPSTREAM_CA_FILE cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): ${upstreamCaFile}.`,
      );
    }
    if (!upstreamCaPem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ConfigError(
        `VAULTGATE_UPSTREAM_CA_FILE must hold PEM certificates: ${upstreamCaFile} has none.`,
      );
    }
  }

  return Object.freeze({
    dataDir: resolve(need('dataDir')),
    databaseUrl,
    masterKey,
    adminToken,
    host: need('host'),
    adminHost: raw('adminHost') ?? need('host'),
    inboundHost: raw('inboundHost') ?? need('host'),
    outboundHost: raw('outboundHost') ?? need('host'),
    adminTls,
    adminPort: port('adminPort', need('adminPort')),
    inboundPort: port('inboundPort', need('inboundPort')),
    outboundPort: port('outboundPort', need('outboundPort')),
    outboundTlsPort: port('outboundTlsPort', need('outboundTlsPort')),
    domain,
    upstreamCaFile,
    upstreamCaPem,
    logLevel: logLevel as LogLevel,
    upstreamConnectTimeoutMs: positiveMs('upstreamConnectTimeoutMs', need('upstreamConnectTimeoutMs')),
    upstreamResponseTimeoutMs: positiveMs('upstreamResponseTimeoutMs', need('upstreamResponseTimeoutMs')),
    requestBodyTimeoutMs: positiveMs('requestBodyTimeoutMs', need('requestBodyTimeoutMs')),
    authFailuresPerMinute: count('authFailuresPerMinute', need('authFailuresPerMinute'), 0),
    maxConnections: count('maxConnections', need('maxConnections'), 1),
    maxConnectionsPerClient: count('maxConnectionsPerClient', need('maxConnectionsPerClient'), 1),
    workers: workerCount(need('workers')),
    blockLinkLocal: bool('blockLinkLocal', need('blockLinkLocal')),
    blockedUpstreams: cidrList(raw('blockedUpstreams') ?? ''),
  });
}
