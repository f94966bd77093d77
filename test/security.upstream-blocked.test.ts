import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadSettings } from '../src/config/settings.js';
import { UpstreamBlocker } from '../src/proxy/upstream/blocked-ranges.js';
import { errorCodeOf, plainConnector, requestOver, tunnelConnector } from './helpers/abuse-clients.js';
import { basic, rawConnect } from './helpers/outbound-client.js';
import { runToExit } from './helpers/process.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

/**
 * Issue 13 item 2: the outbound proxy reached vaultgate's own management API
 * (`curl --proxy http://USER:PASS@127.0.0.1:8080 http://127.0.0.1:9000/` returned the dashboard).
 * Now vaultgate's listeners, however spelled, and the ranges of VAULTGATE_BLOCKED_UPSTREAMS answer
 * 403 upstream_blocked, and an inbound route to them is refused at creation.
 */

describe('UpstreamBlocker (unit)', () => {
  const blocker = new UpstreamBlocker({
    linkLocal: true,
    ranges: ['10.0.0.0/8', 'fd00::/8'],
    ownPorts: [9000],
  });

  it("refuses any local spelling of vaultgate's own ports, and only those ports", () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '0.0.0.0', '::', '::ffff:127.0.0.1', '::ffff:7f00:1']) {
      expect(blocker.why(a, 9000)?.reason, a).toBe('listener');
      expect(blocker.why(a, 9001), a).toBeNull();
    }
  });

  it('refuses the configured ranges, and their IPv4-mapped spellings', () => {
    for (const a of ['10.1.2.3', '::ffff:10.1.2.3', 'fd12::1']) {
      expect(blocker.why(a, 443)?.reason, a).toBe('range');
    }
    expect(blocker.why('11.0.0.1', 443)).toBeNull();
    expect(blocker.why('fe80::1', 443)?.reason).toBe('link_local');
  });

  it('checks names after resolution (localhost resolves to a blocked address)', async () => {
    const refused = await blocker.check('localhost', 9000);
    expect(refused?.reason).toBe('listener');
    expect(await blocker.check('localhost', 9001)).toBeNull();
    expect(await blocker.check('[::ffff:10.0.0.1]', 80)).not.toBeNull();
  });
});

describe('VAULTGATE_BLOCKED_UPSTREAMS (setting)', () => {
  it('takes comma-separated CIDR ranges, normalised, and refuses anything else with a sentence', async () => {
    expect(loadSettings({}).blockedUpstreams).toEqual([]);
    expect(
      loadSettings({ VAULTGATE_BLOCKED_UPSTREAMS: ' 10.0.0.0/8, FD00::/8 ,192.0.2.1' }).blockedUpstreams,
    ).toEqual(['10.0.0.0/8', 'fd00::/8', '192.0.2.1/32']);
    for (const bad of ['10.0.0.0/33', 'intranet', '10.0.0.0/8/1', 'fd00::/129', '10.0.0.0/x']) {
      expect(() => loadSettings({ VAULTGATE_BLOCKED_UPSTREAMS: bad }), bad).toThrow(ConfigError);
    }
    const { code, output } = await runToExit({ VAULTGATE_BLOCKED_UPSTREAMS: '10.0.0.0/8,10.0.0.0/40' });
    expect(code, output).toBe(2);
    expect(output).toMatch(
      /VAULTGATE_BLOCKED_UPSTREAMS must be comma-separated CIDR ranges.*"10\.0\.0\.0\/40"/,
    );
  });
});

