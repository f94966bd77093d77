import { pino, stdTimeFunctions, type DestinationStream, type Logger as Pino } from 'pino';
import type { LogLevel } from '../config/settings.js';

/**
 * JSON lines on stdout, one per event: `level` (a label), `time` (ISO 8601), `msg` and the event's
 * fields. Built on pino: the fields listed in SECRET_FIELDS are replaced by "[redacted]" wherever a
 * call puts them (docs/security.md "Logs"), and the process's stdout is written off the event loop
 * (docs/performance.md "Logging").
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/**
 * Names that carry a secret in vaultgate's own objects (settings, credentials, certificate uploads)
 * or in HTTP headers. A field is never logged because it is missing here: this list is the net
 * under a mistake. Each name is redacted at the top of a log call's fields and inside the objects
 * named in CONTAINERS; header names also inside HEADER_CONTAINERS.
 */
export const SECRET_FIELDS = [
  'password',
  'passwordHash',
  'password_hash',
  'passphrase',
  'private_key',
  'privateKey',
  'privateKeyPem',
  'keyPem',
  'key_pem',
  'pkcs12',
  'p12',
  'secret',
  'serverSecret',
  'server_secret',
  'masterKey',
  'master_key',
  'token',
  'tokenHash',
  'token_hash',
  'adminToken',
  'admin_token',
  'csrf_token',
  'databaseUrl',
  'database_url',
  'authorization',
  'Authorization',
  'proxy-authorization',
  'Proxy-Authorization',
  'cookie',
  'Cookie',
  'set-cookie',
] as const;
export const CONTAINERS = ['settings', 'credential', 'certificate', 'body', 'options'] as const;
export const HEADER_CONTAINERS = ['headers', 'req.headers', 'res.headers', 'request.headers'] as const;

/**
 * Explicit paths only. pino compiles a redactor per top-level key, which costs nothing on a line
 * without that key; a path that starts with `*` runs on every key of every line instead (measured:
 * 31 `*.name` paths cost 35–200 times a whole request line, docs/performance.md "Logging").
 */
const path = (prefix: string, name: string): string =>
  /^[A-Za-z_]\w*$/.test(name) ? (prefix ? `${prefix}.${name}` : name) : `${prefix}["${name}"]`;
const HEADER_NAMES = SECRET_FIELDS.filter((n) => /authorization|cookie/i.test(n));
const REDACT_PATHS = [
  ...['', ...CONTAINERS].flatMap((c) => SECRET_FIELDS.map((n) => path(c, n))),
  ...HEADER_CONTAINERS.flatMap((c) => HEADER_NAMES.map((n) => path(c, n))),
];

/** Key material pasted into a top-level string field or an error message (a parser's complaint) is dropped too. */
const PEM_KEY = 'PRIVATE KEY-----';
const scrub = (s: string): string => (s.includes(PEM_KEY) ? '[redacted]' : s);

const OPTIONS = {
  base: null, // no pid/hostname: log shippers add where a line came from; workers carry `worker`
  timestamp: stdTimeFunctions.isoTime,
  redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  formatters: {
    level: (label: string) => ({ level: label }),
    log(fields: LogFields): LogFields {
      let out = fields;
      for (const k in fields) {
        const v = fields[k];
        if (typeof v === 'string' && v.includes(PEM_KEY)) {
          if (out === fields) out = { ...fields }; // never change the caller's object
          out[k] = '[redacted]';
        }
      }
      return out;
    },
  },
  // An error is logged as what an operator reads — no stack (call sites that want frames add
  // `stack`), and none of the properties a library may hang on it (a request, its headers).
  serializers: {
    err: (e: unknown): unknown =>
      e instanceof Error
        ? { name: e.name, message: scrub(e.message), code: (e as NodeJS.ErrnoException).code }
        : e,
  },
};

/**
 * A pipe takes a write of at most PIPE_BUF bytes (4,096 on Linux) whole, never mixed with another
 * writer's (POSIX write(2)). The control plane and its workers write to the same inherited stdout,
 * so each write holds whole lines and stays within PIPE_BUF: their lines never interleave mid-line.
 */
const PIPE_BUF = 4096;
/** A stdout that nobody reads (a stalled shipper) costs at most this much memory; later lines are dropped and counted. */
const MAX_BUFFERED = 32 * 1024 * 1024;

let stdout: ReturnType<typeof pino.destination> | undefined;
let dropped = 0;

/** The process's one stdout stream: every logger of the process shares it, so its lines stay in order. */
function stdoutStream(): DestinationStream {
  if (stdout) return stdout;
  // sync: false — a line is appended to a buffer on the event loop; a libuv pool thread writes the
  // buffer to fd 1, so a slow pipe or disk never stalls requests. minLength 1 starts a write at
  // once like 0 does, and makes flush() wait for the bytes in flight (with 0 it returns at once).
  // pino registers its own flushSync for process exit: flushLogs() is the orderly path.
  const dest = pino.destination({
    fd: 1,
    sync: false,
    minLength: 1,
    maxWrite: PIPE_BUF,
    maxLength: MAX_BUFFERED,
  });
  dest.on('drop', () => dropped++);
  dest.on('drain', () => {
    if (dropped === 0) return;
    const count = dropped;
    dropped = 0;
    dest.write(
      `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), msg: 'log lines were dropped: stdout was not read while 32 MiB of lines waited', dropped: count })}\n`,
    );
  });
  stdout = dest;
  return dest;
}

/**
 * Resolves once every line logged so far to stdout is written (or after `timeoutMs`, if stdout is
 * not being read): the shutdown paths await it before process.exit, which would drop a buffer.
 */
export function flushLogs(timeoutMs = 2_000): Promise<void> {
  const dest = stdout;
  if (!dest) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    // The callback's error is fsync's, which a pipe or /dev/null refuses (EINVAL): the bytes are out.
    dest.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function wrap(p: Pino): Logger {
  const at =
    (level: LogLevel) =>
    (msg: string, fields?: LogFields): void => {
      if (fields === undefined) p[level](msg);
      else p[level](fields, msg);
    };
  const off = (): void => {};
  const method = (level: LogLevel): ((msg: string, fields?: LogFields) => void) =>
    p.isLevelEnabled(level) ? at(level) : off;
  return {
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    child: (fields) => wrap(p.child(fields)),
  };
}

/**
 * A logger at `level` with `base` fields on every line. Lines go to the process's stdout, or to
 * `write` (one complete line, newline included, per call, synchronously): the tests collect them,
 * and a worker started by the tests relays them to the control plane.
 */
export function createLogger(level: LogLevel, base: LogFields = {}, write?: (line: string) => void): Logger {
  const p = pino({ ...OPTIONS, level }, write ? { write } : stdoutStream());
  return wrap(Object.keys(base).length > 0 ? p.child(base) : p);
}

/** A logger that drops everything: for tests and library defaults. */
export const silentLogger: Logger = wrap(pino({ level: 'silent' }, { write: () => undefined }));
