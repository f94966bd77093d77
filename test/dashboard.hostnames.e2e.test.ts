// The dashboard's Hostnames tab in a real browser against a real vaultgate: a custom hostname added
// with a server certificate made here (pasted PEM, and a .p12 with caller mTLS and a CRL), listed, previewed,
// replaced by its renewal, refused when the certificate does not cover the name, and removed — and
// the inbound listener really presenting that certificate for the name, before and after the renewal.

import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainPem, makeCa, makeCrl, makeLeaf, makePkcs12, type Issued } from './helpers/pki-fixtures.js';
import { openDashboardBrowser, SCREENSHOTS, type DashboardBrowser } from './helpers/dashboard-browser.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

const DAY = 24 * 60 * 60 * 1000;
const CALLBACKS = 'callbacks.acme.example';
const PAY = 'pay.acme.example';

let vg: TestVaultgate;
let ui: DashboardBrowser;
let page: Page;
let files: string;
let vaultId: string;
let serverCa: Issued;
let callersCa: Issued;
let expiring: Issued;
let renewed: Issued;
let pay: Issued;
let elsewhere: Issued;

interface HostnameJson {
  id: string;
  hostname: string;
  subject: string;
  issuer: string;
  not_after: string;
  fingerprint_sha256: string;
  client_auth: { mode: string; ca_subjects?: string[]; crl?: boolean };
}

async function hostnames(): Promise<HostnameJson[]> {
  const res = await vg.api('GET', `/vaults/${vaultId}/hostnames`);
  expect(res.status).toBe(200);
  return res.json.data as HostnameJson[];
}

async function stored(name: string): Promise<HostnameJson> {
  const found = (await hostnames()).find((x) => x.hostname === name);
  expect(found, `${name} is stored`).toBeDefined();
  return found!;
}

function rowOf(hostname: string) {
  return page
    .getByRole('row')
    .filter({ has: page.getByRole('button', { name: `Preview hostname ${hostname}`, exact: true }) });
}

/** Node writes fingerprints as colon-separated upper-case hex: compare without separators or case. */
function sameFingerprint(a: string, b: string): boolean {
  const norm = (s: string): string => s.replace(/[^0-9a-f]/gi, '').toLowerCase();
  return norm(a) === norm(b);
}

/** The SHA-256 fingerprint of the certificate the inbound listener presents for this SNI. */
function servedFingerprint(servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port: vg.vg.ports.inbound,
      servername,
      // Only the presented certificate is looked at here; the test CA is not in Node's store.
      rejectUnauthorized: false,
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (cert) resolve(cert.fingerprint256);
      else reject(new Error('no certificate presented'));
    });
    socket.once('error', reject);
  });
}

