/**
 * Drives a whole vaultgate the way a user does for the inbound proxy: the management API creates a
 * vault, routes and certificates; callers then speak HTTPS to `<vault_id>.sandbox.localhost` on the
 * inbound port, verifying the listener certificate against the local CA from `GET /local-ca`.
 */
import https from 'node:https';
import type { Readable } from 'node:stream';
import { expect } from 'vitest';
import { chainPem, type Issued } from './pki-fixtures.js';
import type { UpstreamReport } from './inbound-upstream.js';
import { startTestVaultgate, type ApiResult, type TestVaultgate } from './vaultgate.js';

export type Api = (method: string, path: string, body?: unknown) => Promise<ApiResult>;

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The upstream's report (200) or vaultgate's error body (4xx/5xx); undefined if not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON answers
  json: any;
}

export interface InboundRequest {
  method?: string;
  path?: string;
  /** Defaults to the vault's inbound host and the inbound port. */
  host?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer | Readable;
}

/** One HTTPS request to the inbound port on a fresh connection, verifying vaultgate's certificate. */
export function inboundRequest(
  port: number,
  localCa: string,
  host: string,
  opts: InboundRequest = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        servername: host,
        ca: localCa,
        rejectUnauthorized: true,
        agent: false,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: { host: `${host}:${port}`, ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          let json: unknown;
          try {
            json = JSON.parse(body.toString('utf8'));
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
      },
    );
    req.on('error', reject);
    const body = opts.body;
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

export interface InboundFixture {
  t: TestVaultgate;
  api: Api;
  localCa: string;
  port: number;
  /** Creates a vault and returns its id and inbound host. */
  vault(name?: string): Promise<{ id: string; host: string }>;
  /** POSTs an inbound route and returns its id. */
  route(vaultId: string, body: Record<string, unknown>): Promise<string>;
  /** Uploads a client certificate for a route; `withChain: false` sends the leaf alone. */
  upload(vaultId: string, routeId: string, leaf: Issued, withChain?: boolean): Promise<{ id: string }>;
  remove(vaultId: string, certificateId: string): Promise<void>;
  request(host: string, opts?: InboundRequest): Promise<Answer>;
  /** A request that must reach the upstream: asserts 200 and returns the upstream's report. */
  report(host: string, opts?: InboundRequest): Promise<UpstreamReport>;
  stop(): Promise<void>;
}

export async function startInbound(
  env: Record<string, string> = {},
  options: { logLines?: string[] } = {},
): Promise<InboundFixture> {
  const t = await startTestVaultgate(env, options);
  const api: Api = (method, path, body) => t.api(method, path, body);
  const ca = await api('GET', '/local-ca');
  expect(ca.status).toBe(200);
  const port = t.vg.ports.inbound;
  const request = (host: string, opts?: InboundRequest): Promise<Answer> =>
    inboundRequest(port, ca.text, host, opts);
  return {
    t,
    api,
    localCa: ca.text,
    port,
    async vault(name = 'inbound tests') {
      const res = await api('POST', '/vaults', { name, environment: 'sandbox' });
      expect(res.status, res.text).toBe(201);
      return { id: res.json.data.id as string, host: res.json.data.inbound_host as string };
    },
    async route(vaultId, body) {
      const res = await api('POST', `/vaults/${vaultId}/routes`, body);
      expect(res.status, res.text).toBe(201);
      return res.json.data.id as string;
    },
    async upload(vaultId, routeId, leaf, withChain = true) {
      const res = await api('POST', `/vaults/${vaultId}/certificates`, {
        proxy_type: 'inbound',
        route_id: routeId,
        certificate: withChain ? chainPem(leaf) : leaf.certPem,
        private_key: leaf.keyPem,
      });
      expect(res.status, res.text).toBe(201);
      return { id: res.json.data.id as string };
    },
    async remove(vaultId, certificateId) {
      const res = await api('DELETE', `/vaults/${vaultId}/certificates/${certificateId}`);
      expect(res.status, res.text).toBe(204);
    },
    request,
    async report(host, opts) {
      const res = await request(host, opts);
      expect(res.status, res.body.toString()).toBe(200);
      return res.json as UpstreamReport;
    },
    stop: () => t.stop(),
  };
}
