import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';

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
    help: 'base64 of 32 random bytes; encrypts private keys at rest',
  },
  adminToken: {
    env: 'VAULTGATE_ADMIN_TOKEN',
    flag: '--admin-token',
    default: undefined,
    help: 'bearer token of the management API and dashboard',
  },
  host: {
    env: 'VAULTGATE_HOST',
    flag: '--host',
    default: '127.0.0.1',
    help: 'address every listener binds to',
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

export function usage(): string {
  const lines = Object.values(DEFINITIONS).map(
    (d) =>
      `  ${d.flag.padEnd(32)} ${d.env.padEnd(40)} ${d.help}${d.default ? ` (default ${d.default})` : ''}`,
  );
  return `usage: vaultgate [flags]\n\n${lines.join('\n')}\n`;
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

export function loadSettings(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = []): Settings {
  const flags = parseFlags(argv);
  const raw = (name: Name): string | undefined => {
    const value = flags.get(name) ?? env[DEFINITIONS[name].env];
    return value === undefined || value === '' ? DEFINITIONS[name].default : value;
  };
  const need = (name: Name): string => raw(name) as string;

  const masterKeyRaw = raw('masterKey');
  let masterKey: Buffer | undefined;
  if (masterKeyRaw !== undefined) {
    masterKey = Buffer.from(masterKeyRaw, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(masterKeyRaw.trim()) || masterKey.length !== 32) {
      throw new ConfigError(
        'VAULTGATE_MASTER_KEY must be the base64 of exactly 32 random bytes (for example the output of `openssl rand -base64 32`).',
      );
    }
  }

  const databaseUrl = raw('databaseUrl');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      'VAULTGATE_DATABASE_URL must be a postgres:// URL; leave it unset to use the embedded SQLite file.',
    );
  }

  const adminToken = raw('adminToken');
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError('VAULTGATE_ADMIN_TOKEN must be at least 16 characters long.');
  }

  const domain = need('domain').toLowerCase();
  if (
    !/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(domain)
  ) {
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
