import { VaultgateError } from '../errors.js';
import { PAGE_PARAMETERS, encodeCursor, readPage, sortKey } from './paging.js';
import type { ApiContext } from './context.js';
import type { Endpoint } from './router.js';
import { nullableString, timestamp } from './schema.js';

export const auditEventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'at', 'actor', 'action', 'vault_id', 'target_id', 'client_address'],
  properties: {
    id: { type: 'string' },
    at: timestamp,
    actor: {
      type: 'string',
      description:
        '"token:<name>" (a bearer token), "dashboard:<name>" (a session signed in with that token), "anonymous" (a failed sign-in) or "system" (vaultgate itself)',
      examples: ['token:ci-deploy', 'dashboard:bootstrap'],
    },
    action: { type: 'string', examples: ['certificate.created'] },
    vault_id: nullableString,
    target_id: nullableString,
    client_address: nullableString,
  },
} as const;

const infoSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['domain', 'inbound_port', 'outbound_port', 'outbound_tls_port'],
  properties: {
    domain: { type: 'string', description: 'Vault hosts are <vault_id>.<environment>.<domain>' },
    inbound_port: { type: 'integer' },
    outbound_port: { type: 'integer' },
    outbound_tls_port: { type: 'integer' },
  },
} as const;

const probeSchema = (...values: string[]) => ({
  type: 'object',
  additionalProperties: false,
  required: ['status'],
  properties: { status: { type: 'string', enum: values } },
});
const PEM = { media: 'application/x-pem-file', schema: { type: 'string' } } as const;
const METRICS = { media: 'text/plain', schema: { type: 'string' } } as const;

/** Health, readiness, metrics, the local CA and the audit trail. */
export function systemEndpoints(ctx: ApiContext): Endpoint[] {
  const health = (): Endpoint['handler'] => () => ({ status: 200, body: { status: 'ok' } });
  const ready = (): Endpoint['handler'] => async () =>
    (await ctx.ready())
      ? { status: 200, body: { status: 'ready' } }
      : { status: 503, body: { status: 'not_ready' } };
  // Merged over the data-plane workers, asked at each scrape (src/observability/metrics.ts).
  const metrics: Endpoint['handler'] = async () => ({
    status: 200,
    raw: await ctx.metrics.renderAll(),
    headers: { 'content-type': ctx.metrics.contentType },
  });
  return [
    ...[true, false].flatMap((root): Endpoint[] => [
      {
        method: 'GET',
        path: '/healthz',
        root,
        noAuth: true,
        summary: 'Liveness',
        plain: { media: 'application/json', schema: probeSchema('ok') },
        handler: health(),
      },
      {
        method: 'GET',
        path: '/readyz',
        root,
        noAuth: true,
        summary: 'Readiness',
        plain: { media: 'application/json', schema: probeSchema('ready', 'not_ready') },
        alsoAnswers: { 503: 'Not ready: the store or the data-plane workers are not serving yet' },
        handler: ready(),
      },
      {
        method: 'GET',
        path: '/metrics',
        root,
        summary: 'Prometheus metrics (text exposition format; token required)',
        plain: METRICS,
        handler: metrics,
      },
    ]),
    {
      method: 'GET',
      path: '/info',
      summary: 'Where the proxies listen: ports and the vault host domain (for building client settings)',
      response: infoSchema,
      handler: () => {
        const ports = ctx.ports();
        return {
          status: 200,
          body: {
            data: {
              domain: ctx.settings.domain,
              inbound_port: ports?.inbound ?? ctx.settings.inboundPort,
              outbound_port: ports?.outbound ?? ctx.settings.outboundPort,
              outbound_tls_port: ports?.outbound_tls ?? ctx.settings.outboundTlsPort,
            },
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/local-ca',
      summary: "The PEM of the local CA that signs vaultgate's own TLS listeners",
      plain: PEM,
      handler: () => ({
        status: 200,
        raw: ctx.localCaPem,
        headers: {
          'content-type': 'application/x-pem-file',
          'content-disposition': 'attachment; filename="vaultgate-local-ca.pem"',
        },
      }),
    },
    {
      method: 'GET',
      path: '/audit-events',
      summary:
        'Who did what and when, newest first, paged back to the first event; filters: vault_id, actor, action, since (ISO 8601)',
      query: ['vault_id', 'actor', 'action', 'since', ...PAGE_PARAMETERS],
      response: { type: 'array', items: auditEventSchema },
      handler: async ({ query }) => {
        const request = readPage(query);
        const since = query.get('since');
        if (since !== null && (Number.isNaN(Date.parse(since)) || !/^\d{4}-\d{2}-\d{2}/.test(since))) {
          throw new VaultgateError(
            'invalid_parameter',
            'since must be an ISO 8601 time such as 2026-12-01T00:00:00Z.',
            'since',
          );
        }
        // Keyset paging on (at, id), newest first: the cursor holds the last event returned.
        const before = request.after === null ? undefined : splitKey(request.after);
        const events = await ctx.store.read.listAuditEvents({
          vault_id: query.get('vault_id') ?? undefined,
          actor: query.get('actor') ?? undefined,
          action: query.get('action') ?? undefined,
          since: since === null ? undefined : new Date(since).toISOString(),
          before,
          limit: request.limit + 1,
        });
        const data = events.slice(0, request.limit);
        const last = data[data.length - 1];
        const more = events.length > request.limit && last !== undefined;
        return {
          status: 200,
          body: { data, next_cursor: more ? encodeCursor(sortKey(last.at, last.id)) : null },
        };
      },
    },
  ];
}

/** The (at, id) of an audit cursor's key (paging.ts sortKey). */
function splitKey(key: string): { at: string; id: string } {
  const space = key.indexOf(' ');
  return { at: key.slice(0, space), id: key.slice(space + 1) };
}
