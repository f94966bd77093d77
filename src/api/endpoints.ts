import type { AdminAuth } from './auth.js';
import { sessionEndpoints } from './auth.js';
import type { ApiContext } from './context.js';
import { certificateEndpoints } from './certificates.js';
import { credentialEndpoints } from './credentials.js';
import { hostnameEndpoints } from './hostnames.js';
import { buildOpenApi } from './openapi.js';
import { routeEndpoints } from './routes.js';
import type { Endpoint } from './router.js';
import { systemEndpoints } from './system.js';
import { vaultEndpoints } from './vaults.js';

/** Every endpoint of the management port, one list per resource. */
export function buildEndpoints(ctx: ApiContext, auth: AdminAuth): Endpoint[] {
  const endpoints: Endpoint[] = [
    ...systemEndpoints(ctx),
    ...sessionEndpoints(auth),
    ...vaultEndpoints(ctx),
    ...hostnameEndpoints(ctx),
    ...credentialEndpoints(ctx),
    ...routeEndpoints(ctx),
    ...certificateEndpoints(ctx),
  ];
  const openapi = buildOpenApi(endpoints);
  endpoints.push({
    method: 'GET',
    path: '/openapi.json',
    summary: 'This API, described in OpenAPI 3.1',
    handler: () => ({ status: 200, body: openapi }),
  });
  return endpoints;
}
