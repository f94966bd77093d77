/**
 * The control plane and its data-plane worker processes (SPEC §1a), with real child processes: the
 * workers run the compiled dist/ entry and accept on the ports the control plane bound.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundRequest } from './helpers/inbound-fixture.js';
import { startUpstream, type Upstream } from './helpers/inbound-upstream.js';
import { makeCa, makeLeaf, type Issued } from './helpers/pki-fixtures.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

let serverRoot: Issued;
let upstream: Upstream;
let t: TestVaultgate;
let localCa: string;
const logLines: string[] = [];

beforeAll(async () => {
  serverRoot = makeCa({ cn: 'Workers Upstream Root' });
  upstream = await startUpstream({
    server: makeLeaf({
      issuer: serverRoot,
      cn: 'localhost',
      eku: ['serverAuth'],
      sans: ['DNS:localhost', 'IP:127.0.0.1'],
    }),
  });
  t = await startTestVaultgate({ VAULTGATE_WORKERS: '2' }, { logLines });
  localCa = (await t.api('GET', '/local-ca')).text;
});
afterAll(async () => {
  await t?.stop();
  await upstream?.close();
});

async function vault(): Promise<{ id: string; host: string }> {
  const res = await t.api('POST', '/vaults', { name: 'workers', environment: 'sandbox' });
  expect(res.status, res.text).toBe(201);
  return { id: res.json.data.id, host: res.json.data.inbound_host };
}

function route(vaultId: string, prefix: string): Promise<{ status: number; id: string }> {
  return t
    .api('POST', `/vaults/${vaultId}/routes`, {
      destination_override_endpoint: `${upstream.url.origin}/${prefix}`,
      host_endpoint: '(.*)',
      upstream_tls: { ca_pem: serverRoot.certPem },
    })
    .then((r) => ({ status: r.status, id: r.json?.data?.id as string }));
}

/** `n` requests, each on a fresh connection (so the kernel may hand each to any worker): the paths the upstream saw. */
async function paths(host: string, n: number): Promise<string[]> {
  const answers = await Promise.all(
    Array.from({ length: n }, () => inboundRequest(t.vg.ports.inbound, localCa, host, { path: '/p' })),
  );
  return answers.map((a) => (a.status === 200 ? (a.json as { url: string }).url : `status ${a.status}`));
}

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const serving = (): number => t.vg.workers.list().filter((w) => w.state === 'serving').length;

describe('changes apply on every worker before the API answers', () => {
  it('a new route and a route change are followed by every request on a fresh connection', async () => {
    expect(t.vg.workers.list().map((w) => w.id)).toEqual([1, 2]);
    const v = await vault();
    const created = await route(v.id, 'first');
    expect(created.status).toBe(201);
    // The ack protocol: each worker confirmed at least the control plane's version.
    for (const w of t.vg.workers.list())
      expect(w.version).toBeGreaterThanOrEqual(t.vg.snapshot.current.version);
    expect(new Set(await paths(v.host, 40))).toEqual(new Set(['/first/p']));

    const put = await t.api('PUT', `/vaults/${v.id}/routes/${created.id}`, {
      destination_override_endpoint: `${upstream.url.origin}/second`,
      host_endpoint: '(.*)',
      upstream_tls: { ca_pem: serverRoot.certPem },
    });
    expect(put.status, put.text).toBe(200);
    expect(new Set(await paths(v.host, 40))).toEqual(new Set(['/second/p']));

    // Both workers served some of those (their forwarded log lines say which).
    const workers = new Set(
      logLines
        .map((l) => JSON.parse(l) as { msg: string; worker?: number; vault_id?: string })
        .filter((l) => l.msg === 'inbound request' && l.vault_id === v.id)
        .map((l) => l.worker),
    );
    expect([...workers].every((w) => w === 1 || w === 2)).toBe(true);
  });
});

