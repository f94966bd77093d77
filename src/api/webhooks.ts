/**
 * Webhooks (SPEC §2 "Expiry notifications"): where vaultgate POSTs certificate events, signed with
 * a secret shown once at creation. The delivery itself is src/notifications/.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { VaultgateError } from '../errors.js';
import { UpstreamBlocker } from '../proxy/upstream/blocked-ranges.js';
import { webhookSecretAad } from '../secrets/aad.js';
import {
  WEBHOOK_EVENTS,
  type Repo,
  type WebhookDeliveryRecord,
  type WebhookEvent,
  type WebhookRecord,
} from '../store/types.js';
import { commit, type ApiContext } from './context.js';
import { PAGE_PARAMETERS, encodeCursor, pageOf, readPage, sortKey, splitSortKey } from './paging.js';
import type { Endpoint } from './router.js';
import { nullableString, timestamp, type FromSchema } from './schema.js';

export const DEFAULT_DAYS_BEFORE = [30, 7, 1] as const;
const MAX_URL_CHARS = 2048;

const eventList = {
  type: 'array',
  minItems: 1,
  maxItems: WEBHOOK_EVENTS.length,
  uniqueItems: true,
  items: { type: 'string', maxLength: 100 },
  description: `Any of ${WEBHOOK_EVENTS.join(', ')}`,
  examples: [['certificate.expiring', 'certificate.expired']],
} as const;

const daysBefore = {
  type: 'array',
  minItems: 1,
  maxItems: 10,
  uniqueItems: true,
  items: { type: 'integer', minimum: 1, maximum: 365 },
  description:
    'Days before not_after at which certificate.expiring and hostname.expiring fire (default [30, 7, 1])',
} as const;

const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'events'],
  properties: {
    url: { type: 'string', minLength: 1, maxLength: MAX_URL_CHARS },
    events: eventList,
    days_before: daysBefore,
    description: { type: 'string', maxLength: 500 },
  },
} as const;

type CreateBody = FromSchema<typeof createBody>;

export const webhookSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'url', 'events', 'days_before', 'description', 'created_at'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    url: { type: 'string' },
    events: { type: 'array', items: { type: 'string', enum: WEBHOOK_EVENTS } },
    days_before: { type: 'array', items: { type: 'integer' } },
    description: nullableString,
    created_at: timestamp,
  },
} as const;

/** The answer to POST /webhooks: the only time the secret is shown. */
export const createdWebhookSchema = {
  ...webhookSchema,
  required: [...webhookSchema.required, 'secret'],
  properties: {
    ...webhookSchema.properties,
    secret: {
      type: 'string',
      description: 'HMAC-SHA-256 key of x-vaultgate-signature; shown once, never again',
    },
  },
} as const;

const attemptSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['at', 'status_code', 'error'],
  properties: {
    at: timestamp,
    status_code: { type: ['integer', 'null'], description: "The receiver's HTTP status; null: no answer" },
    error: nullableString,
  },
} as const;

export const webhookDeliverySchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'webhook_id',
    'event_id',
    'type',
    'status',
    'attempts',
    'last_status_code',
    'last_error',
    'next_attempt_at',
    'delivered_at',
    'created_at',
    'attempt_log',
  ],
  properties: {
    id: { type: 'string', format: 'uuid' },
    webhook_id: { type: 'string', format: 'uuid' },
    event_id: { type: 'string', format: 'uuid', description: 'The body\'s "id": the same for every webhook' },
    type: { type: 'string', enum: WEBHOOK_EVENTS },
    status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    attempts: { type: 'integer' },
    last_status_code: { type: ['integer', 'null'] },
    last_error: nullableString,
    next_attempt_at: { type: ['string', 'null'], format: 'date-time', description: 'null unless pending' },
    delivered_at: { type: ['string', 'null'], format: 'date-time' },
    created_at: timestamp,
    attempt_log: { type: 'array', items: attemptSchema, description: 'Every attempt, oldest first' },
  },
} as const;

export type Webhook = FromSchema<typeof webhookSchema>;
export type WebhookDelivery = FromSchema<typeof webhookDeliverySchema>;

export function presentWebhook(w: WebhookRecord): Webhook {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    days_before: w.days_before,
    description: w.description,
    created_at: w.created_at,
  };
}

export function presentDelivery(d: WebhookDeliveryRecord): WebhookDelivery {
  return {
    id: d.id,
    webhook_id: d.webhook_id,
    event_id: d.event_id,
    type: d.type,
    status: d.status,
    attempts: d.attempts,
    last_status_code: d.last_status_code,
    last_error: d.last_error,
    next_attempt_at: d.status === 'pending' ? d.next_attempt_at : null,
    delivered_at: d.delivered_at,
    created_at: d.created_at,
    attempt_log: d.attempt_log,
  };
}

function readEvents(events: readonly string[]): WebhookEvent[] {
  for (const event of events) {
    if (!(WEBHOOK_EVENTS as readonly string[]).includes(event)) {
      throw new VaultgateError(
        'invalid_field',
        `Unknown event "${event}": events are ${WEBHOOK_EVENTS.join(', ')}.`,
        'events',
      );
    }
  }
  return [...events] as WebhookEvent[];
}

function readUrl(raw: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(raw.trim());
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !url.hostname) {
    throw new VaultgateError(
      'invalid_field',
      'url must be an http(s) URL of your receiver, such as "https://hooks.example.com/vaultgate".',
      'url',
    );
  }
  if (url.username || url.password || url.hash) {
    throw new VaultgateError(
      'invalid_field',
      'url must carry no user name, password or #fragment; authenticate deliveries by their x-vaultgate-signature.',
      'url',
    );
  }
  return url;
}

