/**
 * Messages for a database that cannot be reached. They name VAULTGATE_DATABASE_URL and the reason,
 * and never the password the URL may carry: they end up in logs and on terminals.
 */

/** `host:port/database` of a connection URL, without credentials. */
export function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    const host = parsed.host || parsed.searchParams.get('host') || 'localhost';
    return `${host}${parsed.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'no answer within 5 s',
  '28P01': 'password authentication failed',
  '28000': 'the server rejected the login',
  '3D000': 'the database does not exist',
  '57P03': 'the server is starting up or shutting down',
};

function reasonOf(error: unknown, password: string): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && REASONS[code] !== undefined) return REASONS[code];
  // Connection refused on every address of a host comes as an AggregateError without a code of its own.
  if (error instanceof AggregateError && error.errors.length > 0) return reasonOf(error.errors[0], password);
  let message = error instanceof Error ? error.message : String(error);
  if (/timeout/i.test(message)) return 'no answer within 5 s';
  if (/terminated unexpectedly/i.test(message)) return 'the server closed the connection';
  if (password) message = message.split(password).join('***');
  message = message.replace(/[.\s]+$/, '');
  return message.charAt(0).toLowerCase() + message.slice(1) || 'unknown error';
}

export function describeConnectFailure(url: string, error: unknown): string {
  let password = '';
  const invalid = invalidUrlMessage(url);
  if (invalid !== undefined) return invalid;
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // A malformed percent-escape: the raw form is what the driver would have seen.
    password = new URL(url).password;
  }
  return `Cannot connect to the PostgreSQL database in VAULTGATE_DATABASE_URL (${describeTarget(url)}): ${reasonOf(error, password)}.`;
}

/** The message for a URL we will not hand to the driver, or undefined when it looks usable. */
export function invalidUrlMessage(url: string): string | undefined {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return 'VAULTGATE_DATABASE_URL is not a valid URL; expected postgres://user:password@host:port/database.';
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    return `VAULTGATE_DATABASE_URL must start with postgres:// or postgresql:// (got ${protocol}//).`;
  }
  return undefined;
}
