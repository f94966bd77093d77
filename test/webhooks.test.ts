/**
 * Webhooks over real HTTP (SPEC §2 "Expiry notifications"): signed deliveries a receiver verifies,
 * retries with backoff on the scheduler's fake clock, expiry thresholds that fire once each across
 * restarts and across two instances on one PostgreSQL database, blocked receivers, and a secret that
 * shows once and nowhere else.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { verifySignature } from '../src/notifications/signature.js';
import { MAX_RETRY_MS } from '../src/notifications/scheduler.js';
import { chainPem, makeCa, makeLeaf, signCsr } from './helpers/pki-fixtures.js';
import { createTestDatabase } from './helpers/postgres.js';
import type { TestVaultgate } from './helpers/vaultgate.js';
import { FakeTime, settle, startReceiver, startWithTime, type Receiver } from './helpers/webhooks.js';

const DAY = 86_400_000;
const issuer = makeCa({ cn: 'Webhook Test CA' });
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function started(time: FakeTime, env: Record<string, string> = {}, logLines?: string[]) {
  const t = await startWithTime(time, env, { logLines });
  cleanups.push(() => t.stop());
  return t;
}

async function receiver(answers?: number[], tls?: { certPem: string; keyPem: string }): Promise<Receiver> {
  const r = await startReceiver(answers, tls);
  cleanups.push(() => r.close());
  return r;
}

async function createWebhook(t: TestVaultgate, body: Record<string, unknown>) {
  const res = await t.api('POST', '/webhooks', body);
  expect(res.status, res.text).toBe(201);
  return res.json.data as { id: string; secret: string; days_before: number[] };
}

let serial = 0;
/** Uploads an outbound certificate to the default vault, ending `daysLeft` days after now. */
async function upload(t: TestVaultgate, daysLeft = 365, now = Date.now()) {
  // The default vault: on a shared database only the instance that created it knows it as such.
  const vaultId = (await t.api('GET', '/vaults')).json.data[0].id as string;
  const credentialId = (await t.api('GET', `/vaults/${vaultId}/credentials`)).json.data[0].id as string;
  const cn = `hooks-${++serial}-${randomBytes(3).toString('hex')}.example`;
  const leaf = makeLeaf({
    issuer,
    cn,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + daysLeft * DAY),
  });
  const res = await t.api('POST', `/vaults/${vaultId}/certificates`, {
    proxy_type: 'outbound',
    credential_id: credentialId,
    certificate: chainPem(leaf),
    private_key: leaf.keyPem,
  });
  expect(res.status, res.text).toBe(201);
  return { vaultId, id: res.json.data.id as string, keyPem: leaf.keyPem };
}

async function deliveries(t: TestVaultgate, webhookId: string) {
  const res = await t.api('GET', `/webhooks/${webhookId}/deliveries`);
  expect(res.status, res.text).toBe(200);
  return res.json.data as {
    event_id: string;
    type: string;
    status: string;
    attempts: number;
    last_status_code: number | null;
    last_error: string | null;
    next_attempt_at: string | null;
    attempt_log: { status_code: number | null; error: string | null }[];
  }[];
}

