/** The four verbs, the same for every resource: list, get, create (certificates: add), delete. */
import { UsageError, requireFlag, type Parsed } from './args.js';
import type { ResourceDef, VerbDef } from './commands.js';
import type { FileReader } from './files.js';
import type { CliContext } from './index.js';
import { colourEnabled, fields, json, table, type Row } from './output.js';
import { IMPLS, segment } from './resources.js';

export interface VerbRun {
  resource: ResourceDef;
  verb: VerbDef;
  parsed: Parsed;
  ctx: CliContext;
  files: FileReader;
  hint: string;
}

export async function runVerb(run: VerbRun): Promise<number> {
  const { resource, verb, parsed, ctx, files, hint } = run;
  const impl = IMPLS[resource.name];
  if (impl === undefined) throw new Error(`no implementation for ${resource.name}`);
  const { values, positionals } = parsed;
  const wantId = verb.positional === 'ID';
  if (wantId && positionals.length === 0)
    throw new UsageError(`vaultgate ${resource.name} ${verb.name} needs the ${impl.noun}'s id`, hint);
  if (positionals.length > (wantId ? 1 : 0))
    throw new UsageError(`unexpected argument "${positionals[wantId ? 1 : 0]}"`, hint);
  const vault = impl.vaultScoped ? requireFlag(values, 'vault', hint) : '';
  const base = impl.path(vault);
  const item = `${base}/${segment(positionals[0] ?? '', `a ${impl.noun} id`)}`;
  const asJson = values.json === true;
  const colour = colourEnabled(ctx.stdout, ctx.env);
  const out = ctx.stdout;

  switch (verb.name) {
    case 'list': {
      // Flags are checked (listQuery) before the connection is made.
      const query = impl.listQuery?.(values) ?? {};
      const data = await ctx.client().list<Row>(base, query);
      if (asJson) out.write(json(data));
      else if (data.length === 0) out.write(`no ${resource.name}\n`);
      else out.write(table(data, impl.columns, colour));
      return 0;
    }
    case 'get': {
      const { body } = await ctx.client().request<{ data: Row }>('GET', item);
      if (asJson) out.write(json(body.data));
      else {
        out.write(fields(body.data, colour, impl.special, impl.skip));
        if (typeof body.data.certificate_pem === 'string')
          out.write('(the public chain, certificate_pem, is in the --json output)\n');
      }
      return 0;
    }
    case 'add':
    case 'create': {
      // Every flag and file is read and checked before anything is sent.
      const body = await impl.createBody({ values, files, hint });
      const { body: answer } = await ctx.client().request<{ data: Row }>('POST', base, body);
      const data = answer.data;
      if (asJson) out.write(json(data));
      else out.write(fields(data, colour, impl.special, impl.skip));
      if (impl.once !== undefined && typeof data[impl.once.field] === 'string') {
        ctx.stderr.write(
          `note: the ${impl.once.what} above is shown this once: vaultgate keeps only a keyed hash of it. Store it now; it cannot be read again.\n`,
        );
      }
      const warnings = Array.isArray(data.warnings) ? (data.warnings as unknown[]) : [];
      for (const w of warnings) ctx.stderr.write(`warning: ${String(w)}\n`);
      return 0;
    }
    case 'delete': {
      const id = positionals[0] ?? '';
      await ctx.client().request('DELETE', `${item}${impl.deleteQuery?.(values) ?? ''}`);
      if (asJson) out.write(json({ id, deleted: true }));
      else out.write(`deleted ${impl.noun} ${id}\n`);
      return 0;
    }
    default:
      throw new Error(`no implementation for ${resource.name} ${verb.name}`);
  }
}
