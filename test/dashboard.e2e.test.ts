// The dashboard in a real browser (Debian's Chromium through playwright-core) against a real
// vaultgate with a real SQLite database: what a user clicks, and what the API then holds.

import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainPem, makeCa, makeKey, makeLeaf, makePkcs12, type Issued } from './helpers/pki-fixtures.js';
import { openDashboardBrowser, SCREENSHOTS, type DashboardBrowser } from './helpers/dashboard-browser.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

const DAY = 24 * 60 * 60 * 1000;
const DOCS_SCREENSHOT = 'docs/images/certificates.png';

let vg: TestVaultgate;
let ui: DashboardBrowser;
let page: Page;
let files: string;
let ca: Issued;
let visa: Issued;
let mastercard: Issued;
let inbound: Issued;
let renewing: Issued;

const screens = (name: string): Promise<void> => ui.screens(name);

async function certificates(): Promise<Array<Record<string, unknown>>> {
  const res = await vg.api('GET', `/vaults/${vg.vg.defaultVault?.vaultId}/certificates`);
  return res.json.data as Array<Record<string, unknown>>;
}

function rowOf(description: string) {
  return page
    .getByRole('row')
    .filter({ has: page.getByRole('button', { name: `Preview certificate ${description}`, exact: true }) });
}

