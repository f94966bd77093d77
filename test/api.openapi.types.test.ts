/**
 * The dashboard's copy of the API's shapes (web/src/types.ts, which its own compilation cannot import
 * from src/api/) agrees with the types derived from the schemas the OpenAPI document publishes.
 * The checks are compile-time: `npm run typecheck` (and so CI) fails when a field differs in name,
 * type or optionality; at run time this file only proves it was compiled.
 */
import { expectTypeOf, it } from 'vitest';
import type { sessionSchema } from '../src/api/auth.js';
import type { Certificate, certificateDetailSchema } from '../src/api/certificates.js';
import type { Credential, createdCredentialSchema } from '../src/api/credentials.js';
import type { Hostname, hostnameDetailSchema } from '../src/api/hostnames.js';
import type { Route } from '../src/api/routes.js';
import type { FromSchema } from '../src/api/schema.js';
import type { auditEventSchema } from '../src/api/system.js';
import type { apiTokenSchema, createdApiTokenSchema } from '../src/api/tokens.js';
import type { Vault } from '../src/api/vaults.js';
import type { Webhook, WebhookDelivery, createdWebhookSchema } from '../src/api/webhooks.js';
import type * as Web from '../web/src/types.js';

/** One object type out of an intersection, so that equal shapes compare equal. */
type Flat<T> = { [K in keyof T]: T[K] };
/** `T` with the fields only some answers carry (GET of one, the create call) as optional. */
type WithOptional<T, Fuller, K extends keyof Fuller> = Flat<T & Partial<Pick<Fuller, K>>>;

it('web/src/types.ts describes what the API schemas allow, field by field', () => {
  expectTypeOf<Web.ApiToken>().toEqualTypeOf<FromSchema<typeof apiTokenSchema>>();
  expectTypeOf<Flat<Web.CreatedApiToken>>().toEqualTypeOf<FromSchema<typeof createdApiTokenSchema>>();
  expectTypeOf<Web.Role>().toEqualTypeOf<FromSchema<typeof apiTokenSchema>['role']>();
  expectTypeOf<Web.Session>().toEqualTypeOf<FromSchema<typeof sessionSchema>>();
  expectTypeOf<Web.SessionToken>().toEqualTypeOf<FromSchema<typeof sessionSchema>['token']>();
  expectTypeOf<Web.AuditEvent>().toEqualTypeOf<FromSchema<typeof auditEventSchema>>();
  expectTypeOf<Web.Vault>().toEqualTypeOf<Vault>();
  expectTypeOf<Web.ClientAuth>().toEqualTypeOf<Vault['inbound_client_auth']>();
  expectTypeOf<Web.Credential>().toEqualTypeOf<
    WithOptional<Credential, FromSchema<typeof createdCredentialSchema>, 'password'>
  >();
  expectTypeOf<Web.Route>().toEqualTypeOf<Route>();
  expectTypeOf<Web.UpstreamTls>().toEqualTypeOf<Route['upstream_tls']>();
  expectTypeOf<Web.Certificate>().toEqualTypeOf<
    WithOptional<Certificate, FromSchema<typeof certificateDetailSchema>, 'certificate_pem'>
  >();
  expectTypeOf<Web.ChainEntry>().toEqualTypeOf<Certificate['chain'][number]>();
  expectTypeOf<Web.CertificateStatus>().toEqualTypeOf<Certificate['status']>();
  expectTypeOf<Web.ProxyType>().toEqualTypeOf<Certificate['proxy_type']>();
  expectTypeOf<Web.Hostname>().toEqualTypeOf<
    WithOptional<Hostname, FromSchema<typeof hostnameDetailSchema>, 'certificate_pem'>
  >();
  expectTypeOf<Web.Webhook>().toEqualTypeOf<
    WithOptional<Webhook, FromSchema<typeof createdWebhookSchema>, 'secret'>
  >();
  expectTypeOf<Web.WebhookDelivery>().toEqualTypeOf<WebhookDelivery>();
  expectTypeOf<Web.WebhookAttempt>().toEqualTypeOf<WebhookDelivery['attempt_log'][number]>();
  expectTypeOf<Web.WebhookEvent>().toEqualTypeOf<Webhook['events'][number]>();
});