describe('worker failures', () => {
  it('a worker killed with SIGKILL is replaced; the API and the traffic carry on', async () => {
    const v = await vault();
    expect((await route(v.id, 'kill')).status).toBe(201);
    const before = t.vg.workers.list().find((w) => w.id === 1);
    expect(before?.pid).toBeDefined();
    const restarts = t.vg.workers.restarts;
    process.kill(before?.pid as number, 'SIGKILL');
    // The other worker keeps serving while slot 1 is empty; the API never stops answering.
    expect(new Set(await paths(v.host, 10))).toEqual(new Set(['/kill/p']));
    expect((await t.api('GET', '/healthz')).status).toBe(200);
    await until(() => {
      const w = t.vg.workers.list().find((x) => x.id === 1);
      return w !== undefined && w.pid !== before?.pid && w.state === 'serving';
    }, 'the replacement of worker 1');
    expect(t.vg.workers.restarts).toBe(restarts + 1);
    expect(new Set(await paths(v.host, 20))).toEqual(new Set(['/kill/p']));
    expect(logLines.some((l) => l.includes('a data-plane worker exited; replacing it'))).toBe(true);
  });

  it('a worker that does not confirm a change is replaced within about 5 s and the call still succeeds', async () => {
    const v = await vault();
    const stuck = t.vg.workers.list().find((w) => w.id === 2);
    t.vg.workers.ignoreRefresh(2);
    const started = Date.now();
    const created = await route(v.id, 'after-stall');
    const took = Date.now() - started;
    expect(created.status).toBe(201);
    expect(took).toBeGreaterThanOrEqual(4_500);
    expect(took).toBeLessThan(15_000);
    expect(logLines.some((l) => l.includes('did not confirm configuration version'))).toBe(true);
    // The stuck worker no longer accepts: every new connection sees the change.
    expect(new Set(await paths(v.host, 40))).toEqual(new Set(['/after-stall/p']));
    await until(() => {
      const w = t.vg.workers.list().find((x) => x.id === 2);
      return w !== undefined && w.pid !== stuck?.pid && w.state === 'serving';
    }, 'the replacement of worker 2');
    await until(() => serving() === 2, 'two serving workers');
  });
});

describe('metrics', () => {
  it('/metrics sums the counters of every worker; memory is per worker', async () => {
    await until(() => serving() === 2, 'two serving workers');
    const host = `tnt${Date.now().toString(36).slice(-8)}.sandbox.localhost`;
    const read = async (): Promise<{ text: string; unknown: number }> => {
      const res = await fetch(`${t.adminUrl}/metrics`, { headers: { authorization: `Bearer ${t.token}` } });
      const text = await res.text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('vaultgate_inbound_requests_total{outcome="vault_not_found"}'));
      return { text, unknown: line === undefined ? 0 : Number(line.split(' ').at(-1)) };
    };
    const before = await read();
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => inboundRequest(t.vg.ports.inbound, localCa, host)),
    );
    expect(answers.every((a) => a.status === 404)).toBe(true);
    const after = await read();
    expect(after.unknown - before.unknown).toBe(30);
    for (const worker of ['control', '1', '2'])
      expect(after.text).toMatch(
        new RegExp(`^vaultgate_process_resident_memory_bytes\\{worker="${worker}"\\} \\d+$`, 'm'),
      );
    expect(after.text).toMatch(/^vaultgate_workers 2$/m);
    // One family per name, however many processes report it.
    expect(
      after.text.split('\n').filter((l) => l === '# TYPE vaultgate_inbound_requests_total counter'),
    ).toHaveLength(1);
  });
});

describe('per-client connection cap', () => {
  it('refuses connections from an address over VAULTGATE_MAX_CONNECTIONS_PER_CLIENT and says so once', async () => {
    const lines: string[] = [];
    const own = await startTestVaultgate(
      { VAULTGATE_WORKERS: '1', VAULTGATE_MAX_CONNECTIONS_PER_CLIENT: '3' },
      { logLines: lines },
    );
    const open: net.Socket[] = [];
    try {
      const connect = (): Promise<net.Socket> =>
        new Promise((resolve, reject) => {
          const s = net.connect(own.vg.ports.outbound, '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        });
      // A request each, answered: the worker has accepted and counted every one of them.
      for (let i = 0; i < 3; i++) {
        const s = await connect();
        open.push(s);
        const answered = new Promise((r) => s.once('data', r));
        s.write('GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n');
        await answered;
      }
      const fourth = await connect();
      const closedUnanswered = await new Promise<boolean>((resolve) => {
        let data = false;
        fourth.on('data', () => (data = true));
        fourth.on('error', () => undefined);
        fourth.once('close', () => resolve(!data));
        fourth.write('GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n');
      });
      expect(closedUnanswered).toBe(true);
      await until(
        () => lines.some((l) => l.includes('VAULTGATE_MAX_CONNECTIONS_PER_CLIENT')),
        'the warning',
        5_000,
      );
      // One closes: the address has room again.
      const freed = open.pop() as net.Socket;
      await new Promise((r) => {
        freed.once('close', r);
        freed.destroy();
      });
      await new Promise((r) => setTimeout(r, 100)); // the worker sees the close
      const again = await connect();
      open.push(again);
      const answer = await new Promise<string>((r) => {
        again.once('data', (d: Buffer) => r(d.toString()));
        again.write('GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n');
      });
      expect(answer).toMatch(/^HTTP\/1\.1 407/);
    } finally {
      for (const s of open) s.destroy();
      await own.stop();
    }
  });
});
