// The dashboard's Notifications page in a real browser against a real vaultgate: a webhook created
// (its secret shown once and usable to verify a real delivery), refused when its receiver is blocked,
// its deliveries listed with each attempt's answer, and deleted after a confirmation.

import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../src/notifications/signature.js';
import { chainPem, makeCa, makeLeaf } from './helpers/pki-fixtures.js';
import { openDashboardBrowser, SCREENSHOTS, type DashboardBrowser } from './helpers/dashboard-browser.js';
import type { TestVaultgate } from './helpers/vaultgate.js';
import { FakeTime, settle, startReceiver, startWithTime, type Receiver } from './helpers/webhooks.js';

let vg: TestVaultgate;
let ui: DashboardBrowser;
let page: Page;
let receiver: Receiver;
const time = new FakeTime();

describe('dashboard: notifications', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    receiver = await startReceiver([500, 204]);
    vg = await startWithTime(time);
    ui = await openDashboardBrowser();
    page = ui.page;
  });

  afterAll(async () => {
    await ui?.browser.close();
    await vg?.stop();
    await receiver?.close();
  });

  it('signs in and opens the empty Notifications page', async () => {
    await page.goto(vg.adminUrl);
    await page.getByLabel('Admin token').fill(vg.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Mutual TLS Certificates' }).waitFor();
    await page.getByRole('link', { name: 'Notifications' }).click();
    await page.getByRole('heading', { name: 'Notifications', exact: true }).waitFor();
    await page.getByText('No webhooks yet').waitFor();
    expect(page.url()).toMatch(/#\/tnt[a-z0-9]{8}\/notifications$/);
  });

  it('refuses no events and a blocked receiver, on the field at fault', async () => {
    const form = page.getByRole('form', { name: 'New webhook' });
    await form.getByLabel('Receiver URL').fill('http://169.254.169.254/latest/meta-data');
    await form.getByLabel('A certificate nears its end').uncheck();
    await form.getByLabel('A certificate has expired').uncheck();
    await form.getByRole('button', { name: 'Create webhook' }).click();
    await form.getByText('Choose at least one event.').waitFor();
    await form.getByLabel('A certificate was added').check();
    await form.getByRole('button', { name: 'Create webhook' }).click();
    await form.getByText(/url cannot be used: .*link-local/).waitFor();
    expect(await form.getByLabel('Receiver URL').getAttribute('aria-invalid')).toBe('true');
    expect((await vg.api('GET', '/webhooks')).json.data).toEqual([]);
  });

  it('creates a webhook and shows its secret once, which verifies a real delivery', async () => {
    const form = page.getByRole('form', { name: 'New webhook' });
    await form.getByLabel('Receiver URL').fill(receiver.url);
    await form.getByLabel('Days before expiry').fill('14, 3');
    await form.getByLabel('Description (optional)').fill('Ops on-call');
    await form.getByRole('button', { name: 'Create webhook' }).click();
    const panel = page.getByRole('region', { name: 'New webhook secret' });
    const secret = (await panel.locator('code').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_/);
    await panel.getByRole('button', { name: 'Copy secret' }).waitFor();
    await ui.screens('notifications-secret');

    const [stored] = (await vg.api('GET', '/webhooks')).json.data;
    expect(stored).toMatchObject({
      url: receiver.url,
      events: ['certificate.created'],
      days_before: [14, 3],
    });

    // A certificate upload sends certificate.created; the receiver's first answer is 500.
    const vaultId = vg.vg.defaultVault?.vaultId as string;
    const credentialId = (await vg.api('GET', `/vaults/${vaultId}/credentials`)).json.data[0].id;
    const leaf = makeLeaf({ issuer: makeCa({ cn: 'Notifications Test CA' }), cn: 'notify.client.example' });
    const uploaded = await vg.api('POST', `/vaults/${vaultId}/certificates`, {
      proxy_type: 'outbound',
      credential_id: credentialId,
      certificate: chainPem(leaf),
      private_key: leaf.keyPem,
    });
    expect(uploaded.status).toBe(201);
    const [first] = await receiver.waitFor(1);
    expect(
      verifySignature(
        secret,
        first?.headers['x-vaultgate-signature'] as string,
        first?.body ?? '',
        time.now(),
      ),
    ).toBe(true);
    await settle(vg);
    time.advance(30_000);
    await receiver.waitFor(2);
    await settle(vg);

    await panel.getByRole('button', { name: 'Done, I saved it' }).click();
    await panel.waitFor({ state: 'detached' });
    expect(await page.content()).not.toContain(secret);
  });

  it("lists the webhook's deliveries with every attempt's answer", async () => {
    await page.getByRole('button', { name: `Deliveries of ${receiver.url}` }).click();
    const dialog = page.getByRole('dialog', { name: `Deliveries to ${receiver.url}` });
    const row = dialog.getByRole('row').filter({ hasText: 'certificate.created' });
    await row.getByText('delivered').waitFor();
    await row.getByText('500, 204').waitFor();
    expect(await row.getByRole('cell').nth(2).textContent()).toBe('2');
    await ui.screens('notifications-deliveries');
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('deletes the webhook after a confirmation', async () => {
    await page.getByRole('button', { name: `Delete webhook ${receiver.url}` }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete webhook' });
    await confirm.getByRole('button', { name: 'Delete Webhook' }).click();
    await page.getByText('No webhooks yet').waitFor();
    expect((await vg.api('GET', '/webhooks')).json.data).toEqual([]);
    await ui.screens('notifications-empty');
    // The blocked receiver above was refused with 403 on purpose; nothing else may have failed.
    expect(ui.consoleErrors.filter((e) => !/status of 403/.test(e))).toEqual([]);
  });
});
