import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

let t: TestVaultgate;

beforeAll(async () => {
  t = await startTestVaultgate({ VAULTGATE_AUTH_FAILURES_PER_MINUTE: '5' });
});
afterAll(async () => {
  await t.stop();
});

/** A GET from a chosen loopback address, so two "clients" can be told apart. */
function get(
  from: string,
  token: string,
): Promise<{ status: number; retryAfter: string | undefined; code: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: t.vg.ports.admin,
        path: '/api/v1/vaults',
        localAddress: from,
        headers: { authorization: `Bearer ${token}` },
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'],
            code: (JSON.parse(body) as { error?: { code: string } }).error?.code ?? '',
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('authentication throttling', () => {
  it('answers 429 with Retry-After to wrong tokens over the limit, while the right token from that address gets in', async () => {
    for (let i = 0; i < 5; i++) expect((await get('127.0.0.2', 'wrong-token')).status).toBe(401);
    const blocked = await get('127.0.0.2', 'wrong-token');
    expect(blocked.status).toBe(429);
    expect(blocked.code).toBe('too_many_requests');
    expect(Number(blocked.retryAfter)).toBeGreaterThan(0);
    expect(Number(blocked.retryAfter)).toBeLessThanOrEqual(60);
    // Issue 13: the right token is never refused because of others' failures from its address.
    expect((await get('127.0.0.2', t.token)).status).toBe(200);
    expect((await get('127.0.0.2', 'wrong-token')).status).toBe(429);
    expect((await get('127.0.0.3', t.token)).status).toBe(200);
    expect((await get('127.0.0.3', 'wrong-token')).status).toBe(401);
    // Health probes are never throttled.
    expect((await fetch(`${t.adminUrl}/healthz`)).status).toBe(200);
  });

  it('counts dashboard sign-ins with the admin token: 429 over the limit, the right token still signs in', async () => {
    const signIn = (token: string) =>
      fetch(`${t.adminUrl}/api/v1/session`, { method: 'POST', body: JSON.stringify({ token }) });
    for (let i = 0; i < 5; i++) expect((await signIn('x')).status).toBe(401);
    const refused = await signIn('x');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await signIn(t.token)).status).toBe(201);
  });
});