describe('webhooks', () => {
  it('sign each event; the receiver verifies the signature and reads public metadata only', async () => {
    const time = new FakeTime();
    const t = await started(time);
    const r = await receiver();
    const hook = await createWebhook(t, {
      url: r.url,
      events: ['certificate.created', 'certificate.deleted'],
    });
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(hook.days_before).toEqual([30, 7, 1]);

    const cert = await upload(t);
    const [created] = await r.waitFor(1);
    expect(created?.headers['content-type']).toBe('application/json');
    const signature = created?.headers['x-vaultgate-signature'] as string;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature(hook.secret, signature, created?.body as string, time.now())).toBe(true);
    expect(created?.json).toMatchObject({ type: 'certificate.created', data: { id: cert.id } });
    expect(Object.keys(created?.json).sort()).toEqual(['at', 'data', 'id', 'type']);
    expect(created?.body).not.toContain('PRIVATE KEY');
    expect(created?.body).not.toContain(cert.keyPem.split('\n')[1]);

    // What a receiver must refuse: another secret, an altered body, an old timestamp.
    expect(verifySignature(`${hook.secret}x`, signature, created?.body as string, time.now())).toBe(false);
    expect(verifySignature(hook.secret, signature, `${created?.body} `, time.now())).toBe(false);
    expect(verifySignature(hook.secret, signature, created?.body as string, time.now() + 301_000)).toBe(
      false,
    );

    expect((await t.api('DELETE', `/vaults/${cert.vaultId}/certificates/${cert.id}`)).status).toBe(204);
    const [, deleted] = await r.waitFor(2);
    expect(deleted?.json).toMatchObject({ type: 'certificate.deleted', data: { id: cert.id } });
    await settle(t);
    const listed = await deliveries(t, hook.id);
    expect(listed.map((d) => [d.type, d.status, d.attempts, d.last_status_code])).toEqual([
      ['certificate.deleted', 'delivered', 1, 204],
      ['certificate.created', 'delivered', 1, 204],
    ]);
    expect(listed[1]?.event_id).toBe(created?.json.id);

    const audit = (await t.api('GET', '/audit-events')).json.data.map((e: { action: string }) => e.action);
    expect(audit).toContain('webhook.created');
    expect((await t.api('DELETE', `/webhooks/${hook.id}`)).status).toBe(204);
    expect((await t.api('GET', '/audit-events')).json.data[0].action).toBe('webhook.deleted');
    expect((await t.api('GET', `/webhooks/${hook.id}`)).json.error.code).toBe('webhook_not_found');
  });

  it('announce a certificate request, then the certificate it becomes, with public metadata only', async () => {
    const time = new FakeTime();
    const t = await started(time);
    const r = await receiver();
    await createWebhook(t, { url: r.url, events: ['certificate_request.created', 'certificate.created'] });
    const vaultId = (await t.api('GET', '/vaults')).json.data[0].id as string;
    const credentialId = (await t.api('GET', `/vaults/${vaultId}/credentials`)).json.data[0].id as string;
    const made = await t.api('POST', `/vaults/${vaultId}/certificate-requests`, {
      proxy_type: 'outbound',
      credential_id: credentialId,
      subject: { common_name: 'hooks-csr.example' },
      key_type: 'ec',
    });
    expect(made.status, made.text).toBe(201);
    const [requested] = await r.waitFor(1);
    expect(requested?.json).toMatchObject({
      type: 'certificate_request.created',
      data: { id: made.json.data.id, status: 'pending', csr_pem: made.json.data.csr_pem },
    });
    expect(requested?.body).not.toContain('PRIVATE KEY');

    const signed = signCsr(made.json.data.csr_pem as string, issuer);
    const done = await t.api(
      'POST',
      `/vaults/${vaultId}/certificate-requests/${made.json.data.id}/certificate`,
      { certificate: signed + issuer.certPem },
    );
    expect(done.status, done.text).toBe(201);
    const [, created] = await r.waitFor(2);
    expect(created?.json).toMatchObject({ type: 'certificate.created', data: { id: done.json.data.id } });
  });

  it('retry with backoff: a receiver that answers 500 twice gets the event on the third attempt', async () => {
    const time = new FakeTime();
    const t = await started(time);
    const r = await receiver([500, 500, 204]);
    const hook = await createWebhook(t, { url: r.url, events: ['certificate.created'] });
    await upload(t);
    await r.waitFor(1);
    await settle(t);
    let [d] = await deliveries(t, hook.id);
    expect(d).toMatchObject({ status: 'pending', attempts: 1, last_status_code: 500 });
    expect(d?.last_error).toMatch(/HTTP 500/);
    expect(Date.parse(d?.next_attempt_at as string) - time.now()).toBeGreaterThan(25_000);

    time.advance(20_000); // before the first retry is due (30 s)
    await settle(t);
    expect(r.received).toHaveLength(1);
    time.advance(10_000);
    await r.waitFor(2);
    await settle(t);
    time.advance(30_000); // the second retry waits 60 s
    await settle(t);
    expect(r.received).toHaveLength(2);
    time.advance(30_000);
    await r.waitFor(3);
    await settle(t);

    [d] = await deliveries(t, hook.id);
    expect(d).toMatchObject({
      status: 'delivered',
      attempts: 3,
      last_status_code: 204,
      next_attempt_at: null,
    });
    expect(d?.attempt_log.map((a) => a.status_code)).toEqual([500, 500, 204]);
    // The same event each time: one id, signed anew at each attempt.
    expect(new Set(r.received.map((x) => x.json.id)).size).toBe(1);
    for (const x of r.received) {
      expect(
        verifySignature(hook.secret, x.headers['x-vaultgate-signature'] as string, x.body, time.now()),
      ).toBe(true);
    }
  });

  it('give up 24 hours after the event, and list it as failed', async () => {
    const time = new FakeTime();
    const t = await started(time);
    const r = await receiver([503]);
    const hook = await createWebhook(t, { url: r.url, events: ['certificate.created'] });
    await upload(t);
    await r.waitFor(1);
    await settle(t);
    for (let hour = 0; hour < 30; hour++) {
      time.advance(MAX_RETRY_MS);
      await settle(t);
    }
    const [d] = await deliveries(t, hook.id);
    expect(d?.status).toBe('failed');
    expect(d?.next_attempt_at).toBeNull();
    expect(d?.attempts).toBe(r.received.length);
    // 30 s doubling to an hour, for a day: about two dozen attempts, not one a minute.
    expect(d?.attempts).toBeGreaterThan(20);
    expect(d?.attempts).toBeLessThan(30);
    const attempts = r.received.length;
    time.advance(2 * MAX_RETRY_MS);
    await settle(t);
    expect(r.received).toHaveLength(attempts);
  });

  it('fire the 30, 7 and 1 day thresholds and the expiry once each, not again after a restart', async () => {
    const time = new FakeTime();
    const dataDir = mkdtempSync(join(tmpdir(), 'vaultgate-hooks-restart-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const env = { VAULTGATE_DATA_DIR: dataDir };
    let t = await started(time, env);
    const r = await receiver();
    await createWebhook(t, { url: r.url, events: ['certificate.expiring', 'certificate.expired'] });
    const cert = await upload(t, 40);
    const seen = () => r.received.map((x) => `${x.json.type}:${x.json.data.days_before ?? '-'}`);
    const step = async (ms: number) => {
      time.advance(ms);
      await settle(t);
    };

    await step(60_000);
    expect(seen()).toEqual([]);
    await step(11 * DAY); // 29 days left
    expect(seen()).toEqual(['certificate.expiring:30']);
    expect(r.received[0]?.json.data).toMatchObject({ id: cert.id, status: 'expiring_soon' });
    await step(60_000);
    await step(DAY);
    expect(seen()).toHaveLength(1);

    await t.stop();
    cleanups.pop();
    t = await started(time, env);
    await settle(t);
    await step(60_000);
    expect(seen()).toHaveLength(1);

    await step(21.5 * DAY); // 6.5 days left
    await step(60_000);
    expect(seen()).toEqual(['certificate.expiring:30', 'certificate.expiring:7']);
    await step(6 * DAY); // half a day left
    await step(60_000);
    await step(DAY); // ended
    await step(60_000);
    expect(seen()).toEqual([
      'certificate.expiring:30',
      'certificate.expiring:7',
      'certificate.expiring:1',
      'certificate.expired:-',
    ]);

    await t.stop();
    cleanups.pop();
    t = await started(time, env);
    await settle(t);
    await step(10 * DAY);
    expect(seen()).toHaveLength(4);
  });

  it('fire only the nearest threshold for a certificate uploaded late', async () => {
    const time = new FakeTime();
    const t = await started(time);
    const r = await receiver();
    await createWebhook(t, { url: r.url, events: ['certificate.expiring'], days_before: [30, 14, 7] });
    await upload(t, 10);
    time.advance(60_000);
    await settle(t);
    expect(r.received.map((x) => x.json.data.days_before)).toEqual([14]);
  });

  it("fire hostname.expiring for a custom hostname's server certificate, afresh after its renewal", async () => {
    const time = new FakeTime();
    const t = await started(time);
    const r = await receiver();
    await createWebhook(t, { url: r.url, events: ['hostname.expiring'], days_before: [14] });
    const vaultId = (await t.api('GET', '/vaults')).json.data[0].id as string;
    const name = `callbacks-${randomBytes(3).toString('hex')}.hooks.example`;
    const serverCert = (days: number) => {
      const leaf = makeLeaf({
        issuer,
        cn: name,
        eku: ['serverAuth'],
        sans: [`DNS:${name}`],
        notAfter: new Date(Date.now() + days * DAY),
      });
      return { certificate: chainPem(leaf), private_key: leaf.keyPem };
    };
    const created = await t.api('POST', `/vaults/${vaultId}/hostnames`, {
      hostname: name,
      ...serverCert(10),
    });
    expect(created.status, created.text).toBe(201);
    time.advance(60_000);
    await settle(t);
    expect(r.received.map((x) => [x.json.type, x.json.data.hostname, x.json.data.days_before])).toEqual([
      ['hostname.expiring', name, 14],
    ]);
    time.advance(60_000);
    await settle(t);
    expect(r.received).toHaveLength(1);

    // The renewal (PUT) is another certificate under the same hostname id: its thresholds are its own.
    const id = created.json.data.id as string;
    const renewed = await t.api('PUT', `/vaults/${vaultId}/hostnames/${id}`, serverCert(12));
    expect(renewed.status, renewed.text).toBe(200);
    time.advance(60_000);
    await settle(t);
    expect(r.received).toHaveLength(2);
    expect(r.received[1]?.json.data.not_after).toBe(renewed.json.data.not_after);
  });

  it('refuse a blocked receiver at creation, and at delivery once it is blocked', async () => {
    const time = new FakeTime();
    const dataDir = mkdtempSync(join(tmpdir(), 'vaultgate-hooks-blocked-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    let t = await started(time, { VAULTGATE_DATA_DIR: dataDir });
    const refusals = [
      'http://169.254.169.254/latest/meta-data',
      `http://127.0.0.1:${t.vg.ports.admin}/api/v1/vaults`,
      `http://localhost:${t.vg.ports.inbound}/`,
      'http://[::ffff:169.254.169.254]/',
    ];
    for (const url of refusals) {
      const res = await t.api('POST', '/webhooks', { url, events: ['certificate.created'] });
      expect(res.status, url).toBe(403);
      expect(res.json.error).toMatchObject({ code: 'upstream_blocked', field: 'url' });
    }
    for (const [body, field] of [
      [{ url: 'ftp://hooks.example/', events: ['certificate.created'] }, 'url'],
      [{ url: 'https://user:pw@hooks.example/', events: ['certificate.created'] }, 'url'],
      [{ url: 'https://hooks.example/', events: ['certificate.renamed'] }, 'events'],
      [
        { url: 'https://hooks.example/', events: ['certificate.created'], days_before: [7, 7] },
        'days_before',
      ],
      [{ url: 'https://hooks.example/', events: ['certificate.created'], days_before: [0] }, 'days_before.0'],
    ] as const) {
      const res = await t.api('POST', '/webhooks', body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.json.error).toMatchObject({ code: 'invalid_field', field });
      if (field === 'events') expect(res.json.error.message).toContain('"certificate.renamed"');
    }
    expect((await t.api('GET', '/webhooks')).json.data).toEqual([]);

    // Allowed when created; then the operator blocks the receiver's network.
    const r = await receiver();
    const hook = await createWebhook(t, { url: r.url, events: ['certificate.created'] });
    await t.stop();
    cleanups.pop();
    t = await started(time, { VAULTGATE_DATA_DIR: dataDir, VAULTGATE_BLOCKED_UPSTREAMS: '127.0.0.0/8' });
    await upload(t);
    await settle(t);
    const [d] = await deliveries(t, hook.id);
    expect(d).toMatchObject({ status: 'pending', attempts: 1, last_status_code: null });
    expect(d?.last_error).toMatch(/^refused: .*127\.0\.0\.0\/8/);
    expect(r.received).toEqual([]);
  });

  it('deliver to an https receiver whose CA VAULTGATE_UPSTREAM_CA_FILE trusts, and to no untrusted one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vaultgate-hooks-tls-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const serverCert = (ca: ReturnType<typeof makeCa>) => {
      const leaf = makeLeaf({ issuer: ca, cn: 'receiver.test', eku: ['serverAuth'], sans: ['IP:127.0.0.1'] });
      return { certPem: chainPem(leaf), keyPem: leaf.keyPem };
    };
    const trusted = makeCa({ cn: 'Receiver Test CA' });
    writeFileSync(join(dir, 'ca.pem'), trusted.certPem);
    const time = new FakeTime();
    const t = await started(time, { VAULTGATE_UPSTREAM_CA_FILE: join(dir, 'ca.pem') });
    const good = await receiver([204], serverCert(trusted));
    const other = await receiver([204], serverCert(makeCa({ cn: 'Stranger Test CA' })));
    expect(good.url).toMatch(/^https:/);
    const goodHook = await createWebhook(t, { url: good.url, events: ['certificate.created'] });
    const otherHook = await createWebhook(t, { url: other.url, events: ['certificate.created'] });
    await upload(t);
    await good.waitFor(1);
    await settle(t);
    expect((await deliveries(t, goodHook.id))[0]).toMatchObject({
      status: 'delivered',
      last_status_code: 204,
    });
    const [refused] = await deliveries(t, otherHook.id);
    expect(refused).toMatchObject({ status: 'pending', attempts: 1, last_status_code: null });
    expect(refused?.last_error).toMatch(/TLS certificate was not accepted/);
    expect(other.received).toEqual([]);
  });

  it('show the secret once: never in answers, logs or the database in clear', async () => {
    const time = new FakeTime();
    const logLines: string[] = [];
    const t = await started(time, {}, logLines);
    const r = await receiver([500, 204]);
    const hook = await createWebhook(t, { url: r.url, events: ['certificate.created'] });
    await upload(t);
    await r.waitFor(1);
    await settle(t);
    time.advance(30_000);
    await r.waitFor(2);
    await settle(t);
    const answers = [
      await t.api('GET', '/webhooks'),
      await t.api('GET', `/webhooks/${hook.id}`),
      await t.api('GET', `/webhooks/${hook.id}/deliveries`),
      await t.api('GET', '/audit-events'),
    ];
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.text).not.toContain(hook.secret);
      expect(a.text).not.toContain('secret');
    }
    expect(logLines.join('\n')).toContain('webhook delivered');
    expect(logLines.join('\n')).not.toContain(hook.secret);
    const secretBytes = Buffer.from(hook.secret.slice('whsec_'.length));
    for (const file of readdirSync(t.dataDir).filter((f) => f.startsWith('vaultgate.db'))) {
      expect(readFileSync(join(t.dataDir, file)).includes(secretBytes), file).toBe(false);
    }
  });
});

