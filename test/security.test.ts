import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cameOverHttps } from '../src/api/auth.js';
import { isRunawayRegex } from '../src/proxy/outbound/choice.js';
import { requestOver, tunnelConnector } from './helpers/abuse-clients.js';
import { inboundRequest } from './helpers/inbound-fixture.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

let t: TestVaultgate;
beforeAll(async () => {
  t = await startTestVaultgate({ VAULTGATE_UPSTREAM_CONNECT_TIMEOUT_MS: '2000' });
});
afterAll(() => t.stop());

describe('dashboard session cookie and headers', () => {
  const signIn = (headers: Record<string, string> = {}) =>
    fetch(`${t.adminUrl}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ token: t.token }),
    });

  it('is HttpOnly and SameSite=Strict, and Secure when the browser came over HTTPS', async () => {
    const plain = (await signIn()).headers.get('set-cookie') ?? '';
    expect(plain).toMatch(/^vaultgate_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    const viaTls = (await signIn({ 'x-forwarded-proto': 'https' })).headers.get('set-cookie') ?? '';
    expect(viaTls).toMatch(/; HttpOnly; SameSite=Strict; Max-Age=28800; Secure$/);
    const forwarded = (await signIn({ forwarded: 'for=1.2.3.4;proto=https' })).headers.get('set-cookie');
    expect(forwarded).toContain('; Secure');
    const out = await fetch(`${t.adminUrl}/api/v1/session`, {
      method: 'DELETE',
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(out.headers.get('set-cookie')).toBe(
      'vaultgate_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure',
    );
  });

  it('reads the proxy nearest the browser only', () => {
    expect(cameOverHttps({ 'x-forwarded-proto': 'https, http' })).toBe(true);
    expect(cameOverHttps({ 'x-forwarded-proto': 'http, https' })).toBe(false);
    expect(cameOverHttps({ 'x-forwarded-proto': 'HTTPS' })).toBe(true);
    expect(cameOverHttps({})).toBe(false);
    expect(cameOverHttps({ forwarded: 'proto=http, proto=https' })).toBe(false);
    expect(cameOverHttps({}, true)).toBe(true);
  });

  it('serves the dashboard with a strict CSP, no framing, no referrer, no sniffing', async () => {
    const res = await fetch(`${t.adminUrl}/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});

describe('route regular expressions cannot stall the proxy', () => {
  it('accepts nested repetition (matched in linear time) and refuses backreferences and lookarounds, while the inbound proxy keeps answering', async () => {
    const localCa = (await t.api('GET', '/local-ca')).text;
    const v = await t.api('POST', '/vaults', { name: 'regex', environment: 'sandbox' });
    const host = v.json.data.inbound_host as string;
    const id = v.json.data.id as string;
    const started = Date.now();
    const during = inboundRequest(t.vg.ports.inbound, localCa, host); // no route yet: 404, fast
    for (const regex of ['(a+)+$', '(a|a)*!', '([a-z-]+)*\\.example', '(.*a){20}']) {
      const res = await t.api('POST', `/vaults/${id}/routes`, {
        destination_override_endpoint: '*',
        host_endpoint: regex,
      });
      expect(res.status, `${regex}: ${res.text}`).toBe(201);
    }
    for (const regex of ['(a)\\1', '(?=a)a.*', '.*(?<!\\.evil)', '(?<n>a)\\k<n>']) {
      const res = await t.api('POST', `/vaults/${id}/routes`, {
        destination_override_endpoint: '*',
        host_endpoint: regex,
      });
      expect(res.status, regex).toBe(422);
      expect(res.json.error).toMatchObject({ code: 'invalid_field', field: 'host_endpoint' });
      expect(res.json.error.message).toMatch(/linear time/);
    }
    expect((await during).status).toBe(404);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('matches a regex that backtracks catastrophically on client-chosen hosts without any stall', async () => {
    const v = await t.api('POST', '/vaults', { name: 'regex-outbound', environment: 'sandbox' });
    const id = v.json.data.id as string;
    const regex = '(x+x+)+y';
    const route = await t.api('POST', `/vaults/${id}/routes`, {
      destination_override_endpoint: '*',
      host_endpoint: regex,
    });
    expect(route.status, route.text).toBe(201);
    const c = await t.api('POST', `/vaults/${id}/credentials`, {});
    const cred = { username: c.json.data.username as string, password: c.json.data.password as string };
    const ca = (await t.api('GET', `/vaults/${id}/outbound-ca`)).text;
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      // Distinct hosts, so no memo helps: each would cost the whole match budget again.
      const target = `${'x'.repeat(28 + i)}.invalid:443`;
      const started = Date.now();
      const reply = await requestOver(tunnelConnector({ port: t.vg.ports.outbound, cred, target, ca }), {
        host: target,
      });
      times.push(Date.now() - started);
      expect(reply.status).toBe(502); // .invalid never resolves
    }
    // The linear engine never times out, so the regex is never set aside; each host costs microseconds
    // (a backtracking match of 28 x's takes seconds).
    expect(isRunawayRegex(regex)).toBe(false);
    expect(Math.max(...times)).toBeLessThan(2_000);
  });
});
