/** Records for store tests: valid, distinct, and easy to tell apart in a failure message. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore } from '../../src/store/open.js';
import type {
  HostnameRecord,
  AuditEventRecord,
  CertificateRecord,
  CredentialRecord,
  RouteRecord,
  Store,
  VaultRecord,
} from '../../src/store/types.js';
import { createTestSchema } from './postgres.js';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');

/** A timestamp `n` seconds after a fixed instant, so ordering by time is under the test's control. */
export function at(n: number): string {
  return new Date(T0 + n * 1000).toISOString();
}

export function vault(id: string, n = 0): VaultRecord {
  return {
    id,
    name: `Vault ${id}`,
    environment: 'sandbox',
    outbound_ca_cert_pem: `-----BEGIN CERTIFICATE-----\n${id}\n-----END CERTIFICATE-----\n`,
    outbound_ca_key_sealed: `sealed:${id}`,
    inbound_client_auth: null,
    created_at: at(n),
  };
}

export function credential(vaultId: string, id: string, username = `user-${id}`, n = 0): CredentialRecord {
  return {
    id,
    vault_id: vaultId,
    username,
    password_hash: `hash-${id}`,
    status: 'active',
    description: null,
    created_at: at(n),
    updated_at: at(n),
  };
}

export function route(vaultId: string, id: string, n = 0): Omit<RouteRecord, 'seq'> {
  return {
    id,
    vault_id: vaultId,
    type: 'inbound',
    destination_override_endpoint: `https://${id}.upstream.test`,
    host_endpoint: `${vaultId}\\.sandbox\\.localhost`,
    port: 443,
    protocol: 'http',
    source_endpoint: '*',
    tags: { name: `route ${id}`, ünïcode: 'ça va' },
    upstream_tls: { verify: false, servername: 'upstream.test', ca_pem: '-----BEGIN CERTIFICATE-----\nx\n' },
    created_at: at(n),
    updated_at: at(n),
  };
}

export function hostname(vaultId: string, id: string, name: string, n = 0): HostnameRecord {
  const {
    proxy_type: _p,
    credential_id: _c,
    route_id: _r,
    description: _d,
    hosts: _h,
    ...rest
  } = certificate(vaultId, id, {}, n);
  return {
    ...rest,
    hostname: name,
    client_auth: { mode: 'required', ca_pem: '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n' },
    updated_at: at(n),
  };
}

export function certificate(
  vaultId: string,
  id: string,
  tie: { credential_id?: string; route_id?: string } = {},
  n = 0,
): CertificateRecord {
  return {
    id,
    vault_id: vaultId,
    proxy_type: tie.route_id ? 'inbound' : 'outbound',
    credential_id: tie.credential_id ?? null,
    route_id: tie.route_id ?? null,
    description: n % 2 === 0 ? null : `certificate ${id}`,
    hosts: ['api.visa.test', '*.mastercard.test'],
    certificate_pem: `-----BEGIN CERTIFICATE-----\n${id}\n-----END CERTIFICATE-----\n`,
    private_key_sealed: `sealed:${id}`,
    warnings: ['expires_soon'],
    subject: `CN=${id}`,
    issuer: 'CN=Test CA',
    serial_number: '0a1b2c',
    not_before: at(-86_400),
    not_after: at(86_400 * 30),
    fingerprint_sha256: 'AB:CD',
    key_type: 'ec',
    key_size: null,
    curve: 'P-256',
    sans: ['DNS:api.visa.test'],
    chain: [{ subject: 'CN=Test CA', issuer: 'CN=Test Root', not_after: at(86_400 * 365) }],
    created_at: at(n),
    updated_at: at(n),
  };
}

export function auditEvent(id: string, vaultId: string | null, n: number): AuditEventRecord {
  return {
    id,
    at: at(n),
    actor: 'admin',
    action: 'vault.created',
    vault_id: vaultId,
    target_id: vaultId,
    client_address: null,
  };
}

export interface StoreBackend {
  name: 'sqlite' | 'postgres';
  /** Prepares an empty database; open() may be called several times on it (reopen tests). */
  prepare(): Promise<{ open(): Promise<Store>; dispose(): Promise<void> }>;
}

/** Every store backend, for suites that must hold on each (see test/store.contract.test.ts). */
export const STORE_BACKENDS: StoreBackend[] = [
  {
    name: 'sqlite',
    async prepare() {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'vg-store-'));
      return {
        open: () => openStore({ dataDir }),
        dispose: () => rm(dataDir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'postgres',
    async prepare() {
      const { url, schema, drop } = await createTestSchema();
      return { open: () => openStore({ dataDir: '/nonexistent', databaseUrl: url, schema }), dispose: drop };
    },
  },
];
