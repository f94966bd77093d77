/**
 * Files named by flags: certificates, keys, passphrases, the token. Secrets reach the CLI only this
 * way (a file, or stdin as "-"), never as a flag's value, which `ps` and shell history would keep.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './args.js';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
};

export class FileReader {
  #stdinTakenBy: string | undefined;

  constructor(private readonly stdin: NodeJS.ReadableStream) {}

  /** The bytes of the file `path` names for `--flag`; "-" reads stdin (for one flag only). */
  async read(flag: string, path: string): Promise<Buffer> {
    if (path === '-') {
      if (this.#stdinTakenBy !== undefined)
        throw new UsageError(
          `--${flag} and --${this.#stdinTakenBy} both read stdin`,
          'only one flag can read stdin ("-"); give the other a file',
        );
      this.#stdinTakenBy = flag;
      const chunks: Buffer[] = [];
      for await (const chunk of this.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      return Buffer.concat(chunks);
    }
    try {
      return readFileSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new UsageError(
        `cannot read --${flag} "${path}": ${REASONS[code] ?? 'unreadable'} (${code})`,
        `check the path given to --${flag}`,
      );
    }
  }

  async text(flag: string, path: string): Promise<string> {
    return (await this.read(flag, path)).toString('utf8');
  }

  /** A secret held in a file: one trailing newline (what `echo` and editors add) is not part of it. */
  async secret(flag: string, path: string): Promise<string> {
    const text = (await this.text(flag, path)).replace(/\r?\n$/, '');
    if (text === '')
      throw new UsageError(`--${flag} "${path}" is empty`, `put the value in the file --${flag} names`);
    return text;
  }
}
