// Certificate requests in the dashboard, in a real browser against a real vaultgate: create one, take
// the CSR as a downloaded .csr file to a test CA, upload what it signs, and see the certificate in
// the list; renew an expiring certificate from the Vault Settings page.

import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCa, makeLeaf, openssl, signCsr, type Issued } from './helpers/pki-fixtures.js';
import { openDashboardBrowser, type DashboardBrowser } from './helpers/dashboard-browser.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

const DAY = 24 * 60 * 60 * 1000;

let vg: TestVaultgate;
let ui: DashboardBrowser;
let page: Page;
let ca: Issued;

const vaultId = (): string => vg.vg.defaultVault?.vaultId ?? '';

async function requests(status: 'pending' | 'completed'): Promise<Array<Record<string, unknown>>> {
  return (await vg.api('GET', `/vaults/${vaultId()}/certificate-requests?status=${status}`)).json.data;
}

describe('dashboard: certificate requests', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    ca = makeCa({ cn: 'Card Network Test CA', org: 'Card Network' });
    vg = await startTestVaultgate();
    ui = await openDashboardBrowser();
    page = ui.page;
    await page.goto(vg.adminUrl);
    await page.getByLabel('Admin token').fill(vg.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Mutual TLS Certificates' }).waitFor();
  });

  afterAll(async () => {
    await ui?.browser.close();
    await vg?.stop();
  });

  it('creates a request, downloads the CSR, uploads the signed certificate and lists it', async () => {
    await page.getByRole('button', { name: 'Create certificate request' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create certificate request' });
    await dialog.getByLabel('Description').fill('Visa VDP 2027');
    await dialog.getByLabel('Common name (CN)').fill('vdp.acme.example');
    await dialog.getByLabel('Organization (O, optional)').fill('Acme');
    await dialog.getByLabel('Country (C, optional)').fill('US');
    await dialog.getByLabel('Subject alternative names (optional)').fill('vdp.acme.example');
    expect(await dialog.getByLabel('Access credential').inputValue()).not.toBe('');
    await dialog.getByLabel('Key').selectOption({ label: 'EC P-384' });
    await ui.screens('certificate-request-form');
    await dialog.getByRole('button', { name: 'Create request' }).click();
    await dialog.waitFor({ state: 'detached' });

    const pending = page.getByRole('region', { name: 'Pending requests' });
    await pending.getByRole('cell', { name: 'Visa VDP 2027', exact: true }).waitFor();
    expect(await pending.getByRole('cell', { name: 'EC P-384', exact: true }).count()).toBe(1);
    await ui.screens('certificate-requests-pending');

    const download = page.waitForEvent('download');
    await pending.getByRole('button', { name: 'Download CSR Visa VDP 2027' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('vdp.acme.example.csr');
    const csr = readFileSync((await file.path()) as string, 'utf8');
    expect(csr).toBe((await requests('pending'))[0]?.csr_pem);
    openssl(['req', '-verify', '-noout'], csr);
    const signed = signCsr(csr, ca);

    // A certificate of another key is refused beside the field, and nothing changes.
    await pending.getByRole('button', { name: 'Upload signed certificate Visa VDP 2027' }).click();
    let upload = page.getByRole('dialog', { name: 'Upload signed certificate' });
    await upload.getByLabel('Signed certificate', { exact: true }).fill(makeLeaf({ issuer: ca }).certPem);
    await upload.getByRole('button', { name: 'Upload', exact: true }).click();
    await expect
      .poll(() => upload.locator('.field__error:not([hidden])').textContent())
      .toContain("this request's public key");
    await upload.getByRole('button', { name: 'Cancel' }).click();

    await pending.getByRole('button', { name: 'Upload signed certificate Visa VDP 2027' }).click();
    upload = page.getByRole('dialog', { name: 'Upload signed certificate' });
    await upload.getByLabel('Signed certificate', { exact: true }).fill(signed + ca.certPem);
    await upload.getByRole('button', { name: 'Upload', exact: true }).click();
    await upload.waitFor({ state: 'detached' });
    await page.getByText('Certificate “Visa VDP 2027” added.').waitFor();
    await page.getByRole('button', { name: 'Preview certificate Visa VDP 2027', exact: true }).waitFor();
    expect(await page.getByRole('region', { name: 'Pending requests' }).getByRole('row').count()).toBe(0);

    const [completed] = await requests('completed');
    const certificates = (await vg.api('GET', `/vaults/${vaultId()}/certificates`)).json.data;
    expect(certificates).toHaveLength(1);
    expect(certificates[0]).toMatchObject({
      id: completed?.certificate_id,
      description: 'Visa VDP 2027',
      proxy_type: 'outbound',
      credential_id: completed?.credential_id,
      curve: 'P-384',
      subject: 'CN=vdp.acme.example, O=Acme, C=US',
    });
  });

  it('offers a renewal request for a certificate expiring within 30 days, pre-filled', async () => {
    const credentialId = (await vg.api('GET', `/vaults/${vaultId()}/credentials`)).json.data[0].id;
    const soon = makeLeaf({
      issuer: ca,
      cn: 'soon.acme.example',
      sans: ['DNS:soon.acme.example'],
      notAfter: new Date(Date.now() + 10 * DAY),
    });
    const uploaded = await vg.api('POST', `/vaults/${vaultId()}/certificates`, {
      proxy_type: 'outbound',
      credential_id: credentialId,
      description: 'Mastercard',
      certificate: soon.certPem,
      private_key: soon.keyPem,
      hosts: ['api.mastercard.example'],
    });
    expect(uploaded.status, uploaded.text).toBe(201);

    // On every Vault Settings page, not only the certificates tab.
    await page.goto(`${vg.adminUrl}/#/${vaultId()}/routes`);
    await page.reload();
    const renew = page.getByRole('button', { name: 'Create renewal request for Mastercard' });
    await renew.waitFor();
    await ui.screens('renewal-panel');
    await renew.click();
    const dialog = page.getByRole('dialog', { name: 'Create renewal request' });
    expect(await dialog.getByLabel('Description').inputValue()).toBe('Mastercard');
    expect(await dialog.getByLabel('Common name (CN)').inputValue()).toBe('soon.acme.example');
    expect(await dialog.getByLabel('Subject alternative names (optional)').inputValue()).toBe(
      'DNS:soon.acme.example',
    );
    expect(await dialog.getByLabel('Hosts (optional)').inputValue()).toBe('api.mastercard.example');
    expect(await dialog.getByLabel('Access credential').inputValue()).toBe(credentialId);
    await dialog.getByRole('button', { name: 'Create request' }).click();
    await dialog.waitFor({ state: 'detached' });

    // The new request waits on the Certificates tab.
    await page.getByRole('heading', { name: 'Mutual TLS Certificates' }).waitFor();
    const pending = page.getByRole('region', { name: 'Pending requests' });
    await pending.getByRole('cell', { name: 'Mastercard', exact: true }).waitFor();
    const [request] = await requests('pending');
    expect(request).toMatchObject({
      credential_id: credentialId,
      description: 'Mastercard',
      subject: 'CN=soon.acme.example',
      sans: ['DNS:soon.acme.example'],
      hosts: ['api.mastercard.example'],
      curve: 'P-256',
    });

    await pending.getByRole('button', { name: 'Delete request Mastercard' }).click();
    await page
      .getByRole('dialog', { name: 'Delete certificate request' })
      .getByRole('button', { name: 'Delete Request' })
      .click();
    await expect.poll(() => requests('pending')).toEqual([]);
    expect(ui.consoleErrors).toEqual([]);
  });
});
