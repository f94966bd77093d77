import { describe, expect, it } from 'vitest';
import { describeRouteAction, diffRoute, planRoutes, type ApiRoute, type RouteSpec } from './routes.js';

const SPEC: RouteSpec = {
  id: '6f1c2a4e-3b5d-4c7e-9f10-a1b2c3d4e5f6',
  destination_override_endpoint: 'https://api.example',
  host_endpoint: '(.*)',
  port: 443,
  protocol: 'http',
  source_endpoint: '*',
  tags: { name: 'api' },
  upstream_tls: { verify: true },
};

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\nAAAA\n-----END CERTIFICATE-----\n';

describe('route comparison', () => {
  it('finds nothing to change where vaultgate stores the same route in its own form', () => {
    const stored: ApiRoute = {
      ...SPEC,
      upstream_tls: { verify: true, servername: 'api.example', ca_pem: PEM },
      created_at: '2026-01-01T00:00:00.000Z',
    };
    const wanted: RouteSpec = {
      ...SPEC,
      upstream_tls: { verify: true, servername: 'API.example.', ca_pem: PEM.replace(/\n/g, '\r\n') },
    };
    expect(diffRoute(stored, wanted)).toEqual([]);
    expect(planRoutes([wanted], [stored])).toEqual([{ kind: 'unchanged', spec: wanted }]);
  });

  it('names each changed field, a removed tag and a CA bundle without printing it', () => {
    const wanted: RouteSpec = {
      ...SPEC,
      port: 8443,
      tags: { team: 'payments' },
      upstream_tls: { verify: false, ca_pem: PEM },
    };
    const [action] = planRoutes([wanted], [SPEC]);
    expect(action?.kind).toBe('replace');
    expect(describeRouteAction(action!)).toEqual([
      `~ route ${SPEC.id}: replace`,
      '    port: 443 -> 8443',
      '    upstream_tls.verify: true -> false',
      '    upstream_tls.ca_pem: (none) -> (a CA bundle)',
      '    tags.name: api -> (none)',
      '    tags.team: (none) -> payments',
    ]);
  });

  it('creates a route whose id the vault does not have', () => {
    const [action] = planRoutes([{ ...SPEC, destination_override_endpoint: '*' }], []);
    expect(describeRouteAction(action!)).toEqual([`+ route ${SPEC.id} "api": create (outbound, *)`]);
  });
});
