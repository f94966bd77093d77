/**
 * What the CLI prints: aligned tables and field lists for people, the API's data as JSON for scripts.
 * Colour only on a terminal and never under NO_COLOR (https://no-color.org); every coloured mark
 * also has a word, so nothing depends on colour being seen.
 */

export type Row = Record<string, unknown>;

export interface Column {
  readonly title: string;
  readonly value: (row: Row) => Cell;
}

/** A cell: its text, and the colour it gets on a terminal. */
export interface Cell {
  readonly text: string;
  readonly tone?: 'warn' | 'bad';
}

const TONES = { warn: '\u001b[33m', bad: '\u001b[31m' } as const;
const RESET = '\u001b[0m';

export function colourEnabled(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv): boolean {
  const noColor = env.NO_COLOR;
  return (stream as { isTTY?: boolean }).isTTY === true && (noColor === undefined || noColor === '');
}

function paint(cell: Cell, width: number, colour: boolean, last: boolean): string {
  const padded = last ? cell.text : cell.text.padEnd(width);
  if (!colour || cell.tone === undefined) return padded;
  // Only the text is coloured, not the padding, so columns stay aligned.
  return `${TONES[cell.tone]}${cell.text}${RESET}${padded.slice(cell.text.length)}`;
}

/** An aligned table: a header line, then a line per row; columns two spaces apart. */
export function table(rows: readonly Row[], columns: readonly Column[], colour: boolean): string {
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const widths = columns.map((c, i) =>
    Math.max(c.title.length, ...cells.map((row) => row[i]?.text.length ?? 0)),
  );
  const line = (row: readonly Cell[]) =>
    row
      .map((cell, i) => paint(cell, widths[i] ?? 0, colour, i === row.length - 1))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => ({ text: c.title }))), ...cells.map(line)].join('\n') + '\n';
}

/** `field  value` lines for one resource, in the API's field order. */
export function fields(
  data: Row,
  colour: boolean,
  special: Record<string, (row: Row) => Cell> = {},
  skip: readonly string[] = [],
): string {
  const keys = Object.keys(data).filter((k) => !skip.includes(k));
  const width = Math.max(...keys.map((k) => k.length));
  return (
    keys
      .map((k) => {
        const cell = special[k]?.(data) ?? { text: show(data[k]) };
        return `${k.padEnd(width)}  ${paint(cell, 0, colour, true)}`;
      })
      .join('\n') + '\n'
  );
}

/** A value as one line of text. */
export function show(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value === '' ? '-' : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return value.length === 0 ? '-' : value.join(', ');
    return JSON.stringify(value);
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return '-';
    if (entries.every(([, v]) => typeof v === 'string'))
      return entries.map(([k, v]) => `${k}=${String(v)}`).join(', ');
    return JSON.stringify(value);
  }
  return String(value);
}

/** `2026-12-03T13:40:12.345Z` → `2026-12-03 13:40Z`: to the minute, still UTC. */
export function when(value: unknown): string {
  if (typeof value !== 'string' || value === '') return '-';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(value);
  return m === null ? value : `${m[1]} ${m[2]}Z`;
}

/**
 * A certificate's expiry date, marked by its status (the server's, which counts 30 days for
 * expiring_soon): `[expires soon]` in yellow, `[EXPIRED]` in red.
 */
export function expiry(row: Row): Cell {
  const date = typeof row.not_after === 'string' ? row.not_after.slice(0, 10) : '-';
  switch (row.status) {
    case 'expiring_soon':
      return { text: `${date} [expires soon]`, tone: 'warn' };
    case 'expired':
      return { text: `${date} [EXPIRED]`, tone: 'bad' };
    case 'not_yet_valid':
      return { text: `${date} [not yet valid]`, tone: 'warn' };
    default:
      return { text: date };
  }
}

/** The `not_after` field of a detail view: the full time, marked like the table's EXPIRES. */
export function expiryField(row: Row): Cell {
  const cell = expiry(row);
  const full = typeof row.not_after === 'string' ? row.not_after : '-';
  return { ...cell, text: full + cell.text.slice(10) };
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
