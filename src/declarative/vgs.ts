/**
 * VGS route YAML, the file `vgs routes get` writes and `vgs routes apply` reads:
 *
 *   data:
 *   - attributes: {created_at, destination_override_endpoint, entries, host_endpoint, id, ordinal,
 *                  port, protocol, source_endpoint, tags, updated_at}
 *     id: <the route's id again>
 *     type: rule_chain
 *   version: 1
 *
 * VGS's tooling is Python (PyYAML): keys sorted, sequences not indented under their key, YAML 1.1
 * quoting (timestamps and "*" in single quotes). The render below keeps that layout so a file moves
 * between VGS and vaultgate without a diff beyond the values.
 */
import { Document } from 'yaml';
import { readRoute, routeLabel, type ApiRoute, type RouteSpec } from './routes.js';
import { FileRefusedError, isObject, readSource, type FileProblem } from './source.js';

/** Whether a parsed file is VGS route YAML (a top-level `data` list) rather than a vault file. */
export function looksLikeVgs(value: unknown): boolean {
  return isObject(value) && 'data' in value;
}

/** Reads VGS route YAML; any problem refuses the whole file (FileRefusedError, with lines). */
export function parseVgsRoutes(text: string): RouteSpec[] {
  const src = readSource(text);
  const problems: FileProblem[] = [];
  const top = src.value;
  if (!isObject(top) || !Array.isArray(top.data)) {
    throw new FileRefusedError([
      { line: src.lineOf([]), message: 'a VGS route file has a top-level "data:" list of routes.' },
    ]);
  }
  for (const key of Object.keys(top)) {
    if (key !== 'data' && key !== 'version') {
      problems.push({
        line: src.lineOf([key]),
        message: `"${key}" is not part of a VGS route file (data, version); remove it.`,
      });
    }
  }
  const routes: RouteSpec[] = [];
  const seen = new Map<string, number>();
  top.data.forEach((entry: unknown, i: number) => {
    const at = ['data', i];
    if (!isObject(entry) || !isObject(entry.attributes)) {
      problems.push({
        line: src.lineOf(at),
        item: `route ${i + 1}`,
        message: 'each route is a map with "attributes:".',
      });
      return;
    }
    const item = routeLabel(i, entry.attributes, entry.id);
    for (const key of Object.keys(entry)) {
      if (key !== 'attributes' && key !== 'id' && key !== 'type') {
        problems.push({
          line: src.lineOf([...at, key]),
          item,
          message: `"${key}" is not part of a VGS route (attributes, id, type); remove it.`,
        });
      }
    }
    const attrs = { ...entry.attributes };
    if (attrs.id === undefined && entry.id !== undefined) attrs.id = entry.id;
    if (
      entry.id !== undefined &&
      typeof entry.id === 'string' &&
      typeof attrs.id === 'string' &&
      entry.id.toLowerCase() !== attrs.id.toLowerCase()
    ) {
      problems.push({
        line: src.lineOf([...at, 'id']),
        item,
        message: `the route's id (${entry.id}) differs from attributes.id (${attrs.id}); they must be the same.`,
      });
    }
    const spec = readRoute(src, [...at, 'attributes'], attrs, item, problems);
    if (!spec) return;
    const first = seen.get(spec.id);
    if (first !== undefined) {
      problems.push({
        line: src.lineOf([...at, 'attributes', 'id']),
        item,
        message: `the id ${spec.id} is also route ${first + 1}'s; each route appears once.`,
      });
      return;
    }
    seen.set(spec.id, i);
    routes.push(spec);
  });
  if (problems.length > 0) throw new FileRefusedError(problems);
  return routes;
}

/** VGS writes timestamps as UTC without zone or fraction: 2018-07-17T16:50:37. */
function vgsTime(iso: string | undefined): string | null {
  return iso === undefined ? null : iso.replace(/(\.\d+)?Z$/, '');
}

/** A vault's routes as `vgs routes get` writes them. upstream_tls, vaultgate's own, only when set. */
export function renderVgsRoutes(routes: readonly ApiRoute[]): string {
  const data = routes.map((r) => {
    const attributes: Record<string, unknown> = {
      created_at: vgsTime(r.created_at),
      destination_override_endpoint: r.destination_override_endpoint,
      entries: [],
      host_endpoint: r.host_endpoint,
      id: r.id,
      ordinal: null,
      port: r.port,
      protocol: r.protocol,
      source_endpoint: r.source_endpoint,
      tags: r.tags,
      updated_at: vgsTime(r.updated_at),
    };
    const tls = r.upstream_tls;
    if (!tls.verify || tls.ca_pem || tls.servername) attributes.upstream_tls = tls;
    return { attributes, id: r.id, type: 'rule_chain' };
  });
  const doc = new Document({ data, version: 1 }, { version: '1.1', sortMapEntries: true });
  return doc.toString({ indentSeq: false, singleQuote: true, lineWidth: 0 });
}
