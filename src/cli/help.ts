/**
 * Help text of the command line, rendered from the command table (commands.ts). Light on purpose:
 * the server's `vaultgate --help` (src/main.ts) shows the overview too.
 */
import {
  CONNECTION_FLAGS,
  OTHER_COMMANDS,
  OUTPUT_FLAGS,
  RESOURCES,
  type FlagDef,
  type ResourceDef,
  type VerbDef,
} from './commands.js';

const WIDTH = 34;

function flagLines(flags: readonly FlagDef[]): string[] {
  return flags.map((f) => {
    const left = `--${f.name}${f.value === undefined ? '' : ` ${f.value}`}`;
    const notes = [f.required === true ? 'required' : '', f.multiple === true ? 'repeatable' : ''].filter(
      (n) => n !== '',
    );
    const help = `${f.help}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
    return `  ${left.padEnd(WIDTH - 2)} ${help}`;
  });
}

/** `vaultgate <resource> <verb> --help`. */
export function verbHelp(resource: ResourceDef, verb: VerbDef): string {
  const lines = [`usage: vaultgate ${resource.name} ${verb.usage}`, '', verb.summary, ''];
  if (verb.aliases !== undefined && verb.aliases.length > 0) {
    lines.push(`also: ${verb.aliases.map((a) => `vaultgate ${resource.name} ${a}`).join(', ')}`, '');
  }
  if (verb.flags.length > 0) lines.push('flags:', ...flagLines(verb.flags), '');
  lines.push('connection and output:', ...flagLines([...CONNECTION_FLAGS, ...OUTPUT_FLAGS]), '');
  if (verb.examples !== undefined && verb.examples.length > 0) {
    lines.push('examples:', ...verb.examples.map((e) => `  ${e}`), '');
  }
  return lines.join('\n');
}

/** `vaultgate <resource> --help`: every verb with its flags. */
export function resourceHelp(resource: ResourceDef): string {
  const lines = [`usage: vaultgate ${resource.name} <verb> [ID] [flags]`, '', resource.summary, '', 'verbs:'];
  for (const verb of resource.verbs) {
    const alias = verb.aliases === undefined ? '' : ` (also: ${verb.aliases.join(', ')})`;
    lines.push(`  vaultgate ${resource.name} ${verb.usage}${alias}`, `      ${verb.summary}`);
    for (const line of flagLines(verb.flags)) lines.push(`    ${line}`);
  }
  lines.push(
    '',
    'connection and output (every verb):',
    ...flagLines([...CONNECTION_FLAGS, ...OUTPUT_FLAGS]),
    '',
    `vaultgate ${resource.name} <verb> --help shows one verb with examples.`,
    '',
  );
  return lines.join('\n');
}

/** The commands part of `vaultgate --help` (after the server's settings). */
export function commandsOverview(): string {
  const lines = [
    'commands (talk to a running vaultgate; vaultgate <command> --help for details):',
    ...RESOURCES.map(
      (r) =>
        `  vaultgate ${r.name.padEnd(18)} ${r.verbs.map((v) => [v.name, ...(v.aliases ?? [])].join('|')).join(' | ')}`,
    ),
    ...OTHER_COMMANDS.map((c) => `  vaultgate ${c.name.padEnd(18)} ${c.summary}`),
    '',
    'connection (every command; secrets such as the token come from files or the environment, never flags):',
    ...flagLines(CONNECTION_FLAGS),
    '',
  ];
  return lines.join('\n');
}
