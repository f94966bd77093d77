/**
 * Shared set-up of the outbound test files: a throwaway upstream PKI, an HTTPS upstream that demands a
 * client certificate from `clientRoot` and reports the one it got, the proxy harness and one vault.
 */
import http from 'node:http';
import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll } from 'vitest';
import { basic, type Cred } from './outbound-client.js';
import { startOutboundHarness, type OutboundHarness } from './outbound-harness.js';
import { issue, startTlsUpstream, type Issued, type PeerReport, type TlsUpstream } from './tls-upstream.js';

export interface OutboundFixture {
  h: OutboundHarness;
  /** Signs the upstreams' server certificates (trusted by the proxy as VAULTGATE_UPSTREAM_CA_FILE). */
  root: Issued;
  /** Signs client certificates; the upstream accepts only these. */
  clientRoot: Issued;
  upstream: TlsUpstream;
  vault: { id: string; caPem: string; caFile: string };
}

export type Reported = PeerReport & { error?: { code: string; message: string } };

/** Registers beforeAll/afterAll; the returned object is filled in before the first test runs. */
export function useOutboundFixture(): OutboundFixture {
  const f = {} as OutboundFixture;
  beforeAll(async () => {
    f.root = await issue({ cn: 'upstream root', ca: true });
    f.clientRoot = await issue({ cn: 'client root', ca: true });
    const server = await issue({
      cn: 'localhost',
      issuer: f.root,
      usage: 'server',
      sans: ['localhost', '127.0.0.1'],
    });
    f.upstream = await startTlsUpstream({ server, clientCa: [f.clientRoot.certPem] });
    f.h = await startOutboundHarness({ upstreamCaPem: f.root.certPem });
    f.vault = await f.h.vault();
  });
  afterAll(async () => {
    await f.h?.stop();
    await f.upstream?.close();
  });
  return f;
}

/** Uploads `cert` (with the client root as its chain) tied to the credential, through the API. */
export async function upload(
  f: OutboundFixture,
  cred: { id: string },
  cert: Issued,
  hosts?: string[],
): Promise<string> {
  const res = await f.h.t.api('POST', `/vaults/${f.vault.id}/certificates`, {
    proxy_type: 'outbound',
    credential_id: cred.id,
    certificate: cert.certPem + f.clientRoot.certPem,
    private_key: cert.keyPem,
    ...(hosts ? { hosts } : {}),
  });
  if (res.status !== 201) throw new Error(`upload: ${res.text}`);
  return res.json.data.id as string;
}

/** One GET through the proxy with undici's ProxyAgent, trusting the vault's outbound CA. */
export async function undiciGet(
  f: OutboundFixture,
  cred: Cred,
  url: string,
): Promise<{ status: number; headers: Record<string, unknown>; json: Reported }> {
  const dispatcher = new ProxyAgent({
    uri: `http://127.0.0.1:${f.h.port}`,
    token: basic(cred),
    requestTls: { ca: f.vault.caPem },
  });
  try {
    const res = await request(url, { dispatcher });
    return { status: res.statusCode, headers: res.headers, json: (await res.body.json()) as Reported };
  } finally {
    await dispatcher.close();
  }
}

/** A plain request to the proxy port (absolute-form when `url` is absolute). */
export function fetchVia(
  port: number,
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: url, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

export async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
