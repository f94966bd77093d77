import v8 from 'node:v8';

/**
 * Route `host_endpoint` regexes run against hosts the client chooses (CONNECT targets), so their
 * cost must not depend on how the regex backtracks. V8 ships a non-backtracking engine (an NFA
 * simulation, time linear in the input) for regexes created with the `l` flag once
 * `--enable-experimental-regexp-engine` is on. The flag is read when a regex is created, so setting
 * it here, at module load and before any `l` regex exists, is enough — in `node dist/src/main.js`,
 * in bin/vaultgate.js and in vitest's workers alike (checked by host-match.test.ts).
 *
 * V8 12 (Node 20) limits what that engine runs, and this module bridges the gaps:
 * - no `i` flag: hosts are matched lower-cased, and the source's letters are folded here (a letter
 *   becomes lower case; a class gains the lower-case twin of each upper-case range);
 * - counted repetition only up to a replication factor of 16, but `[a-z0-9-]{1,63}` is what people
 *   write for a DNS label: `x{n,m}` is written out as n copies of x and m−n nested optional ones
 *   (the engine's cost is the product of input length and pattern size, both bounded);
 * - no backreferences or lookarounds: refused with a sentence saying so (they cannot be run in
 *   linear time by any engine).
 * Every group becomes non-capturing: matching only tests, and copies of a named group would clash.
 */
let available = false;
try {
  v8.setFlagsFromString('--enable-experimental-regexp-engine');
  // eslint-disable-next-line no-invalid-regexp -- `l` exists only once the V8 flag is on
  new RegExp('', 'l');
  available = true;
} catch {
  available = false;
}
/** Whether this Node's V8 runs `l` regexes (otherwise host-match.ts keeps its time budget). */
export const LINEAR_ENGINE = available;

/** Pattern atoms after expansion; beyond it one match of a 253-character host costs > ~5 ms. */
export const MAX_PATTERN_SIZE = 4096;

export class PatternError extends Error {}

interface Piece {
  text: string;
  /** Atoms the piece expands to: the engine's work per input character grows with it. */
  size: number;
  quantifiable: boolean;
}

interface Frame {
  alternatives: Piece[][];
}

const CLASS_ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S']);
const CONTROL_ESCAPES = new Set(['f', 'n', 'r', 't', 'v', '0']);

/** The linear-engine source equivalent to `source` matched case-insensitively against lower-case hosts. */
export function toLinearSource(source: string): string {
  const stack: Frame[] = [{ alternatives: [[]] }];
  const current = (): Piece[] => {
    const frame = stack[stack.length - 1] as Frame;
    return frame.alternatives[frame.alternatives.length - 1] as Piece[];
  };
  const push = (text: string, size: number, quantifiable = true): void => {
    current().push({ text, size, quantifiable });
  };
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (c === '\\') {
      const [text, next] = readEscape(source, i);
      push(text, text === '\\b' || text === '\\B' ? 0 : 1, text !== '\\b' && text !== '\\B');
      i = next;
    } else if (c === '[') {
      const [text, next] = readClass(source, i);
      push(text, 1);
      i = next;
    } else if (c === '(') {
      i = openGroup(source, i);
      stack.push({ alternatives: [[]] });
    } else if (c === ')') {
      if (stack.length === 1) throw new PatternError('it has an unmatched ")"');
      const frame = stack.pop() as Frame;
      const [text, size] = join(frame);
      push(`(?:${text})`, size);
      i++;
    } else if (c === '|') {
      (stack[stack.length - 1] as Frame).alternatives.push([]);
      i++;
    } else if (c === '*' || c === '+' || c === '?') {
      const piece = lastQuantifiable(current());
      piece.text += c;
      piece.quantifiable = false;
      i++;
      if (source[i] === '?') i++; // lazy or greedy: the same set of matches, and we only test
    } else if (c === '{' && /^\{\d+(,\d*)?\}/.test(source.slice(i, i + 24))) {
      const close = source.indexOf('}', i);
      const [min, max] = bounds(source.slice(i + 1, close));
      const pieces = current();
      pieces[pieces.length - 1] = repeat(lastQuantifiable(pieces), min, max);
      i = close + 1;
      if (source[i] === '?') i++;
    } else if (c === '^' || c === '$') {
      push(c, 0, false);
      i++;
    } else {
      push(foldLiteral(c), 1);
      i++;
    }
  }
  if (stack.length !== 1) throw new PatternError('it has an unclosed "("');
  const [text, size] = join(stack[0] as Frame);
  if (size > MAX_PATTERN_SIZE) {
    throw new PatternError(
      `its counted repetitions expand to ${size} atoms, above the ${MAX_PATTERN_SIZE} accepted; use * or + instead of large {n,m} counts`,
    );
  }
  return text;
}

/** Compiles a host_endpoint for the linear engine, anchored; throws PatternError with the reason. */
export function compileLinear(source: string): RegExp {
  const linear = toLinearSource(source);
  try {
    // eslint-disable-next-line no-invalid-regexp -- `l` exists only once the V8 flag is on
    return new RegExp(`^(?:${linear})$`, 'l');
  } catch (err) {
    const message = (err as Error).message;
    if (/linear time/.test(message)) {
      throw new PatternError('it nests repetition too deeply to be matched in linear time; simplify it');
    }
    throw new PatternError(message.replace(/^Invalid regular expression: \/.*\/l: /, ''));
  }
}

function join(frame: Frame): [string, number] {
  let size = 0;
  const texts = frame.alternatives.map((pieces) => {
    const own = pieces.reduce((n, p) => n + p.size, 0);
    size = Math.max(size, own);
    return pieces.map((p) => p.text).join('');
  });
  return [texts.join('|'), size];
}