describe('webhooks on two instances sharing PostgreSQL', () => {
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await drop?.();
  });

  it('deliver each event exactly once', async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    const shared = {
      VAULTGATE_DATABASE_URL: db.url,
      VAULTGATE_MASTER_KEY: randomBytes(32).toString('base64'),
      VAULTGATE_ADMIN_TOKEN: `vgadm_${randomBytes(16).toString('hex')}`,
    };
    const time = new FakeTime();
    const [a, b] = await Promise.all([started(time, shared), started(time, shared)]);
    const r = await receiver();
    const hook = await createWebhook(a, {
      url: r.url,
      events: ['certificate.created', 'certificate.expiring'],
    });
    const certs = [];
    for (const t of [a, b, a, b]) certs.push(await upload(t, 20));
    await r.waitFor(4);
    await settle(a, b);
    time.advance(60_000); // both sweep: each certificate is 20 days from its end
    await r.waitFor(8);
    // Each attempt records its outcome before the clock moves on: a jump past the 60 s lease while
    // an attempt is still being recorded would (rightly) let the other instance try again.
    await settle(a, b);
    for (let i = 0; i < 3; i++) {
      time.advance(60_000);
      await settle(a, b);
    }
    const events = r.received.map((x) => `${x.json.type} ${x.json.data.id}`).sort();
    expect(events).toEqual(
      certs.flatMap((c) => [`certificate.created ${c.id}`, `certificate.expiring ${c.id}`]).sort(),
    );
    expect(new Set(r.received.map((x) => x.json.id)).size).toBe(8);
    const listed = await deliveries(b, hook.id);
    expect(listed).toHaveLength(8);
    expect(listed.every((d) => d.status === 'delivered' && d.attempts === 1)).toBe(true);
  });
});
