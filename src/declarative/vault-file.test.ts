import { describe, expect, it } from 'vitest';
import { FileRefusedError } from './source.js';
import { promotedRouteId } from './sync.js';
import { parseVaultFile, renderVaultFile, type VaultState } from './vault-file.js';

const STATE: VaultState = {
  vault: { id: 'tntsandbox1', name: 'Sandbox', environment: 'sandbox' },
  credentials: [
    {
      id: '11111111-1111-4111-8111-111111111111',
      username: 'US1234',
      description: 'payments',
      status: 'active',
    },
  ],
  routes: [
    {
      id: '22222222-2222-4222-8222-222222222222',
      destination_override_endpoint: 'https://backend.example',
      host_endpoint: '(.*)',
      port: 443,
      protocol: 'http',
      source_endpoint: '*',
      tags: { name: 'backend' },
      upstream_tls: { verify: true },
    },
  ],
  certificates: [
    {
      id: '33333333-3333-4333-8333-333333333333',
      proxy_type: 'outbound',
      credential_id: '11111111-1111-4111-8111-111111111111',
      route_id: null,
      description: 'network',
      hosts: ['api.network.example'],
      subject: 'CN=client',
      fingerprint_sha256: 'AB:CD',
      key_type: 'ec',
    },
  ],
  hostnames: [],
};

const refusal = (text: string): FileRefusedError => {
  try {
    parseVaultFile(text);
  } catch (err) {
    if (err instanceof FileRefusedError) return err;
    throw err;
  }
  throw new Error('the file was accepted');
};

describe('whole-vault files', () => {
  it('reads back what it renders, with file references for the certificate material', () => {
    const text = renderVaultFile(STATE);
    expect(text).not.toMatch(/password:|PRIVATE KEY/);
    const file = parseVaultFile(text);
    expect(file.vault).toEqual({ id: 'tntsandbox1', name: 'Sandbox', environment: 'sandbox' });
    expect(file.credentials).toEqual([
      { id: '11111111-1111-4111-8111-111111111111', description: 'payments', status: 'active' },
    ]);
    expect(file.routes.map((r) => r.tags)).toEqual([{ name: 'backend' }]);
    expect(file.certificates).toEqual([
      {
        id: '33333333-3333-4333-8333-333333333333',
        proxy_type: 'outbound',
        credential_id: '11111111-1111-4111-8111-111111111111',
        description: 'network',
        hosts: ['api.network.example'],
        fingerprint_sha256: 'AB:CD',
        subject: 'CN=client',
        cert_file: 'certificates/33333333-3333-4333-8333-333333333333.pem',
        key_file: 'certificates/33333333-3333-4333-8333-333333333333.key',
      },
    ]);
  });

  it('refuses a password, a dangling credential_id and route filters, each at its line', () => {
    const text = renderVaultFile(STATE)
      .replace('    status: active', '    status: active\n    password: 5f0c')
      .replace(
        'credential_id: 11111111-1111-4111-8111-111111111111',
        'credential_id: 44444444-4444-4444-8444-444444444444',
      )
      .replace('      name: backend', '      name: backend\n    entries:\n      - operation: REDACT');
    const lineOf = (needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
    const err = refusal(text);
    expect(err.problems.map((p) => [p.line, p.item])).toEqual([
      [lineOf('password: 5f0c'), 'credential 1 (id 11111111-1111-4111-8111-111111111111)'],
      [lineOf('    entries:'), 'route 1 (id 22222222-2222-4222-8222-222222222222, name "backend")'],
      [lineOf('credential_id: 4444'), 'certificate 1 (id 33333333-3333-4333-8333-333333333333)'],
    ]);
    expect(refusal('kind: something-else\n').problems[0]?.message).toContain('kind: vaultgate.vault');
  });

  it('derives the same promoted route id every time, and a different one per vault', () => {
    const a = promotedRouteId('tntlive0001', '22222222-2222-4222-8222-222222222222');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(promotedRouteId('tntlive0001', '22222222-2222-4222-8222-222222222222')).toBe(a);
    expect(promotedRouteId('tntlive0002', '22222222-2222-4222-8222-222222222222')).not.toBe(a);
  });
});
