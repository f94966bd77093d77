import type { ApiContext } from './context.js';
import type { Endpoint } from './router.js';

export const auditEventSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    actor: { type: 'string' },
    action: { type: 'string', examples: ['certificate.created'] },
    vault_id: { type: ['string', 'null'] },
    target_id: { type: ['string', 'null'] },
    client_address: { type: ['string', 'null'] },
  },
};

/** Health, readiness, metrics, the local CA and the audit trail. */
export function systemEndpoints(ctx: ApiContext): Endpoint[] {
  const health = (): Endpoint['handler'] => () => ({ status: 200, body: { status: 'ok' } });
  const ready = (): Endpoint['handler'] => async () =>
    (await ctx.ready())
      ? { status: 200, body: { status: 'ready' } }
      : { status: 503, body: { status: 'not_ready' } };
  // Summed over the data-plane workers, asked at each scrape (src/observability/metrics.ts).
  const metrics: Endpoint['handler'] = async () => ({
    status: 200,
    raw: await ctx.metrics.renderAll(),
    headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
  });
  return [
    { method: 'GET', path: '/healthz', root: true, noAuth: true, summary: 'Liveness', handler: health() },
    { method: 'GET', path: '/readyz', root: true, noAuth: true, summary: 'Readiness', handler: ready() },
    { method: 'GET', path: '/healthz', noAuth: true, summary: 'Liveness', handler: health() },
    { method: 'GET', path: '/readyz', noAuth: true, summary: 'Readiness', handler: ready() },
    {
      method: 'GET',
      path: '/metrics',
      root: true,
      summary: 'Prometheus metrics (token required)',
      handler: metrics,
    },
    { method: 'GET', path: '/metrics', summary: 'Prometheus metrics', handler: metrics },
    {
      method: 'GET',
      path: '/info',
      summary: 'Where the proxies listen: ports and the vault host domain (for building client settings)',
      response: {
        type: 'object',
        properties: {
          domain: { type: 'string' },
          inbound_port: { type: 'integer' },
          outbound_port: { type: 'integer' },
          outbound_tls_port: { type: 'integer' },
        },
      },
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
        'Who did what and when (newest first); ?vault_id= filters, ?limit= caps (default 100, max 1000)',
      response: { type: 'array', items: auditEventSchema },
      handler: async ({ query }) => {
        const limit = Math.min(Math.max(Number(query.get('limit') ?? 100) || 100, 1), 1000);
        const events = await ctx.store.read.listAuditEvents({
          vault_id: query.get('vault_id') ?? undefined,
          limit,
        });
        return { status: 200, body: { data: events } };
      },
    },
  ];
}
