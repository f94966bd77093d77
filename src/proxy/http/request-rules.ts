import type http from 'node:http';
import type { ErrorCode } from '../../errors.js';
import { sendError } from './errors.js';

/**
 * The request rules of SPEC §3 that hold for every proxied request — inbound, absolute-form and
 * in-tunnel (SPEC §4) — and depend on the request alone, not on any configuration: they are checked
 * before anything is looked up or forwarded.
 */
export interface RuleViolation {
  readonly code: ErrorCode;
  /** For the caller: what was wrong with its request. Holds nothing of vaultgate's configuration. */
  readonly message: string;
  /** The connection cannot safely carry another request (the body's framing is in doubt). */
  readonly close: boolean;
}

/** An absolute-form request target (RFC 9112 §3.2.2): `scheme://authority` before its path. */
const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\\]*/i;
/** Nothing in a path without one of these can spell a dot segment; most paths take this exit. */
const MAY_HOLD_DOT_SEGMENT = /[.%\\]/;

/**
 * Whether the path of a request target holds a `.` or `..` segment, in any spelling an upstream may
 * normalise (RFC 3986 §5.2.4 remove_dot_segments) and so escape the prefix a route puts in front:
 *
 * - `%2e` / `%2E` for a dot: nginx, Spring, Go's and most routers decode before they normalise.
 * - `\` and `%5c` as separators: WHATWG URL parsers (browsers, Node's `new URL(req.url, base)` — a
 *   common pattern in Node apps), IIS and ASP.NET treat a backslash as `/`.
 * - `%2f` as a separator: nginx decodes it before merging and normalising the path, and so do
 *   frameworks that route on the decoded path.
 * - `..;x` and `.;x`: Tomcat and Jetty drop a path parameter before they resolve the segment (the
 *   `/..;/admin` bypass).
 *
 * Only the path counts: the query (after `?`) is the upstream application's data; `#` is not part
 * of a request target, but a parser that meets one stops the path there, so the check does too.
 * Double encoding (`%252e`) is left alone: one decoding gives the literal `%2e`, which no normaliser
 * decodes a second time.
 */
export function hasDotSegment(target: string): boolean {
  const absolute = ABSOLUTE_FORM.exec(target);
  let path = absolute === null ? target : target.slice(absolute[0].length);
  const end = path.search(/[?#]/);
  if (end >= 0) path = path.slice(0, end);
  if (!MAY_HOLD_DOT_SEGMENT.test(path)) return false;
  const plain = path.replace(/%2e/gi, '.').replace(/%2f|%5c|\\/gi, '/');
  for (const segment of plain.split('/')) {
    const name = segment.split(';', 1)[0];
    if (name === '.' || name === '..') return true;
  }
  return false;
}

/**
 * The transfer codings a request declares, in order, lower-cased (all Transfer-Encoding fields,
 * RFC 9112 §6.1 — repeated fields combine into one list).
 */
function transferCodings(raw: readonly string[]): string[] | null {
  let codings: string[] | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== 'transfer-encoding') continue;
    for (const coding of (raw[i + 1] as string).split(','))
      (codings ??= []).push(coding.trim().toLowerCase());
  }
  return codings;
}

/**
 * The first rule a request breaks, or null. Node's parser already refuses a Transfer-Encoding whose
 * last coding is not `chunked` (the body length is then unknowable, RFC 9112 §6.3) and one beside a
 * Content-Length; what reaches here with a coding before `chunked` (`gzip, chunked`) would have been
 * decoded as chunked and passed on with the other coding silently dropped, so the upstream would
 * read compressed bytes as the body. RFC 9112 §6.1: a coding the server does not understand → 501.
 */
export function requestRuleViolation(req: http.IncomingMessage): RuleViolation | null {
  const target = req.url ?? '/';
  if (hasDotSegment(target)) {
    return {
      code: 'invalid_target',
      message:
        'The request path holds a "." or ".." segment (possibly percent-encoded, or with "\\" or "%2F" as separator); vaultgate does not forward such paths, since the upstream could resolve them to another path. Send the path without them.',
      close: false,
    };
  }
  if (req.headers['transfer-encoding'] !== undefined) {
    const codings = transferCodings(req.rawHeaders);
    if (codings !== null && (codings.length !== 1 || codings[0] !== 'chunked')) {
      return {
        code: 'not_implemented',
        message: `Transfer-Encoding ${JSON.stringify(codings.join(', ').slice(0, 100))} is not supported: vaultgate accepts only "chunked" as a transfer coding. Send the body with Content-Length or chunked alone (use Content-Encoding for compression).`,
        close: true,
      };
    }
  }
  return null;
}

/** Answers a request that broke a rule; the connection is closed after it when the framing is in doubt. */
export function refuseRequest(res: http.ServerResponse, violation: RuleViolation): void {
  if (violation.close) res.shouldKeepAlive = false;
  sendError(res, violation.code, violation.message);
}
