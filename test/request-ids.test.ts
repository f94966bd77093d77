/**
 * SPEC §2–§4 request ids: every answer carries `x-request-id` — the caller's when sane, else a new
 * one — the upstream receives the same id, error bodies carry it as `error.request_id`, and the log
 * line of the request names it. Real vaultgate, real sockets.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInbound, type InboundFixture } from './helpers/inbound-fixture.js';
import { waitFor } from './helpers/outbound-fixture.js';
import { startUpstream, type Upstream } from './helpers/inbound-upstream.js';
import { makeCa, makeLeaf, workDir } from './helpers/pki-fixtures.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
let f: InboundFixture;
let upstream: Upstream;
let plain: http.Server;
const logLines: string[] = [];
let vault: { id: string; host: string };

beforeAll(async () => {
  const root = makeCa({ cn: 'Request Id Upstream Root' });
  upstream = await startUpstream({
    server: makeLeaf({ issuer: root, cn: 'localhost', eku: ['serverAuth'], sans: ['DNS:localhost'] }),
  });
  // A plain-HTTP upstream for absolute-form outbound requests, answering with the id it received.
  plain = http.createServer((req, res) => {
    res.setHeader('x-request-id', 'the-upstream-own-id');
    res.end(JSON.stringify({ seen: req.headers['x-request-id'] ?? null }));
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  const caFile = join(workDir(), 'request-id-upstream-ca.pem');
  writeFileSync(caFile, root.certPem);
  f = await startInbound({ VAULTGATE_UPSTREAM_CA_FILE: caFile }, { logLines });
  vault = await f.vault('request ids');
  await f.route(vault.id, { destination_override_endpoint: upstream.url.origin });
});
afterAll(async () => {
  await f?.stop();
  await upstream?.close();
  plain?.close();
});

describe('request ids', () => {
  it('inbound: keeps a sane id end to end and in the log line; replaces one that is not', async () => {
    const sane = await f.request(vault.host, { headers: { 'x-request-id': 'trace:4bf92f3577b34da6' } });
    expect(sane.status).toBe(200);
    expect(sane.headers['x-request-id']).toBe('trace:4bf92f3577b34da6');
    expect(sane.json.headers['x-request-id']).toBe('trace:4bf92f3577b34da6');
    // The worker's log line travels to the control plane after the answer: wait for it to arrive.
    await waitFor(() => logLines.some((l) => l.includes('"request_id":"trace:4bf92f3577b34da6"')), 10_000);

    const insane = await f.request(vault.host, { headers: { 'x-request-id': 'a b "c"' } });
    const id = insane.headers['x-request-id'] as string;
    expect(id).toMatch(UUID);
    expect(insane.json.headers['x-request-id']).toBe(id);

    const none = await f.request(vault.host);
    expect(none.headers['x-request-id']).toMatch(UUID);
    expect(none.headers['x-request-id']).not.toBe(id);
  });

  it('inbound errors carry the id in the body and the header', async () => {
    const res = await f.request(`tntnothere1.sandbox.localhost`, { headers: { 'x-request-id': 'err-1' } });
    expect(res.status).toBe(404);
    expect(res.headers['x-request-id']).toBe('err-1');
    expect(res.json.error).toMatchObject({ code: 'vault_not_found', request_id: 'err-1' });
  });

  it('outbound absolute-form: the upstream gets the id, the client gets it back (not the upstream’s)', async () => {
    const cred = await f.api('POST', `/vaults/${vault.id}/credentials`, {});
    expect(cred.status, cred.text).toBe(201);
    const { username, password } = cred.json.data;
    const port = (plain.address() as AddressInfo).port;
    const answer = await new Promise<{ headers: http.IncomingHttpHeaders; body: string }>(
      (resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: f.t.vg.ports.outbound,
            path: `http://localhost:${port}/x`,
            headers: {
              'proxy-authorization': `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
              'x-request-id': 'outbound-7',
            },
          },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ headers: res.headers, body }));
          },
        );
        req.on('error', reject);
        req.end();
      },
    );
    expect(answer.headers['x-request-id']).toBe('outbound-7');
    expect(JSON.parse(answer.body)).toEqual({ seen: 'outbound-7' });
  });

  it('management API: every answer has an id, error bodies name it', async () => {
    const ok = await f.api('GET', '/vaults');
    expect(ok.headers.get('x-request-id')).toMatch(UUID);
    const res = await fetch(`${f.t.adminUrl}/api/v1/vaults/tntmissing01`, {
      headers: { authorization: `Bearer ${f.t.token}`, 'x-request-id': 'api-42' },
    });
    expect(res.headers.get('x-request-id')).toBe('api-42');
    expect(((await res.json()) as { error: { request_id: string } }).error.request_id).toBe('api-42');
  });
});
