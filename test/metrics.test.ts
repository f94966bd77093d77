/**
 * GET /metrics of a real vaultgate with two data-plane workers, after real requests through both
 * proxies: the SPEC §2 families with their labels and values, merged over the workers (per-process
 * families labelled by worker), a text `promtool check metrics` accepts, and the Grafana dashboard
 * shipped in docs/ops/ asking only for metrics that exist.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic } from './helpers/outbound-client.js';
import { fetchVia } from './helpers/outbound-fixture.js';
import { startInbound, type InboundFixture } from './helpers/inbound-fixture.js';
import { startUpstream, type Upstream } from './helpers/inbound-upstream.js';
import { chainPem, makeCa, makeLeaf, type Issued } from './helpers/pki-fixtures.js';
import { parseScrape, promtool, type Scrape } from './helpers/prometheus-text.js';

let f: InboundFixture;
let upstream: Upstream;
let clientRoot: Issued;
let scrape: Scrape;
const ids = {} as Record<'good' | 'none' | 'expired' | 'outbound', string> & {
  inboundCert: string;
  outboundCert: string;
  expiredCert: string;
};
const notAfter = {} as Record<'inbound' | 'outbound', number>;

async function readMetrics(): Promise<Scrape> {
  const res = await fetch(`${f.t.adminUrl}/metrics`, { headers: { authorization: `Bearer ${f.t.token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseScrape(await res.text());
}

beforeAll(async () => {
  const serverRoot = makeCa({ cn: 'Metrics Upstream Root' });
  clientRoot = makeCa({ cn: 'Metrics Client Root' });
  const serverLeaf = makeLeaf({
    issuer: serverRoot,
    cn: 'localhost',
    eku: ['serverAuth'],
    sans: ['DNS:localhost', 'IP:127.0.0.1'],
  });
  upstream = await startUpstream({ server: serverLeaf, clientCa: [clientRoot.certPem] });
  const caFile = join(mkdtempSync(join(tmpdir(), 'vaultgate-metrics-')), 'upstream-ca.pem');
  writeFileSync(caFile, serverRoot.certPem);
  f = await startInbound({ VAULTGATE_WORKERS: '2', VAULTGATE_UPSTREAM_CA_FILE: caFile });
  const route = {
    destination_override_endpoint: upstream.url.origin,
    upstream_tls: { ca_pem: serverRoot.certPem },
  };

  // Inbound: a vault whose route presents a good certificate, one with none, one with one not valid yet.
  const good = await f.vault('metrics good');
  ids.good = good.id;
  const inboundLeaf = makeLeaf({ issuer: clientRoot, cn: 'metrics-inbound' });
  ids.inboundCert = (await f.upload(good.id, await f.route(good.id, route), inboundLeaf)).id;
  notAfter.inbound = Math.floor(Date.parse(new X509Certificate(inboundLeaf.certPem).validTo) / 1000);
  const none = await f.vault('metrics none');
  ids.none = none.id;
  await f.route(none.id, route);
  const expired = await f.vault('metrics expired');
  ids.expired = expired.id;
  // Not valid before tomorrow (an expired one cannot be uploaded): never presented today.
  const early = makeLeaf({
    issuer: clientRoot,
    cn: 'metrics-not-yet-valid',
    notBefore: new Date(Date.now() + 86_400_000),
    notAfter: new Date(Date.now() + 30 * 86_400_000),
  });
  ids.expiredCert = (await f.upload(expired.id, await f.route(expired.id, route), early)).id;

  for (let i = 0; i < 6; i++) expect((await f.request(good.host, { path: `/ok/${i}` })).status).toBe(200);
  for (let i = 0; i < 2; i++) {
    const res = await f.request(none.host);
    expect(res.json?.error?.code).toBe('upstream_client_certificate_rejected');
    expect((await f.request(expired.host)).json?.error?.code).toBe('upstream_client_certificate_rejected');
  }
  const unknown = `tnt${Date.now().toString(36).slice(-8)}.sandbox.localhost`;
  for (let i = 0; i < 3; i++) expect((await f.request(unknown)).status).toBe(404);

  // Outbound: one request through an intercepted tunnel, presenting the credential's certificate.
  const vault = await f.vault('metrics outbound');
  ids.outbound = vault.id;
  const cred = (await f.api('POST', `/vaults/${vault.id}/credentials`, {})).json.data as {
    id: string;
    username: string;
    password: string;
  };
  const outboundLeaf = makeLeaf({ issuer: clientRoot, cn: 'metrics-outbound' });
  const uploaded = await f.api('POST', `/vaults/${vault.id}/certificates`, {
    proxy_type: 'outbound',
    credential_id: cred.id,
    certificate: chainPem(outboundLeaf),
    private_key: outboundLeaf.keyPem,
  });
  expect(uploaded.status, uploaded.text).toBe(201);
  ids.outboundCert = uploaded.json.data.id as string;
  notAfter.outbound = Math.floor(Date.parse(new X509Certificate(outboundLeaf.certPem).validTo) / 1000);
  const outboundCa = (await f.api('GET', `/vaults/${vault.id}/outbound-ca`)).text;
  const dispatcher = new ProxyAgent({
    uri: `http://127.0.0.1:${f.t.vg.ports.outbound}`,
    token: basic(cred),
    requestTls: { ca: outboundCa },
  });
  try {
    const res = await request(`https://localhost:${upstream.port}/out`, { dispatcher });
    const report = (await res.body.json()) as { clientCn: string | null };
    expect(res.statusCode).toBe(200);
    expect(report.clientCn).toBe('metrics-outbound');
  } finally {
    await dispatcher.close();
  }
  // Without credentials: refused before any vault is known.
  const refused = await fetchVia(f.t.vg.ports.outbound, `http://localhost:${upstream.port}/x`, {});
  expect(refused.status).toBe(407);

  scrape = await readMetrics();
}, 60_000);

afterAll(async () => {
  await f?.stop();
  await upstream?.close();
});

describe('GET /metrics with two workers', () => {
  it('counts proxied requests by direction, vault, status and code, summed over the workers', () => {
    const requests = (labels: Record<string, string>): number =>
      scrape.sum('vaultgate_proxy_requests_total', labels);
    expect(requests({ direction: 'inbound', vault_id: ids.good, status: '200', code: '' })).toBe(6);
    for (const vault_id of [ids.none, ids.expired]) {
      expect(
        requests({
          direction: 'inbound',
          vault_id,
          status: '502',
          code: 'upstream_client_certificate_rejected',
        }),
      ).toBe(2);
    }
    expect(requests({ direction: 'inbound', vault_id: '', status: '404', code: 'vault_not_found' })).toBe(3);
    expect(requests({ direction: 'outbound', vault_id: ids.outbound, status: '200', code: '' })).toBe(1);
    expect(
      requests({ direction: 'outbound', vault_id: '', status: '407', code: 'proxy_auth_required' }),
    ).toBe(1);
    // One sample per label set after the merge: the two workers' counts were added, not listed twice.
    const keys = scrape
      .find('vaultgate_proxy_requests_total')
      .map((s) => JSON.stringify(Object.entries(s.labels).sort()));
    expect(new Set(keys).size).toBe(keys.length);
    // The older families stay.
    expect(scrape.sum('vaultgate_inbound_requests_total', { outcome: 'forwarded' })).toBe(6);
    expect(scrape.sum('vaultgate_outbound_requests_total', { kind: 'tunnel', status: '200' })).toBe(1);
  });

  it('times requests in a histogram by direction and vault', () => {
    const name = 'vaultgate_proxy_request_duration_seconds';
    expect(scrape.types.get(name)).toBe('histogram');
    const labels = { direction: 'inbound', vault_id: ids.good };
    expect(scrape.sum(`${name}_count`, labels)).toBe(6);
    expect(scrape.sum(`${name}_bucket`, { ...labels, le: '+Inf' })).toBe(6);
    expect(scrape.sum(`${name}_sum`, labels)).toBeGreaterThan(0);
    expect(scrape.sum(`${name}_sum`, labels)).toBeLessThan(60);
    expect(scrape.sum(`${name}_count`, { direction: 'outbound', vault_id: ids.outbound })).toBe(1);
  });

  it('counts upstream handshakes by direction and resumption, choice failures and pools', () => {
    const handshakes = (direction: string): number =>
      scrape.sum('vaultgate_upstream_handshakes_total', { direction });
    // Every forwarded or refused inbound request opened at least one TLS connection upstream overall.
    expect(handshakes('inbound')).toBeGreaterThanOrEqual(1);
    expect(handshakes('outbound')).toBeGreaterThanOrEqual(1);
    for (const resumed of ['true', 'false'])
      expect(
        scrape.find('vaultgate_upstream_handshakes_total', { direction: 'inbound', resumed }),
      ).toHaveLength(1);
    // The route of the "expired" vault has a certificate, but not valid now: each request counts.
    expect(
      scrape.sum('vaultgate_certificate_choice_failures_total', {
        direction: 'inbound',
        vault_id: ids.expired,
      }),
    ).toBe(2);
    // A route with no certificate at all is no choice failure.
    expect(scrape.find('vaultgate_certificate_choice_failures_total', { vault_id: ids.none })).toHaveLength(
      0,
    );
    expect(scrape.sum('vaultgate_upstream_pools', { direction: 'inbound' })).toBeGreaterThanOrEqual(1);
    expect(scrape.sum('vaultgate_outbound_leaf_certificates_minted_total')).toBeGreaterThanOrEqual(1);
  });

  it('reports every certificate expiry with vault, certificate and proxy type', () => {
    const expiry = (certificate_id: string): number[] =>
      scrape.find('vaultgate_certificate_expiry_timestamp_seconds', { certificate_id }).map((s) => s.value);
    expect(
      scrape.find('vaultgate_certificate_expiry_timestamp_seconds', {
        vault_id: ids.good,
        certificate_id: ids.inboundCert,
        proxy_type: 'inbound',
      }),
    ).toHaveLength(1);
    expect(expiry(ids.inboundCert)).toEqual([notAfter.inbound]);
    expect(
      scrape
        .find('vaultgate_certificate_expiry_timestamp_seconds', {
          vault_id: ids.outbound,
          certificate_id: ids.outboundCert,
          proxy_type: 'outbound',
        })
        .map((s) => s.value),
    ).toEqual([notAfter.outbound]);
    expect(expiry(ids.expiredCert)[0]).toBeGreaterThan(Date.now() / 1000 + 29 * 86_400);
  });

  it('has the standard process_* and nodejs_* families once each, per process by worker', () => {
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_version_info',
      'vaultgate_process_resident_memory_bytes',
    ]) {
      const workers = scrape.find(name).map((s) => s.labels.worker);
      expect(new Set(workers), name).toEqual(new Set(['control', '1', '2']));
      expect(workers, name).toHaveLength(3);
    }
    const starts = scrape.find('process_start_time_seconds').map((s) => s.value);
    for (const start of starts) expect(start).toBeLessThanOrEqual(Date.now() / 1000);
    expect(scrape.sum('vaultgate_workers')).toBe(2);
    // Each family is described once, however many processes report it.
    const typeLines = scrape.text.split('\n').filter((l) => l.startsWith('# TYPE '));
    expect(new Set(typeLines).size).toBe(typeLines.length);
  });

  it('passes promtool check metrics', () => {
    const run = promtool(['check', 'metrics'], scrape.text);
    expect(run.output).toBe('');
    expect(run.status).toBe(0);
  });

  it('has no label a client controls: no host, path or username appears in any label value', () => {
    const values = scrape.samples.flatMap((s) => Object.values(s.labels));
    for (const leaked of ['localhost', '/ok/', 'sandbox.localhost', '/out']) {
      expect(values.filter((v) => v.includes(leaked))).toEqual([]);
    }
  });
});

describe('docs/ops: only metrics a real scrape has', () => {
  /** Sample names, plus the families declared without samples yet (a histogram only by its series). */
  const exposed = (): Set<string> => {
    const names = new Set(scrape.samples.map((s) => s.name));
    for (const [name, type] of scrape.types) if (type !== 'histogram') names.add(name);
    return names;
  };
  const metricNames = (text: string): Set<string> =>
    new Set(text.match(/\b(?:vaultgate|process|nodejs)_[a-z0-9_]+/g) ?? []);

  it('grafana-dashboard.json parses, and every metric its queries use is in /metrics', () => {
    const dashboard = JSON.parse(readFileSync('docs/ops/grafana-dashboard.json', 'utf8')) as {
      panels: { title: string; targets?: { expr: string }[] }[];
      templating: { list: { definition?: string }[] };
    };
    const exprs = [
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
      ...dashboard.templating.list.flatMap((v) => (v.definition === undefined ? [] : [v.definition])),
    ];
    const used = metricNames(exprs.join('\n'));
    expect(used.size).toBeGreaterThan(10);
    const names = exposed();
    for (const name of used) expect(names.has(name), `${name} is not in /metrics`).toBe(true);
  });

  it('alerts.yml uses only metrics in /metrics', () => {
    const exprs = readFileSync('docs/ops/alerts.yml', 'utf8')
      .split('\n')
      .filter((l) => l.trim().startsWith('expr:'));
    expect(exprs).toHaveLength(5);
    const names = exposed();
    for (const name of metricNames(exprs.join('\n')))
      expect(names.has(name), `${name} is not in /metrics`).toBe(true);
  });
});