function lastQuantifiable(pieces: Piece[]): Piece {
  const last = pieces[pieces.length - 1];
  if (last === undefined || !last.quantifiable)
    throw new PatternError('it has a quantifier with nothing to repeat');
  return last;
}

function bounds(inner: string): [number, number] {
  const [low, high] = inner.split(',');
  const min = Number(low);
  const max = high === undefined ? min : high === '' ? Infinity : Number(high);
  if (max < min) throw new PatternError('it has a {n,m} quantifier with n greater than m');
  if (min > MAX_PATTERN_SIZE || (max !== Infinity && max > MAX_PATTERN_SIZE)) {
    throw new PatternError(`it repeats something more than ${MAX_PATTERN_SIZE} times`);
  }
  return [min, max];
}

/** x{min,max} written out: min copies of x, then x* or (max − min) nested optional copies. */
function repeat(piece: Piece, min: number, max: number): Piece {
  const atom = piece.text;
  let text = atom.repeat(min);
  let size = piece.size * min;
  if (max === Infinity) {
    text += `${atom}*`;
    size += piece.size;
  } else if (max > min) {
    const optional = max - min;
    text += `(?:${atom}`.repeat(optional) + ')?'.repeat(optional);
    size += piece.size * optional;
  }
  if (size > MAX_PATTERN_SIZE * 4) {
    throw new PatternError(
      `its counted repetitions expand to more than ${MAX_PATTERN_SIZE} atoms; use * or + instead of large {n,m} counts`,
    );
  }
  return { text: `(?:${text})`, size, quantifiable: false };
}

function foldLiteral(c: string): string {
  return c >= 'A' && c <= 'Z' ? c.toLowerCase() : c;
}

function openGroup(source: string, i: number): number {
  if (source[i + 1] !== '?') return i + 1;
  const kind = source.slice(i + 2, i + 4);
  if (kind[0] === ':') return i + 3;
  if (kind[0] === '=' || kind[0] === '!' || kind === '<=' || kind === '<!') {
    throw new PatternError(
      'it uses a lookahead or lookbehind ((?=…), (?!…), (?<=…), (?<!…)), which cannot be matched in linear time',
    );
  }
  if (kind[0] === '<') {
    const close = source.indexOf('>', i);
    if (close < 0) throw new PatternError('it has an unterminated group name');
    return close + 1;
  }
  throw new PatternError('it has an invalid group');
}

function readEscape(source: string, i: number): [string, number] {
  const c = source[i + 1];
  if (c === undefined) throw new PatternError('it ends with a lone "\\"');
  if (c >= '1' && c <= '9') {
    throw new PatternError('it uses a backreference (\\1…\\9), which cannot be matched in linear time');
  }
  if (c === 'k')
    throw new PatternError('it uses a named backreference (\\k<…>), which cannot be matched in linear time');
  if (c === 'x') return [source.slice(i, i + 4), i + 4];
  if (c === 'u') return [source.slice(i, i + 6), i + 6];
  if (c === 'c') return [source.slice(i, i + 3), i + 3];
  if (c === 'b' || c === 'B' || CLASS_ESCAPES.has(c) || CONTROL_ESCAPES.has(c)) return [`\\${c}`, i + 2];
  // An identity escape (`\.`, `\-`, or a letter without meaning, which stands for itself).
  return [`\\${foldLiteral(c)}`, i + 2];
}

/**
 * A character class with each upper-case ASCII range given its lower-case twin: with lower-case
 * input, `[^A-Z]` then refuses `q` as the `i` flag would, and `[A-F]` accepts `c`.
 */
function readClass(source: string, start: number): [string, number] {
  let i = start + 1;
  if (source[i] === '^') i++;
  const contentStart = i;
  // Each member: its code point (null for \d, \w, …) and whether it is an unescaped "-".
  const members: { code: number | null; dash: boolean }[] = [];
  while (i < source.length && source[i] !== ']') {
    if (source[i] === '\\') {
      const [text, next] = readEscape(source, i);
      members.push({ code: escapeCode(text), dash: false });
      i = next;
    } else {
      members.push({ code: source.charCodeAt(i), dash: source[i] === '-' });
      i++;
    }
  }
  if (i >= source.length) throw new PatternError('it has an unterminated character class "["');
  const ranges: [number, number][] = [];
  for (let j = 0; j < members.length; j++) {
    const low = (members[j] as { code: number | null }).code;
    const dash = members[j + 1];
    const high = members[j + 2]?.code;
    if (dash?.dash === true && high !== undefined && low !== null && high !== null) {
      if (low > high) throw new PatternError('it has a character class range out of order');
      ranges.push([low, high]);
      j += 2;
    } else if (low !== null) {
      ranges.push([low, low]);
    }
  }
  let extra = '';
  for (const [low, high] of ranges) {
    const from = Math.max(low, 0x41);
    const to = Math.min(high, 0x5a);
    if (from <= to) extra += `\\x${(from + 32).toString(16)}-\\x${(to + 32).toString(16)}`;
  }
  // The twins go first, as escaped ranges, so that no "-" of the original can join them into a range.
  return [`${source.slice(start, contentStart)}${extra}${source.slice(contentStart, i)}]`, i + 1];
}

function escapeCode(text: string): number | null {
  const c = text[1] as string;
  if (CLASS_ESCAPES.has(c)) return null;
  if (c === 'x' || c === 'u') {
    const value = Number.parseInt(text.slice(2), 16);
    return Number.isNaN(value) ? c.charCodeAt(0) : value;
  }
  if (c === 'c') return (text.charCodeAt(2) || 0) % 32;
  const controls: Record<string, number> = { f: 12, n: 10, r: 13, t: 9, v: 11, '0': 0, b: 8 };
  return controls[c] ?? text.charCodeAt(1);
}