describe('dashboard: hostnames', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    files = mkdtempSync(join(tmpdir(), 'vaultgate-dashboard-hostnames-'));
    serverCa = makeCa({ cn: 'Acme Server Test CA', org: 'Acme' });
    callersCa = makeCa({ cn: 'Acme Callers Test CA', org: 'Acme' });
    const server = { issuer: serverCa, org: 'Acme Payments', eku: ['serverAuth'] };
    // Same CN, so the same cached key: a renewal, as a CA issues it for an existing key.
    expiring = makeLeaf({
      ...server,
      cn: CALLBACKS,
      sans: [`DNS:${CALLBACKS}`],
      notAfter: new Date(Date.now() + 10 * DAY),
    });
    renewed = makeLeaf({
      ...server,
      cn: CALLBACKS,
      sans: [`DNS:${CALLBACKS}`],
      notAfter: new Date(Date.now() + 400 * DAY),
    });
    pay = makeLeaf({ ...server, cn: PAY, sans: [`DNS:${PAY}`] });
    elsewhere = makeLeaf({ ...server, cn: 'other.acme.example', sans: ['DNS:other.acme.example'] });
    writeFileSync(
      join(files, 'pay.p12'),
      Buffer.from(makePkcs12(pay, { passphrase: 'p12 secret' }), 'base64'),
    );
    writeFileSync(join(files, 'callers-ca.pem'), callersCa.certPem);

    vg = await startTestVaultgate();
    vaultId = vg.vg.defaultVault!.vaultId;
    ui = await openDashboardBrowser();
    page = ui.page;
  });

  afterAll(async () => {
    await ui?.browser.close();
    await vg?.stop();
    if (files) rmSync(files, { recursive: true, force: true });
  });

  it('signs in and shows the empty Hostnames tab with the default hostname', async () => {
    await page.goto(vg.adminUrl);
    await page.getByLabel('Admin token').fill(vg.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Mutual TLS Certificates' }).waitFor();
    await page.getByRole('link', { name: 'Hostnames' }).click();
    await page.getByRole('heading', { name: 'Hostnames', exact: true }).waitFor();
    await page.getByText('No custom hostnames yet').waitFor();
    const panel = page.getByRole('region', { name: 'Default hostname' });
    await panel.getByText(vg.vg.defaultVault!.inboundHost).waitFor();
    expect(await panel.getByLabel('Caller mTLS').inputValue()).toBe('off');
    expect(page.url()).toContain(`#/${vaultId}/hostnames`);
  });

  it('adds a hostname with a pasted certificate and lists its subject, signer, expiry and mode', async () => {
    await page.getByRole('button', { name: 'Add Hostname' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add Hostname' });
    await dialog.getByLabel('Hostname').fill(CALLBACKS);
    await dialog.getByLabel('Certificate', { exact: true }).fill(chainPem(expiring));
    await dialog.getByLabel('Private key', { exact: true }).fill(expiring.keyPem);
    expect(await dialog.getByLabel('Caller mTLS').inputValue()).toBe('off');
    expect(await dialog.getByLabel('CA bundle (PEM)', { exact: true }).isVisible()).toBe(false);
    await ui.screens('add-hostname');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await rowOf(CALLBACKS).waitFor();
    await page.getByRole('status').getByText(`Hostname “${CALLBACKS}” added.`).waitFor();

    const x = await stored(CALLBACKS);
    expect(x.subject).toContain(CALLBACKS);
    expect(x.issuer).toContain('Acme Server Test CA');
    const cells = await rowOf(CALLBACKS).getByRole('cell').allTextContents();
    expect(cells.slice(0, 5)).toEqual([
      CALLBACKS,
      x.subject,
      x.issuer,
      `${x.not_after.slice(0, 10)} expiring soon`,
      'Off',
    ]);
    const headers = await page.getByRole('columnheader').allTextContents();
    expect(headers.slice(0, 5)).toEqual(['Hostname', 'Subject', 'Signer', 'Expiration date', 'Caller mTLS']);
    // The inbound listener presents the uploaded certificate for the name (the snapshot reaches the
    // workers asynchronously, hence the poll).
    await expect
      .poll(() => servedFingerprint(CALLBACKS).catch((e: Error) => e.message), { timeout: 15_000 })
      .toSatisfy((fp: string) => sameFingerprint(fp, x.fingerprint_sha256));
  });

  it('includes the hostname’s server certificate in the expiry banner of both tabs', async () => {
    const banner = page.locator('.banner');
    expect(await banner.textContent()).toContain(
      `1 certificate expires within 30 days: server certificate of ${CALLBACKS}`,
    );
    await page.getByRole('link', { name: 'Mutual TLS Certificates' }).click();
    await page.getByText('No certificates yet — add the one your card network issued you').waitFor();
    await banner.waitFor();
    expect(await banner.textContent()).toContain(`server certificate of ${CALLBACKS}`);
    expect(await banner.textContent()).toContain('Replace, on the Hostnames tab');
    await page.getByRole('link', { name: 'Hostnames' }).click();
    await rowOf(CALLBACKS).waitFor();
  });

  it('adds a hostname from a .p12 with a passphrase, requiring caller certificates from a CA bundle file', async () => {
    await page.getByRole('button', { name: 'Add Hostname' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add Hostname' });
    await dialog.getByLabel('Hostname').fill(PAY);
    await dialog
      .getByLabel('Or upload a file (.pem, .crt, .p12, .pfx)')
      .setInputFiles(join(files, 'pay.p12'));
    await dialog.getByText('PKCS#12 file “pay.p12” chosen').waitFor();
    await dialog.getByLabel('Passphrase').fill('p12 secret');
    await dialog.getByLabel('Caller mTLS').selectOption('required');
    await dialog.getByLabel('CA bundle (PEM): or upload a file').setInputFiles(join(files, 'callers-ca.pem'));
    await dialog.getByText('Loaded “callers-ca.pem”').waitFor();
    expect(await dialog.getByLabel('CA bundle (PEM)', { exact: true }).inputValue()).toBe(callersCa.certPem);
    await dialog.getByLabel('CRL (PEM, optional)', { exact: true }).fill(makeCrl(callersCa));
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await rowOf(PAY).waitFor();

    const x = await stored(PAY);
    expect(x.client_auth.mode).toBe('required');
    expect(x.client_auth.ca_subjects?.join(' ')).toContain('Acme Callers Test CA');
    expect(x.client_auth.crl).toBe(true);
    const cells = await rowOf(PAY).getByRole('cell').allTextContents();
    expect(cells[3]).toBe(`${x.not_after.slice(0, 10)} valid`);
    expect(cells[4]).toBe('Required · 1 CA');
    await ui.screens('hostnames');
  });

  it('refuses a certificate that does not cover the hostname, beside the field, adding nothing', async () => {
    const direct = await vg.api('POST', `/vaults/${vaultId}/hostnames`, {
      hostname: 'mismatch.acme.example',
      certificate: elsewhere.certPem,
      private_key: elsewhere.keyPem,
    });
    expect(direct.status).toBe(422);
    expect(direct.json.error.code).toBe('hostname_mismatch');

    await page.getByRole('button', { name: 'Add Hostname' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add Hostname' });
    await dialog.getByLabel('Hostname').fill('mismatch.acme.example');
    await dialog.getByLabel('Certificate', { exact: true }).fill(elsewhere.certPem);
    await dialog.getByLabel('Private key', { exact: true }).fill(elsewhere.keyPem);
    await dialog.getByRole('button', { name: 'Save' }).click();
    const error = dialog.locator('.field__error:not([hidden]), .alert--error');
    await error.first().waitFor();
    expect(await error.allTextContents()).toEqual([direct.json.error.message]);
    if (direct.json.error.field) {
      const control = dialog.locator(`[name="${direct.json.error.field}"]`);
      expect(await control.getAttribute('aria-invalid')).toBe('true');
    }
    await ui.screens('add-hostname-error');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect((await hostnames()).map((x) => x.hostname)).toEqual([CALLBACKS, PAY]);
  });

  it('previews a hostname: signer, SANs, caller mTLS and the public PEM only', async () => {
    await rowOf(PAY).getByRole('cell').nth(1).click();
    const dialog = page.getByRole('dialog', { name: PAY, exact: true });
    await dialog.getByText('Signer').waitFor();
    const x = await stored(PAY);
    expect(await dialog.locator('dt:text-is("Signer") + dd').textContent()).toBe(x.issuer);
    expect(await dialog.locator('dt:text-is("Subject") + dd').textContent()).toBe(x.subject);
    expect(await dialog.locator('dt:text-is("SANs") + dd').textContent()).toContain(PAY);
    expect(await dialog.locator('dt:text-is("SHA-256 fingerprint") + dd').textContent()).toBe(
      x.fingerprint_sha256,
    );
    expect(await dialog.locator('dt:text-is("Caller mTLS") + dd').textContent()).toBe(
      'Required, with a CRL of revoked callers',
    );
    expect(await dialog.locator('dt:text-is("Chain") + dd').textContent()).toContain('Acme Server Test CA');
    expect(await dialog.locator('dt:text-is("Trusted caller CAs") + dd').textContent()).toContain(
      'Acme Callers Test CA',
    );
    const pem = (await dialog.getByLabel('Server certificate PEM', { exact: true }).textContent()) ?? '';
    expect(new X509Certificate(pem).checkHost(PAY)).toBe(PAY);
    expect(await dialog.textContent()).not.toContain('PRIVATE KEY');
    await ui.screens('hostname-preview');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('replaces a certificate with its renewal: the new expiry is shown and served, the banner goes', async () => {
    const before = await stored(CALLBACKS);
    await rowOf(CALLBACKS)
      .getByRole('button', { name: `Replace certificate of ${CALLBACKS}` })
      .click();
    const dialog = page.getByRole('dialog', { name: `Replace certificate of ${CALLBACKS}` });
    expect(await dialog.getByLabel('Hostname').inputValue()).toBe(CALLBACKS);
    await dialog.getByLabel('Certificate', { exact: true }).fill(chainPem(renewed));
    await dialog.getByLabel('Private key', { exact: true }).fill(renewed.keyPem);
    await dialog.getByRole('button', { name: 'Replace' }).click();
    await dialog.waitFor({ state: 'detached' });

    const after = await stored(CALLBACKS);
    expect(after.id).toBe(before.id);
    expect(after.fingerprint_sha256).not.toBe(before.fingerprint_sha256);
    expect(Date.parse(after.not_after)).toBeGreaterThan(Date.now() + 300 * DAY);
    await page
      .getByRole('status')
      .getByText(`valid until ${after.not_after.slice(0, 10)}`)
      .waitFor();
    // The notice is drawn before the refreshed table arrives: wait for the row to show the new date.
    await rowOf(CALLBACKS).getByText(after.not_after.slice(0, 10)).waitFor();
    expect((await rowOf(CALLBACKS).getByRole('cell').allTextContents())[3]).toBe(
      `${after.not_after.slice(0, 10)} valid`,
    );
    expect(await page.locator('.banner').count()).toBe(0);
    await expect
      .poll(() => servedFingerprint(CALLBACKS).catch((e: Error) => e.message), { timeout: 15_000 })
      .toSatisfy((fp: string) => sameFingerprint(fp, after.fingerprint_sha256));
  });

  it('sets caller mTLS for the default hostname', async () => {
    const panel = page.getByRole('region', { name: 'Default hostname' });
    await panel.getByLabel('Caller mTLS').selectOption('optional');
    await panel.getByLabel('CA bundle (PEM)', { exact: true }).fill(callersCa.certPem);
    await panel.getByRole('button', { name: 'Save caller mTLS' }).click();
    await panel.getByText('Caller mTLS of the default hostname: Optional.').waitFor();
    expect(await panel.getByLabel('Caller mTLS').inputValue()).toBe('optional');

    const vault = (await vg.api('GET', `/vaults/${vaultId}`)).json.data;
    expect(vault.inbound_client_auth.mode).toBe('optional');
    expect(vault.inbound_client_auth.ca_subjects.join(' ')).toContain('Acme Callers Test CA');

    // After a reload the control shows what the API holds, and the trusted CA.
    await page.reload();
    const again = page.getByRole('region', { name: 'Default hostname' });
    await again.getByRole('button', { name: 'Save caller mTLS' }).waitFor();
    expect(await again.getByLabel('Caller mTLS').inputValue()).toBe('optional');
    await again.getByText('Now trusted:').waitFor();
    expect(await again.getByText('Now trusted:').textContent()).toContain('Acme Callers Test CA');
  });

  it('removes a hostname only after confirmation', async () => {
    const remove = page.getByRole('button', { name: `Remove hostname ${PAY}`, exact: true });
    await remove.click();
    let dialog = page.getByRole('dialog', { name: 'Remove hostname' });
    expect(await dialog.textContent()).toContain(`vaultgate will stop answering on “${PAY}”`);
    await ui.screens('remove-hostname');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect((await hostnames()).map((x) => x.hostname)).toEqual([CALLBACKS, PAY]);

    await remove.click();
    dialog = page.getByRole('dialog', { name: 'Remove hostname' });
    await dialog.getByRole('button', { name: 'Remove Hostname' }).click();
    await dialog.waitFor({ state: 'detached' });
    await rowOf(PAY).waitFor({ state: 'detached' });
    expect((await hostnames()).map((x) => x.hostname)).toEqual([CALLBACKS]);
  });

  it('logged no browser console errors', () => {
    expect(ui.consoleErrors).toEqual([]);
  });
});