/** The receiver is an upstream like any other (SPEC §4): blocked ranges and vaultgate's own ports apply. */
export function webhookBlocker(ctx: Pick<ApiContext, 'settings' | 'ports'>): UpstreamBlocker {
  const { settings } = ctx;
  const ports = ctx.ports();
  return new UpstreamBlocker({
    linkLocal: settings.blockLinkLocal,
    ranges: settings.blockedUpstreams,
    ownPorts: ports
      ? [ports.admin, ports.inbound, ports.outbound, ports.outbound_tls]
      : [settings.adminPort, settings.inboundPort, settings.outboundPort, settings.outboundTlsPort],
  });
}

async function requireWebhook(repo: Repo, id: string | undefined): Promise<WebhookRecord> {
  const found = id === undefined ? undefined : await repo.getWebhook(id);
  if (!found) {
    throw new VaultgateError(
      'webhook_not_found',
      `No webhook has the id "${id}"; list webhooks with GET /api/v1/webhooks.`,
    );
  }
  return found;
}

export function webhookEndpoints(ctx: ApiContext): Endpoint[] {
  return [
    {
      method: 'POST',
      path: '/webhooks',
      role: 'admin',
      summary:
        'Create a webhook: vaultgate POSTs the events given, signed with the secret answered here (shown once)',
      body: createBody,
      example: {
        url: 'https://hooks.example.com/vaultgate',
        events: ['certificate.expiring', 'certificate.expired'],
        days_before: [30, 7, 1],
        description: 'Ops on-call',
      },
      response: createdWebhookSchema,
      status: 201,
      errors: ['upstream_blocked'],
      handler: async ({ body, actor, remoteAddress }) => {
        const input = body as CreateBody;
        const url = readUrl(input.url);
        const events = readEvents(input.events);
        const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
        const refused = await webhookBlocker(ctx).check(url.hostname, port);
        if (refused !== null) {
          throw new VaultgateError('upstream_blocked', `url cannot be used: ${refused.message}.`, 'url');
        }
        const id = randomUUID();
        const secret = `whsec_${randomBytes(32).toString('base64url')}`;
        const record: WebhookRecord = {
          id,
          url: url.toString(),
          events,
          days_before: [...(input.days_before ?? DEFAULT_DAYS_BEFORE)].sort((a, b) => b - a),
          secret_sealed: ctx.keyring.seal(secret, webhookSecretAad(id)),
          description: input.description ?? null,
          created_at: new Date().toISOString(),
        };
        await commit(
          ctx,
          { actor, action: 'webhook.created', vault_id: null, target_id: id, client_address: remoteAddress },
          (repo) => repo.insertWebhook(record),
        );
        return { status: 201, body: { data: { ...presentWebhook(record), secret } } };
      },
    },
    {
      method: 'GET',
      path: '/webhooks',
      summary: 'List webhooks, paged (the secrets are never shown again)',
      query: PAGE_PARAMETERS,
      response: { type: 'array', items: webhookSchema },
      handler: async ({ query }) => {
        const request = readPage(query);
        const page = pageOf(await ctx.store.read.listWebhooks(), (w) => sortKey(w.created_at, w.id), request);
        return { status: 200, body: { ...page, data: page.data.map(presentWebhook) } };
      },
    },
    {
      method: 'GET',
      path: '/webhooks/:webhook_id',
      summary: 'Get a webhook',
      response: webhookSchema,
      errors: ['webhook_not_found'],
      handler: async ({ params }) => ({
        status: 200,
        body: { data: presentWebhook(await requireWebhook(ctx.store.read, params.webhook_id)) },
      }),
    },
    {
      method: 'DELETE',
      path: '/webhooks/:webhook_id',
      role: 'admin',
      summary: 'Delete a webhook and its deliveries: nothing more is sent to it',
      status: 204,
      errors: ['webhook_not_found'],
      handler: async ({ params, actor, remoteAddress }) => {
        await commit(
          ctx,
          {
            actor,
            action: 'webhook.deleted',
            vault_id: null,
            target_id: params.webhook_id ?? null,
            client_address: remoteAddress,
          },
          async (repo) => {
            const webhook = await requireWebhook(repo, params.webhook_id);
            await repo.deleteWebhook(webhook.id);
          },
        );
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/webhooks/:webhook_id/deliveries',
      summary:
        "A webhook's deliveries, newest first, paged: status, attempts, the receiver's answers, the next attempt",
      query: PAGE_PARAMETERS,
      response: { type: 'array', items: webhookDeliverySchema },
      errors: ['webhook_not_found'],
      handler: async ({ params, query }) => {
        const request = readPage(query);
        const webhook = await requireWebhook(ctx.store.read, params.webhook_id);
        const before = request.after === null ? undefined : splitSortKey(request.after);
        // One more than the page: whether it exists says whether a next page does.
        const found = await ctx.store.read.listWebhookDeliveries(webhook.id, {
          before,
          limit: request.limit + 1,
        });
        const data = found.slice(0, request.limit);
        const last = data[data.length - 1];
        const next =
          found.length > request.limit && last ? encodeCursor(sortKey(last.created_at, last.id)) : null;
        return { status: 200, body: { data: data.map(presentDelivery), next_cursor: next } };
      },
    },
  ];
}
