/**
 * A declarative file as read: its plain value plus the line of every part of it, so a refusal can
 * name the line a user has to edit. The `yaml` package keeps source ranges on its syntax tree;
 * nothing else here knows about YAML.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';

/** One reason a file is refused: where, which route (or other item) and what to do about it. */
export interface FileProblem {
  line: number;
  /** "route 2 (id …, name "…")", when the problem is inside one item. */
  item?: string;
  message: string;
}

export type Path = readonly (string | number)[];

export interface SourceFile {
  /** The document as plain data (maps as objects, sequences as arrays). */
  readonly value: unknown;
  /** The line (1-based) of `path`: its key when the path ends at a key of a map, else the node. */
  lineOf(path: Path): number;
}

export class FileRefusedError extends Error {
  constructor(readonly problems: readonly FileProblem[]) {
    super(problems.map(describeProblem).join('\n'));
    this.name = 'FileRefusedError';
  }
}

export function describeProblem(p: FileProblem): string {
  return `line ${p.line}: ${p.item ? `${p.item}: ` : ''}${p.message}`;
}

/** Parses YAML (JSON is YAML too); a syntax error or a repeated key refuses the file. */
export function readSource(text: string): SourceFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new FileRefusedError(
      doc.errors.map((e) => ({
        line: e.linePos?.[0].line ?? 1,
        message: `the file is not valid YAML: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  const lineAt = (offset: number | undefined): number =>
    offset === undefined ? 1 : lines.linePos(offset).line;
  return {
    value: doc.toJS({ maxAliasCount: 100 }) as unknown,
    lineOf(path) {
      let node: unknown = doc.contents;
      let line = lineAt((node as Node | null)?.range?.[0]);
      for (const segment of path) {
        if (isMap(node)) {
          const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === segment);
          if (!pair) return line;
          line = lineAt((pair.key as Node).range?.[0]);
          node = pair.value;
        } else if (isSeq(node) && typeof segment === 'number') {
          const item = node.items[segment];
          if (item === undefined) return line;
          node = item;
          line = lineAt((item as Node).range?.[0]);
        } else {
          return line;
        }
      }
      return line;
    },
  };
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
