import { ApiClient } from './api-client.js';

/** What a command may touch: its streams and environment, and the API connection when it needs one. */
export interface CliContext {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: NodeJS.ProcessEnv;
  /**
   * The API connection from --url/--token-file/--ca-file, else VAULTGATE_URL/VAULTGATE_TOKEN/
   * VAULTGATE_CA_FILE (built on first use; a command that needs none never asks).
   */
  client(): ApiClient;
}

/** A command returns its exit code: 0 done, 1 the API refused, 2 bad usage (SPEC §2). */
export type Command = (args: string[], ctx: CliContext) => Promise<number>;

/** Whether `vaultgate <argv>` is a CLI command rather than a server start (a server start has only flags). */
export function isCliCommand(argv: readonly string[]): boolean {
  const first = argv[0];
  return first !== undefined && !first.startsWith('-');
}

/** Runs `vaultgate <command> …` and resolves to its exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [name = '', ...rest] = argv;
  if (name === 'rotate-master-key') {
    const { rotateMasterKeyCommand } = await import('./rotate-master-key.js');
    return rotateMasterKeyCommand(rest, process.env);
  }
  if (name === 'export' || name === 'apply') {
    const ctx = defaultContext();
    const command =
      name === 'export'
        ? (await import('./export.js')).exportCommand
        : (await import('./apply.js')).applyCommand;
    return command(rest, ctx);
  }
  process.stderr.write(`error: usage: unknown command "${name}"; run vaultgate --help for the list.\n`);
  return 2;
}

/** The process's own streams; the connection from VAULTGATE_URL/VAULTGATE_TOKEN/VAULTGATE_CA_FILE (flags: to come). */
function defaultContext(): CliContext {
  let client: ApiClient | undefined;
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    client() {
      client ??= new ApiClient({
        url: process.env.VAULTGATE_URL ?? 'http://127.0.0.1:8080',
        token: process.env.VAULTGATE_TOKEN ?? '',
        caFile: process.env.VAULTGATE_CA_FILE,
      });
      return client;
    },
  };
}