describe('dashboard', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    mkdirSync('docs/images', { recursive: true });
    files = mkdtempSync(join(tmpdir(), 'vaultgate-dashboard-'));
    ca = makeCa({ cn: 'Visa Test Issuing CA', org: 'Visa Test' });
    visa = makeLeaf({
      issuer: ca,
      cn: 'client.visa.example',
      org: 'Acme Payments',
      sans: ['DNS:client.visa.example'],
    });
    mastercard = makeLeaf({ issuer: ca, cn: 'client.mastercard.example', keyType: 'rsa2048' });
    inbound = makeLeaf({ issuer: ca, cn: 'callback.acme.example' });
    renewing = makeLeaf({ issuer: ca, cn: 'soon.acme.example', notAfter: new Date(Date.now() + 10 * DAY) });
    writeFileSync(
      join(files, 'mastercard.p12'),
      Buffer.from(makePkcs12(mastercard, { passphrase: 'p12 secret' }), 'base64'),
    );
    writeFileSync(join(files, 'inbound.pem'), chainPem(inbound));
    writeFileSync(join(files, 'inbound.key'), inbound.keyPem);

    vg = await startTestVaultgate();
    ui = await openDashboardBrowser();
    page = ui.page;
  });

  afterAll(async () => {
    await ui?.browser.close();
    await vg?.stop();
    if (files) rmSync(files, { recursive: true, force: true });
  });

  it('refuses a wrong admin token with a clear message, then signs in', async () => {
    await page.goto(vg.adminUrl);
    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('That token is not correct');
    await screens('signin');

    await page.getByLabel('Admin token').fill(vg.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Mutual TLS Certificates' }).waitFor();
    await page.getByText('No certificates yet — add the one your card network issued you').waitFor();
    const picker = page.getByLabel('Vault');
    expect(await picker.locator('option').allTextContents()).toEqual([
      `Default vault (${vg.vg.defaultVault?.vaultId})`,
    ]);
    // The session is a cookie the page cannot read; nothing is kept in web storage.
    expect(
      // Strings, not functions: this file is type-checked without the DOM library.
      await page.evaluate('document.cookie + JSON.stringify(localStorage) + JSON.stringify(sessionStorage)'),
    ).toBe('{}{}');
    await screens('certificates-empty');
  });

  it('adds an outbound certificate by paste and shows it in the table', async () => {
    await page.getByRole('button', { name: 'Add Certificate' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add Certificate' });
    await dialog.getByLabel('Description').fill('Visa VDP');
    await dialog.getByLabel('Certificate', { exact: true }).fill(chainPem(visa));
    await dialog.getByLabel('Private key', { exact: true }).fill(visa.keyPem);
    await dialog.getByLabel('Outbound').check();
    expect(await dialog.getByLabel('Access credential').inputValue()).not.toBe('');
    await screens('add-certificate');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await rowOf('Visa VDP').waitFor();

    const cells = await rowOf('Visa VDP').getByRole('cell').allTextContents();
    expect(cells.slice(0, 3)).toEqual(['Visa VDP', 'Outbound', 'Created at first start']);
    const stored = (await certificates())[0]!;
    expect(cells[3]).toBe(`${String(stored.not_after).slice(0, 10)} valid`);
    await rowOf('Visa VDP')
      .getByRole('button', { name: 'Remove certificate Visa VDP', exact: true })
      .waitFor();
    const headers = await page.getByRole('columnheader').allTextContents();
    expect(headers.slice(0, 4)).toEqual([
      'Description',
      'Proxy type',
      'Access credentials',
      'Expiration date',
    ]);
  });

  it('refuses a mismatched key with the API message beside the field, adding nothing', async () => {
    const wrongKey = makeKey('p256', 'someone-else');
    const direct = await vg.api('POST', `/vaults/${vg.vg.defaultVault?.vaultId}/certificates`, {
      proxy_type: 'outbound',
      credential_id: (await vg.api('GET', `/vaults/${vg.vg.defaultVault?.vaultId}/credentials`)).json.data[0]
        .id,
      certificate: visa.certPem,
      private_key: wrongKey,
    });
    expect(direct.json.error.code).toBe('key_mismatch');

    await page.getByRole('button', { name: 'Add Certificate' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add Certificate' });
    await dialog.getByLabel('Description').fill('Wrong key');
    await dialog.getByLabel('Certificate', { exact: true }).fill(visa.certPem);
    await dialog.getByLabel('Private key', { exact: true }).fill(wrongKey);
    await dialog.getByRole('button', { name: 'Save' }).click();
    const error = dialog.locator('.field__error:not([hidden]), .alert--error');
    await error.first().waitFor();
    expect(await error.allTextContents()).toEqual([direct.json.error.message]);
    if (direct.json.error.field) {
      const control = dialog.locator(`[name="${direct.json.error.field}"]`);
      expect(await control.getAttribute('aria-invalid')).toBe('true');
    }
    await screens('add-certificate-error');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await certificates()).length).toBe(1);
    expect(await page.getByRole('button', { name: /^Preview certificate/ }).count()).toBe(1);
  });

  it('creates inbound and outbound routes, showing the inbound host', async () => {
    await page.getByRole('link', { name: 'Routes' }).click();
    await page.getByRole('heading', { name: 'Routes', exact: true }).waitFor();
    await page.getByText(vg.vg.defaultVault!.inboundHost).first().waitFor();
    await page.getByText('No inbound routes yet').waitFor();

    await page.getByRole('button', { name: 'Add inbound route' }).click();
    let dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('customer api');
    await dialog.getByLabel('Upstream URL').fill('https://api.customer.example:443');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });

    await page.getByRole('button', { name: 'Add outbound route' }).click();
    dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('visa');
    await dialog.getByLabel('Host endpoint').fill('api\\.visa\\.com');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Edit route visa' }).waitFor();

    const routes = (await vg.api('GET', `/vaults/${vg.vg.defaultVault?.vaultId}/routes`)).json.data;
    expect(routes.map((r: { type: string; tags: { name: string } }) => [r.type, r.tags.name])).toEqual([
      ['inbound', 'customer api'],
      ['outbound', 'visa'],
    ]);
    expect(routes[0].destination_override_endpoint).toBe('https://api.customer.example:443');
    await screens('routes');
  });

  it('adds certificates from files: PKCS#12 (outbound) and PEM files (inbound, to a route)', async () => {
    await page.getByRole('link', { name: 'Mutual TLS Certificates' }).click();
    await page.getByRole('button', { name: 'Add Certificate' }).click();
    let dialog = page.getByRole('dialog', { name: 'Add Certificate' });
    await dialog.getByLabel('Description').fill('Mastercard');
    await dialog
      .getByLabel('Or upload a file (.pem, .crt, .p12, .pfx)')
      .setInputFiles(join(files, 'mastercard.p12'));
    await dialog.getByText('PKCS#12 file “mastercard.p12” chosen').waitFor();
    await dialog.getByLabel('Passphrase').fill('p12 secret');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await rowOf('Mastercard').waitFor();

    await page.getByRole('button', { name: 'Add Certificate' }).click();
    dialog = page.getByRole('dialog', { name: 'Add Certificate' });
    await dialog.getByLabel('Description').fill('Acme callbacks');
    await dialog
      .getByLabel('Or upload a file (.pem, .crt, .p12, .pfx)')
      .setInputFiles(join(files, 'inbound.pem'));
    await dialog
      .getByLabel('Or upload a file (.pem, .key, .p12, .pfx)')
      .setInputFiles(join(files, 'inbound.key'));
    await dialog.getByText('Loaded “inbound.key”').waitFor();
    await dialog.getByLabel('Inbound').check();
    expect(await dialog.getByLabel('Access credential').isVisible()).toBe(false);
    await dialog.getByLabel('Route', { exact: true }).selectOption({ label: 'customer api — (.*)' });
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await rowOf('Acme callbacks').waitFor();
    const cells = await rowOf('Acme callbacks').getByRole('cell').allTextContents();
    expect(cells.slice(0, 3)).toEqual(['Acme callbacks', 'Inbound', 'Route: customer api']);

    const stored = await certificates();
    const mc = stored.find((c) => c.description === 'Mastercard')!;
    expect(mc.subject).toContain('client.mastercard.example');
    expect(mc.key_type).toBe('rsa');
  });

  it('shows warnings after saving and a banner for a certificate expiring within 30 days', async () => {
    await page.getByRole('button', { name: 'Add Certificate' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add Certificate' });
    await dialog.getByLabel('Description').fill('Visa VDP renewal due');
    await dialog.getByLabel('Certificate', { exact: true }).fill(chainPem(renewing));
    await dialog.getByLabel('Private key', { exact: true }).fill(renewing.keyPem);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('list', { name: 'Warnings' }).getByText('expires within 30 days').waitFor();
    const banner = page.locator('.banner');
    expect(await banner.textContent()).toContain(
      '1 certificate expires within 30 days: Visa VDP renewal due',
    );
    expect(await rowOf('Visa VDP renewal due').locator('.badge').textContent()).toBe('expiring soon');
    await screens('certificates');
    // The README's picture. Every run has a new vault id and dates, so the committed file is only
    // replaced when missing or on request, not dirtied by each `npm test`.
    if (!existsSync(DOCS_SCREENSHOT) || process.env.VAULTGATE_UPDATE_SCREENSHOTS === '1')
      copyFileSync(join(SCREENSHOTS, 'certificates-1280.png'), DOCS_SCREENSHOT);
  });

  it('opens a preview with the signer, details and the PEM', async () => {
    await rowOf('Visa VDP').getByRole('cell').nth(1).click();
    const dialog = page.getByRole('dialog', { name: 'Visa VDP', exact: true });
    await dialog.getByText('Signer').waitFor();
    const stored = (await certificates()).find((c) => c.description === 'Visa VDP')!;
    const signer = dialog.locator('dt:text-is("Signer") + dd');
    expect(await signer.textContent()).toBe(stored.issuer);
    expect(stored.issuer).toContain('Visa Test Issuing CA');
    expect(await dialog.locator('dt:text-is("SHA-256 fingerprint") + dd').textContent()).toBe(
      stored.fingerprint_sha256,
    );
    expect(await dialog.locator('dt:text-is("SANs") + dd').textContent()).toContain('client.visa.example');
    expect(await dialog.getByLabel('Certificate PEM', { exact: true }).textContent()).toContain(
      '-----BEGIN CERTIFICATE-----',
    );
    expect(await dialog.textContent()).not.toContain('PRIVATE KEY');
    await dialog.getByRole('button', { name: 'Copy certificate PEM' }).waitFor();
    await screens('certificate-preview');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('edits the hosts of a certificate in its preview, showing a refused host at the field', async () => {
    await rowOf('Visa VDP').getByRole('cell').nth(1).click();
    const dialog = page.getByRole('dialog', { name: 'Visa VDP', exact: true });
    const form = dialog.getByRole('form', { name: 'Edit certificate' });
    const hosts = form.getByLabel('Hosts');
    await hosts.fill('*.*.visa.example');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await form.locator('[aria-invalid="true"]').waitFor();
    expect(await form.locator('.field__error:visible').textContent()).toContain('*.*.visa.example');

    await hosts.fill('api.visa.example, sandbox.visa.example');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await form.getByText('Saved.', { exact: false }).waitFor();
    const stored = (await certificates()).find((c) => c.description === 'Visa VDP')!;
    expect(stored.hosts).toEqual(['api.visa.example', 'sandbox.visa.example']);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('works with the keyboard: dialogs open on Enter, trap focus, close on Escape and return focus', async () => {
    const add = page.getByRole('button', { name: 'Add Certificate' });
    await add.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Add Certificate' });
    await dialog.waitFor();
    expect(await page.evaluate('document.activeElement.getAttribute("name")')).toBe('description');
    // A visible focus ring: the focused control draws an outline.
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).not.toBe('none');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Add Certificate');

    await page.getByRole('button', { name: 'Preview certificate Mastercard', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Mastercard', exact: true }).getByText('Signer').waitFor();
    await page.keyboard.press('Escape');
  });

  it('removes a certificate only after confirmation', async () => {
    const remove = page.getByRole('button', { name: 'Remove certificate Visa VDP', exact: true });
    await remove.click();
    let dialog = page.getByRole('dialog', { name: 'Remove certificate' });
    expect(await dialog.textContent()).toContain(
      'will no longer be used for TLS connections with the third party',
    );
    await screens('remove-certificate');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await certificates()).some((c) => c.description === 'Visa VDP')).toBe(true);

    await remove.click();
    dialog = page.getByRole('dialog', { name: 'Remove certificate' });
    await dialog.getByRole('button', { name: 'Remove Certificate' }).click();
    await dialog.waitFor({ state: 'detached' });
    await rowOf('Visa VDP').waitFor({ state: 'detached' });
    expect((await certificates()).map((c) => c.description).sort()).toEqual([
      'Acme callbacks',
      'Mastercard',
      'Visa VDP renewal due',
    ]);
  });

  it('generates a credential whose password is shown once, toggles it, downloads the CA, deletes it', async () => {
    await page.getByRole('link', { name: 'Access credentials' }).click();
    await page.getByLabel('Description (optional)').fill('checkout service');
    await page.getByRole('button', { name: 'Generate credential' }).click();
    const panel = page.getByRole('region', { name: 'New access credential' });
    await panel.waitFor();
    const text = (await panel.textContent()) ?? '';
    const password = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(text)?.[0];
    expect(password).toBeDefined();
    const created = (
      await vg.api('GET', `/vaults/${vg.vg.defaultVault?.vaultId}/credentials`)
    ).json.data.find((c: { description: string }) => c.description === 'checkout service');
    expect(text).toContain(
      `HTTPS_PROXY=http://${created.username}:${password}@127.0.0.1:${vg.vg.ports.outbound}`,
    );
    await screens('credentials');

    await page.reload();
    await page.getByRole('button', { name: `Deactivate ${created.username}` }).click();
    await page.getByRole('button', { name: `Activate ${created.username}` }).waitFor();
    expect(await page.locator('body').textContent()).not.toContain(password);

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download outbound CA' }).click();
    const file = await (await download).path();
    expect(readFileSync(file, 'utf8')).toContain('-----BEGIN CERTIFICATE-----');

    await page.getByRole('button', { name: `Delete ${created.username}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete access credential' });
    await dialog.getByRole('button', { name: 'Delete Credential' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: `Delete ${created.username}` }).waitFor({ state: 'detached' });
  });

  it('creates a vault from the picker and signs out', async () => {
    await page.getByRole('button', { name: 'New vault' }).click();
    const dialog = page.getByRole('dialog', { name: 'New vault' });
    await dialog.getByLabel('Name', { exact: true }).fill('Payments live');
    await dialog.getByLabel('Environment').selectOption('live');
    await dialog.getByRole('button', { name: 'Create vault' }).click();
    await page.getByRole('heading', { name: /Payments live/ }).waitFor();
    expect(await page.getByLabel('Vault').locator('option').count()).toBe(2);
    await page.getByText('No access credentials yet').waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    await page.reload();
    await page.getByLabel('Admin token').waitFor();
  });

  it('logged no browser console errors', () => {
    expect(ui.consoleErrors).toEqual([]);
  });
});