describe("vaultgate's own listeners and blocked ranges are never upstreams (end to end)", () => {
  let t: TestVaultgate;
  let cred: { username: string; password: string };
  let vaultId: string;
  let outboundCa: string;
  let allowed: http.Server;
  let blockedServer: http.Server;
  let allowedPort: number;
  let blockedPort: number;

  const listen = async (host: string): Promise<[http.Server, number]> => {
    const server = http.createServer((_req, res) => res.end('upstream'));
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return [server, (server.address() as AddressInfo).port];
  };

  beforeAll(async () => {
    [allowed, allowedPort] = await listen('127.0.0.1');
    [blockedServer, blockedPort] = await listen('127.0.0.2');
    t = await startTestVaultgate({ VAULTGATE_BLOCKED_UPSTREAMS: '127.0.0.2/32,fd00::/8' });
    const v = await t.api('POST', '/vaults', { name: 'ssrf', environment: 'sandbox' });
    vaultId = v.json.data.id as string;
    outboundCa = (await t.api('GET', `/vaults/${vaultId}/outbound-ca`)).text;
    const c = await t.api('POST', `/vaults/${vaultId}/credentials`, {});
    cred = { username: c.json.data.username as string, password: c.json.data.password as string };
  });
  afterAll(async () => {
    await t.stop();
    allowed.close();
    blockedServer.close();
  });

  function absolute(url: string, headers: Record<string, string> = {}) {
    return requestOver(plainConnector(t.vg.ports.outbound), {
      path: url,
      host: new URL(url).host,
      headers: { 'proxy-authorization': basic(cred), ...headers },
    });
  }

  function expectBlocked(
    reply: { status: number; body: string; headers: http.IncomingHttpHeaders | Record<string, string> },
    what: string,
  ): void {
    expect(reply.status, `${what}: ${reply.body}`).toBe(403);
    expect(errorCodeOf(reply as { headers: http.IncomingHttpHeaders }), what).toBe('upstream_blocked');
    // Never the dashboard, never the API's answer.
    expect(reply.body, what).not.toMatch(/<html|"data"/i);
  }

  it('absolute-form: the admin port (with the admin token even) and the proxy ports, however spelled, get 403', async () => {
    const { admin, inbound, outbound, outbound_tls } = t.vg.ports;
    for (const host of [
      '127.0.0.1',
      '[::ffff:127.0.0.1]',
      '[::ffff:7f00:1]',
      '0.0.0.0',
      'localhost',
      '127.0.0.2',
      '[::1]',
      '[::]',
    ]) {
      const reply = await absolute(`http://${host}:${admin}/api/v1/vaults`, {
        authorization: `Bearer ${t.token}`,
      });
      expectBlocked(reply, `${host}:${admin}`);
    }
    expectBlocked(await absolute(`http://127.0.0.1:${admin}/`), 'dashboard');
    for (const port of [inbound, outbound, outbound_tls]) {
      expectBlocked(await absolute(`http://127.0.0.1:${port}/`), `port ${port}`);
    }
    const message = (
      JSON.parse((await absolute(`http://localhost:${admin}/`)).body) as { error: { message: string } }
    ).error.message;
    expect(message).toContain("vaultgate's own listener");
  });

  it('CONNECT: IP literals are refused before the tunnel, names inside it, both with 403', async () => {
    const { admin } = t.vg.ports;
    for (const target of [
      `127.0.0.1:${admin}`,
      `[::ffff:127.0.0.1]:${admin}`,
      `0.0.0.0:${admin}`,
      `[::]:${admin}`,
    ]) {
      const answer = await rawConnect(t.vg.ports.outbound, target, { 'Proxy-Authorization': basic(cred) });
      answer.socket.destroy();
      expectBlocked(answer, target);
    }
    const inside = await requestOver(
      tunnelConnector({ port: t.vg.ports.outbound, cred, target: `localhost:${admin}`, ca: outboundCa }),
      { path: '/api/v1/vaults', host: `localhost:${admin}`, headers: { authorization: `Bearer ${t.token}` } },
    );
    expectBlocked(inside, `CONNECT localhost:${admin}`);
  });

  it('VAULTGATE_BLOCKED_UPSTREAMS ranges get 403 naming the range; other local upstreams still work', async () => {
    const blocked = await absolute(`http://127.0.0.2:${blockedPort}/`);
    expectBlocked(blocked, '127.0.0.2');
    expect(blocked.body).toContain('127.0.0.2/32');
    const fine = await absolute(`http://127.0.0.1:${allowedPort}/`);
    expect(fine.status).toBe(200);
    expect(fine.body).toBe('upstream');
  });

  it('an inbound route to a listener or a blocked range is refused at creation with 422 invalid_field', async () => {
    const { admin, inbound, outbound, outbound_tls } = t.vg.ports;
    for (const destination of [
      `http://127.0.0.1:${admin}`,
      `https://localhost:${inbound}`,
      `http://[::ffff:127.0.0.1]:${outbound}`,
      `https://0.0.0.0:${outbound_tls}`,
      `http://127.0.0.2:${blockedPort}`,
    ]) {
      const route = await t.api('POST', `/vaults/${vaultId}/routes`, {
        destination_override_endpoint: destination,
      });
      expect(route.status, `${destination}: ${route.text}`).toBe(422);
      expect(route.json.error.code).toBe('invalid_field');
      expect(route.json.error.field ?? 'destination_override_endpoint').toBe('destination_override_endpoint');
    }
    const ok = await t.api('POST', `/vaults/${vaultId}/routes`, {
      destination_override_endpoint: `http://127.0.0.1:${allowedPort}`,
    });
    expect(ok.status, ok.text).toBe(201);
  });
});
