import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OTHER_COMMANDS, RESOURCES } from '../src/cli/commands.js';
import { runCli } from '../src/cli/index.js';

/**
 * docs/cli.md against the help the command line prints: every command has its section, every flag a
 * command's help lists is in that command's section, and no section (nor the rest of the page) names
 * a flag that no help lists. export, apply and rotate-master-key are held to their own help texts.
 */

const ROOT = join(import.meta.dirname, '..');
const DOCS = readFileSync(join(ROOT, 'docs/cli.md'), 'utf8');

const flagsIn = (text: string): Set<string> => new Set(text.match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? []);

/** The stdout of `vaultgate <args> --help`: rotate-master-key writes to the process's own, so it runs as the binary. */
async function help(args: string[]): Promise<string> {
  if (args[0] === 'rotate-master-key') {
    const run = spawnSync(process.execPath, [join(ROOT, 'bin/vaultgate.js'), ...args], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    return run.stdout;
  }
  return inProcess(args);
}

/** `vaultgate <args>` in this process, through the same entry the binary uses: its exit code and stdout. */
async function inProcess(args: string[]): Promise<string> {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        append(chunk.toString());
        done();
      },
    });
  const code = await runCli(args, {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    stdin: Readable.from([]),
    env: {},
  });
  expect(code, err).toBe(0);
  return out;
}

/** The `### vaultgate …` sections of the page, by command. */
function sections(): Map<string, string> {
  const out = new Map<string, string>();
  let current: string | undefined;
  for (const line of DOCS.split('\n')) {
    const heading = /^(#{1,3}) (.*)$/.exec(line);
    if (heading !== null) {
      const command = /^vaultgate (.+)$/.exec(heading[2] ?? '');
      current = heading[1] === '###' && command !== null ? (command[1] ?? '') : undefined;
      if (current !== undefined) out.set(current, '');
      continue;
    }
    if (current !== undefined) out.set(current, `${out.get(current) ?? ''}${line}\n`);
  }
  return out;
}

const commands = [
  ...RESOURCES.flatMap((r) => r.verbs.map((v) => `${r.name} ${v.name}`)),
  ...OTHER_COMMANDS.map((c) => c.name),
];

describe('docs/cli.md', () => {
  it('has a section for every command the help lists, and none for a command that does not exist', async () => {
    const top = spawnSync(process.execPath, [join(ROOT, 'bin/vaultgate.js'), '--help'], { encoding: 'utf8' });
    expect(top.status).toBe(0);
    for (const r of RESOURCES) {
      expect(top.stdout).toMatch(
        new RegExp(
          `^  vaultgate ${r.name} +${r.verbs.map((v) => [v.name, ...(v.aliases ?? [])].join('\\|')).join(' \\| ')}$`,
          'm',
        ),
      );
      const resourceHelp = await help([r.name, '--help']);
      for (const v of r.verbs) expect(resourceHelp).toContain(`vaultgate ${r.name} ${v.name}`);
    }
    for (const c of OTHER_COMMANDS) expect(top.stdout).toMatch(new RegExp(`^  vaultgate ${c.name} `, 'm'));
    expect([...sections().keys()].sort()).toEqual([...commands].sort());
  });

  it("lists in each command's section exactly the flags of its --help", async () => {
    const common = flagsIn(
      await help(['vaults', 'list', '--help']).then((h) => h.slice(h.indexOf('connection and output:'))),
    );
    expect([...common].sort()).toEqual(['--ca-file', '--help', '--json', '--token-file', '--url']);
    const docs = sections();
    for (const command of commands) {
      const text = await help([...command.split(' '), '--help']);
      const own = [...flagsIn(text)].filter((f) => !common.has(f));
      const section = docs.get(command) ?? '';
      for (const flag of own)
        expect(section, `docs/cli.md "vaultgate ${command}" lacks ${flag}`).toContain(flag);
      for (const flag of flagsIn(section))
        expect(
          [...own, ...common],
          `docs/cli.md "vaultgate ${command}" names ${flag}, which its --help does not list`,
        ).toContain(flag);
    }
  });

  it('documents the connection and output flags, and names no flag that no help lists', async () => {
    const global = DOCS.slice(DOCS.indexOf('## Connection and output'), DOCS.indexOf('## Output'));
    for (const flag of ['--url', '--token-file', '--ca-file', '--json', '--help'])
      expect(global).toContain(flag);
    const top = spawnSync(process.execPath, [join(ROOT, 'bin/vaultgate.js'), '--help'], { encoding: 'utf8' });
    const known = flagsIn(top.stdout);
    for (const command of commands)
      for (const f of flagsIn(await help([...command.split(' '), '--help']))) known.add(f);
    for (const flag of flagsIn(DOCS)) expect([...known], `docs/cli.md names ${flag}`).toContain(flag);
  });
});
