import { readFileSync } from 'node:fs';
import { ApiClient, ApiError, ConnectionError } from './api-client.js';
import { UsageError, parseFlags, stringFlag, takeConnectionFlags, type FlagValues } from './args.js';
import { OTHER_COMMANDS, OUTPUT_FLAGS, RESOURCES, findResource, findVerb } from './commands.js';
import { FileReader } from './files.js';
import { resourceHelp, verbHelp } from './help.js';
import { runVerb } from './verbs.js';

/** What a command may touch: its streams and environment, and the API connection when it needs one. */
export interface CliContext {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: NodeJS.ProcessEnv;
  /**
   * The API connection from --url/--token-file/--ca-file, else VAULTGATE_URL/VAULTGATE_TOKEN/
   * VAULTGATE_CA_FILE (built on first use; a command that needs none never asks). Throws UsageError
   * when there is no token or a file cannot be read.
   */
  client(): ApiClient;
}

/** A command returns its exit code: 0 done, 1 the API refused, 2 bad usage (SPEC §2). */
export type Command = (args: string[], ctx: CliContext) => Promise<number>;

export interface Streams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
}

/** The management API of a vaultgate started with the defaults (SPEC §1: admin port 9000). */
export const DEFAULT_URL = 'http://127.0.0.1:9000';

/** Whether `vaultgate <argv>` is a CLI command rather than a server start (a server start has only flags). */
export function isCliCommand(argv: readonly string[]): boolean {
  const first = argv[0];
  return first !== undefined && !first.startsWith('-');
}

const wantsHelp = (args: readonly string[]) => args.some((a) => a === '--help' || a === '-h');

/**
 * Runs `vaultgate <command> …` and resolves to its exit code. Every error a command throws ends here:
 * usage → 2, an API refusal or no connection → 1, each as one `error: <code>: <message>` line.
 */
export async function runCli(argv: string[], streams: Streams = process): Promise<number> {
  const [name = '', ...args] = argv;
  const files = new FileReader(streams.stdin);
  let client: ApiClient | undefined;
  try {
    if (name === 'rotate-master-key') {
      // Its own parsing and --help: it works on the data, not through the API (no connection flags).
      const { rotateMasterKeyCommand } = await import('./rotate-master-key.js');
      return await rotateMasterKeyCommand(args, streams.env);
    }
    const { rest, connection } = takeConnectionFlags(args);
    // The token file is read before the command runs, so a command reading stdin ("-") cannot race it.
    const tokenFile = stringFlag(connection, 'token-file');
    const token = tokenFile === undefined ? undefined : await files.secret('token-file', tokenFile);
    const ctx: CliContext = {
      stdout: streams.stdout,
      stderr: streams.stderr,
      stdin: streams.stdin,
      env: streams.env,
      client() {
        client ??= connect(connection, token, streams.env);
        return client;
      },
    };

    if (name === 'export' || name === 'apply') {
      const { help, command } =
        name === 'export'
          ? await import('./export.js').then((m) => ({ help: m.EXPORT_HELP, command: m.exportCommand }))
          : await import('./apply.js').then((m) => ({ help: m.APPLY_HELP, command: m.applyCommand }));
      if (wantsHelp(rest)) {
        streams.stdout.write(help);
        return 0;
      }
      return await command(rest, ctx);
    }
    const resource = findResource(name);
    if (resource === undefined) throw unknownCommand(name);
    const [verbName, ...verbArgs] = rest;
    if (verbName === undefined || verbName === '--help' || verbName === '-h') {
      if (verbName === undefined) {
        streams.stderr.write(resourceHelp(resource));
        throw new UsageError(
          `vaultgate ${name} needs a verb`,
          `one of ${resource.verbs.map((v) => v.name).join(', ')}`,
        );
      }
      streams.stdout.write(resourceHelp(resource));
      return 0;
    }
    const verb = findVerb(resource, verbName);
    if (verb === undefined)
      throw new UsageError(
        `vaultgate ${name} has no verb "${verbName}"`,
        `its verbs: ${resource.verbs.map((v) => [v.name, ...(v.aliases ?? [])].join('|')).join(', ')}; run vaultgate ${name} --help`,
      );
    const hint = `run vaultgate ${name} ${verb.name} --help`;
    const parsed = parseFlags(verbArgs, [...verb.flags, ...OUTPUT_FLAGS], hint);
    if (parsed.values.help === true) {
      streams.stdout.write(verbHelp(resource, verb));
      return 0;
    }
    return await runVerb({ resource, verb, parsed, ctx, files, hint });
  } catch (err) {
    return report(err, streams.stderr);
  } finally {
    await client?.close();
  }
}

function unknownCommand(name: string): UsageError {
  const names = [...RESOURCES.map((r) => r.name), ...OTHER_COMMANDS.map((c) => c.name)];
  const near = names.find((n) => n.startsWith(name.slice(0, 3)) && name.length >= 3);
  return new UsageError(
    `unknown command "${name}"`,
    `${near === undefined ? '' : `did you mean ${near}? `}run vaultgate --help for the list`,
  );
}

function report(err: unknown, stderr: NodeJS.WritableStream): number {
  if (err instanceof UsageError) {
    stderr.write(`error: usage: ${err.message}\n${err.hint === undefined ? '' : `hint: ${err.hint}\n`}`);
    return 2;
  }
  if (err instanceof ApiError) {
    stderr.write(`error: ${err.code}: ${err.message}\n`);
    return 1;
  }
  if (err instanceof ConnectionError) {
    stderr.write(`error: ${err.code}: ${err.message}\n`);
    return 1;
  }
  // A bug of the CLI itself: still one line, still no stack on a user's terminal.
  stderr.write(`error: internal: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}

/** The connection: flags first, then the environment. The token only ever from a file or VAULTGATE_TOKEN. */
function connect(
  connection: FlagValues,
  tokenFromFile: string | undefined,
  env: NodeJS.ProcessEnv,
): ApiClient {
  const url = stringFlag(connection, 'url') ?? env.VAULTGATE_URL ?? DEFAULT_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`"${url}" is not a URL`, 'give --url or VAULTGATE_URL as http(s)://host:port');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UsageError(
      `"${url}" is not an http:// or https:// URL`,
      'give --url or VAULTGATE_URL as http(s)://host:port',
    );
  const token = tokenFromFile ?? env.VAULTGATE_TOKEN?.trim();
  if (token === undefined || token === '')
    throw new UsageError(
      'no API token',
      'set VAULTGATE_TOKEN, or pass --token-file FILE (the admin token is in <data dir>/admin-token)',
    );
  const caFlag = stringFlag(connection, 'ca-file');
  const caFile = caFlag ?? (env.VAULTGATE_CA_FILE === '' ? undefined : env.VAULTGATE_CA_FILE);
  let ca: string | undefined;
  if (caFile !== undefined) {
    ca = readCa(caFile, caFlag !== undefined ? '--ca-file' : 'VAULTGATE_CA_FILE');
  }
  return new ApiClient({ url, token, ca });
}

function readCa(path: string, source: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`cannot read ${source} "${path}" (${code})`, `check the path given to ${source}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    throw new UsageError(
      `${source} "${path}" holds no PEM certificate`,
      'give the PEM bundle of the CA to trust',
    );
  return text;
}
