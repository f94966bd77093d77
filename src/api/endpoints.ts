import type { ApiAuth } from './auth.js';
import { sessionEndpoints } from './auth.js';
import type { ApiContext } from './context.js';
import { certificateDetailSchema, certificateEndpoints, certificateSchema } from './certificates.js';
import { certificateRequestEndpoints, certificateRequestSchema } from './certificate-requests.js';
import { clientAuthSchema } from './client-auth.js';
import { createdCredentialSchema, credentialEndpoints, credentialSchema } from './credentials.js';
import { hostnameDetailSchema, hostnameEndpoints, hostnameSchema } from './hostnames.js';
import { buildOpenApi } from './openapi.js';
import { routeEndpoints, routeSchema } from './routes.js';
import { apiTokenEndpoints, apiTokenSchema, createdApiTokenSchema } from './tokens.js';
import type { Endpoint } from './router.js';
import { chainEntry } from './schema.js';
import { auditEventSchema, systemEndpoints } from './system.js';
import { vaultEndpoints, vaultSchema } from './vaults.js';
import { createdWebhookSchema, webhookDeliverySchema, webhookEndpoints, webhookSchema } from './webhooks.js';

/** Every endpoint of the management port, one list per resource. */
export function buildEndpoints(ctx: ApiContext, auth: ApiAuth): Endpoint[] {
  const endpoints: Endpoint[] = [
    ...systemEndpoints(ctx),
    ...sessionEndpoints(auth),
    ...vaultEndpoints(ctx),
    ...hostnameEndpoints(ctx),
    ...credentialEndpoints(ctx),
    ...routeEndpoints(ctx),
    ...certificateEndpoints(ctx),
    ...webhookEndpoints(ctx),
    ...certificateRequestEndpoints(ctx),
    ...apiTokenEndpoints(ctx),
  ];
  // The document describes itself too: its endpoint is in the list it is built from (the handler
  // runs only once the server is up, after `openapi` below is set).
  endpoints.push({
    method: 'GET',
    path: '/openapi.json',
    summary: 'This API, described in OpenAPI 3.1',
    plain: {
      media: 'application/json',
      schema: {
        type: 'object',
        required: ['openapi', 'info', 'paths'],
        properties: { openapi: { const: '3.1.0' }, info: { type: 'object' }, paths: { type: 'object' } },
      },
    },
    handler: () => ({ status: 200, body: openapi }),
  });
  const openapi = buildOpenApi(endpoints, {
    Vault: vaultSchema,
    ClientAuth: clientAuthSchema,
    Credential: credentialSchema,
    CreatedCredential: createdCredentialSchema,
    Route: routeSchema,
    Certificate: certificateSchema,
    CertificateDetail: certificateDetailSchema,
    ChainEntry: chainEntry,
    Hostname: hostnameSchema,
    HostnameDetail: hostnameDetailSchema,
    AuditEvent: auditEventSchema,
    Webhook: webhookSchema,
    CreatedWebhook: createdWebhookSchema,
    WebhookDelivery: webhookDeliverySchema,
    CertificateRequest: certificateRequestSchema,
    ApiToken: apiTokenSchema,
    CreatedApiToken: createdApiTokenSchema,
  });
  return endpoints;
}
