// The dashboard with 10,000 certificates in one vault, in a real browser against a real vaultgate:
// the Mutual TLS tab shows its first page in under a second, holds one page of rows, pages with Next
// and Previous, and finds one certificate among the 10,000 by search and by filter.
//
// Uploading 10,000 certificates through the API takes minutes, so the rows are written through the
// store, made exactly as the API makes them (src/api/certificates.ts): parsed by parseUpload, the key
// sealed under its own row's binding (certificateKeyAad). A handful of real key pairs are shared by
// the rows; nothing in the schema ties a fingerprint to one row.

import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUpload, type ParsedCertificate } from '../src/certificates/upload.js';
import { certificateKeyAad } from '../src/secrets/aad.js';
import { loadMasterKey } from '../src/secrets/files.js';
import { Keyring } from '../src/secrets/keyring.js';
import type { CertificateRecord } from '../src/store/types.js';
import { openDashboardBrowser, type DashboardBrowser } from './helpers/dashboard-browser.js';
import { chainPem, makeCa, makeLeaf, type Issued } from './helpers/pki-fixtures.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

const COUNT = 10_000;
const PAGE = 50;
const DAY = 24 * 60 * 60 * 1000;
/** The one certificate a user looks for ("the Visa cert"). */
const VISA_AT = 7_321;
const VISA = 'Visa Direct production';
/** Rows tied to the inbound route, and rows with a certificate that expires within 30 days. */
const isInbound = (i: number): boolean => i % 1000 === 3;
const isExpiring = (i: number): boolean => i % 2500 === 1;

let vg: TestVaultgate;
let ui: DashboardBrowser;
let page: Page;
let vaultId: string;
let visaFingerprint: string;
const figures: Record<string, number> = {};

const partner = (i: number): string => `Partner ${String(i).padStart(5, '0')}`;
const parsed = (leaf: Issued): ParsedCertificate =>
  parseUpload({ certificate: chainPem(leaf), private_key: leaf.keyPem });

async function seed(): Promise<void> {
  vaultId = vg.vg.defaultVault!.vaultId;
  const credentialId = (await vg.api('GET', `/vaults/${vaultId}/credentials`)).json.data[0].id as string;
  const route = await vg.api('POST', `/vaults/${vaultId}/routes`, {
    destination_override_endpoint: 'https://callbacks.partner.example',
    tags: { name: 'partner callbacks' },
  });
  expect(route.status, route.text).toBe(201);
  const ca = makeCa({ cn: 'Paging Test Issuing CA', org: 'Paging Test' });
  const shared = ['a', 'b', 'c'].map((x) =>
    parsed(makeLeaf({ issuer: ca, cn: `client-${x}.partners.example` })),
  );
  const expiring = parsed(
    makeLeaf({ issuer: ca, cn: 'renew.partners.example', notAfter: new Date(Date.now() + 10 * DAY) }),
  );
  const visa = parsed(makeLeaf({ issuer: ca, cn: 'client.payments.example' }));
  visaFingerprint = visa.metadata.fingerprint_sha256;

  const keyring = new Keyring(loadMasterKey(vg.dataDir, undefined).value);
  const start = Date.now() - COUNT * 1000;
  const rows: CertificateRecord[] = [];
  for (let i = 0; i < COUNT; i++) {
    const material = i === VISA_AT ? visa : isExpiring(i) ? expiring : shared[i % shared.length]!;
    const inbound = isInbound(i);
    const owner = {
      id: randomUUID(),
      vault_id: vaultId,
      credential_id: inbound ? null : credentialId,
      route_id: inbound ? (route.json.data.id as string) : null,
      certificate_pem: material.chainPem,
    };
    rows.push({
      ...material.metadata,
      ...owner,
      proxy_type: inbound ? 'inbound' : 'outbound',
      description: i === VISA_AT ? VISA : partner(i),
      hosts: i === VISA_AT ? ['api.visa.com'] : [],
      private_key_sealed: keyring.seal(material.privateKeyPem, certificateKeyAad(owner)),
      warnings: material.warnings,
      // One second apart, in index order: the list's creation order is the rows' index order.
      created_at: new Date(start + i * 1000).toISOString(),
      updated_at: new Date(start + i * 1000).toISOString(),
    });
  }
  await vg.vg.store.write(async (repo) => {
    for (const row of rows) await repo.insertCertificate(row);
  });
  // No vg.vg.refresh(): the lists read the store, never the proxies' snapshot, and building that
  // snapshot of 10,000 certificates in every process would take most of this test's time budget.
}

const rows = () => page.locator('.table tbody tr');
const status = () => page.locator('.pager__status');
const descriptions = () => page.locator('.table tbody tr td:first-child').allTextContents();

/**
 * Milliseconds from `start` (performance.now() in the page; 0 for a fresh navigation) until the
 * table holds `count` rows and the page has painted them, as the browser measures it. Installed on
 * every document of the page, so it also sees the first paint of a reload.
 */
const WATCH_ROWS = `(() => {
  window.__rowsShownAt = new Promise((resolve) => {
    const check = () => {
      const n = document.querySelectorAll('.table tbody tr').length;
      const line = document.querySelector('.pager__status');
      if (n === ${PAGE} && line && line.textContent) {
        observer.disconnect();
        requestAnimationFrame(() => resolve(performance.now()));
      }
    };
    const observer = new MutationObserver(check);
    observer.observe(document, { childList: true, subtree: true, characterData: true });
  });
})()`;

describe('dashboard with 10,000 certificates', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    vg = await startTestVaultgate();
    const t0 = performance.now();
    await seed();
    figures['seed_ms'] = Math.round(performance.now() - t0);
    ui = await openDashboardBrowser();
    page = ui.page;
  }, 60_000);

  afterAll(async () => {
    // The figures this test measured, for docs/dashboard.md and the report.
    console.log(`dashboard paging figures: ${JSON.stringify(figures)}`);
    await ui?.browser.close();
    await vg?.stop();
  });

  it('opens the certificates tab on its first page in under a second', async () => {
    expect((await vg.api('GET', `/vaults/${vaultId}/certificates?limit=1`)).json.next_cursor).not.toBeNull();
    // Signed in on another tab, so that opening the certificate tab is the first certificate list
    // this vaultgate serves (nothing cached on the server side).
    await page.goto(`${vg.adminUrl}/#/${vaultId}/routes`);
    await page.getByLabel('Admin token').fill(vg.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Add inbound route' }).waitFor();

    await page.evaluate(WATCH_ROWS);
    const opened = Number(
      await page.evaluate(`(() => {
        const t0 = performance.now();
        location.hash = '#/${vaultId}/certificates';
        return window.__rowsShownAt.then((t) => t - t0);
      })()`),
    );
    figures['tab_first_page_ms'] = Math.round(opened);
    expect(opened).toBeLessThan(1000);
    expect(await rows().count()).toBe(PAGE);
    expect(await status().textContent()).toBe(`Certificates 1–${PAGE}, more follow`);
    expect((await descriptions()).slice(0, 2)).toEqual([partner(0), partner(1)]);

    // A reload: from navigation start (document, 22 modules, session check, lists) to the first page
    // painted. Measured 0.45–0.6 s, but up to 1.2 s while other suites load this shared 2-core
    // machine: most of it is the document and module fetches, which do not grow with the
    // certificates, so the bound here is looser than the tab's.
    await page.addInitScript(WATCH_ROWS);
    await page.reload();
    const reloaded = Number(await page.evaluate('window.__rowsShownAt'));
    figures['reload_first_page_ms'] = Math.round(reloaded);
    expect(reloaded).toBeLessThan(2000);
    expect(await rows().count()).toBe(PAGE);
    // Every <tr> on the page is one of this page's rows: nothing of the other 9,950 in the DOM.
    expect(await page.locator('tr').count()).toBe(PAGE + 1);
  });

  it('pages with Next and Previous', async () => {
    const first = await descriptions();
    await page.getByRole('button', { name: 'Next' }).click();
    await status()
      .getByText(`Certificates ${PAGE + 1}–${2 * PAGE}, more follow`)
      .waitFor();
    const second = await descriptions();
    expect(second).toHaveLength(PAGE);
    expect(second.some((d) => first.includes(d))).toBe(false);
    await page.getByRole('button', { name: 'Next' }).click();
    await status()
      .getByText(`Certificates ${2 * PAGE + 1}–${3 * PAGE}, more follow`)
      .waitFor();
    await page.getByRole('button', { name: 'Previous' }).click();
    await status()
      .getByText(`Certificates ${PAGE + 1}–${2 * PAGE}, more follow`)
      .waitFor();
    expect(await descriptions()).toEqual(second);
    await page.getByRole('button', { name: 'Previous' }).click();
    await status().getByText(`Certificates 1–${PAGE}, more follow`).waitFor();
    expect(await descriptions()).toEqual(first);
    expect(await page.getByRole('button', { name: 'Previous' }).isDisabled()).toBe(true);
  });

  it('finds the one Visa certificate among 10,000 by search, and by its fingerprint', async () => {
    const search = page.getByLabel('Search certificates');
    const t0 = performance.now();
    await search.fill('visa');
    await status().getByText('1 certificate', { exact: true }).waitFor();
    figures['search_ms'] = Math.round(performance.now() - t0);
    expect(await descriptions()).toEqual([VISA]);

    await search.fill(visaFingerprint.slice(0, 17));
    await search.press('Enter');
    await page.getByRole('button', { name: `Preview certificate ${VISA}` }).waitFor();
    await status().getByText('1 certificate', { exact: true }).waitFor();
    await page.getByRole('button', { name: `Preview certificate ${VISA}` }).click();
    const preview = page.getByRole('dialog', { name: VISA });
    expect(await preview.locator('dt:text-is("SHA-256 fingerprint") + dd').textContent()).toBe(
      visaFingerprint,
    );
    await page.keyboard.press('Escape');
    await preview.waitFor({ state: 'detached' });

    await search.fill('no certificate is called this');
    await page.getByText('No certificate matches').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await status().getByText(`Certificates 1–${PAGE}, more follow`).waitFor();
    expect(await search.inputValue()).toBe('');
  });

  it('filters by status (from the expiry banner too) and by the route certificates are tied to', async () => {
    const expiring = Array.from({ length: COUNT }, (_, i) => i).filter(isExpiring);
    const banner = page.locator('.banner');
    await banner.waitFor();
    expect(await banner.textContent()).toContain(`${expiring.length} certificates expire within 30 days`);
    await banner.getByRole('button', { name: 'Show expiring certificates' }).click();
    await status().getByText(`${expiring.length} certificates`, { exact: true }).waitFor();
    expect(await descriptions()).toEqual(expiring.map(partner));
    expect(await page.getByLabel('Status').inputValue()).toBe('expiring_soon');

    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Tied to').selectOption({ label: 'Route: partner callbacks' });
    const inbound = Array.from({ length: COUNT }, (_, i) => i).filter(isInbound);
    await status().getByText(`${inbound.length} certificates`, { exact: true }).waitFor();
    expect(await descriptions()).toEqual(inbound.map(partner));
    const cells = await rows().first().getByRole('cell').allTextContents();
    expect(cells.slice(1, 3)).toEqual(['Inbound', 'Route: partner callbacks']);

    await page.getByLabel('Tied to').selectOption('');
    await page.getByLabel('Proxy type').selectOption('inbound');
    await status().getByText(`${inbound.length} certificates`, { exact: true }).waitFor();
  });

  it('logged no browser console errors', () => {
    expect(ui.consoleErrors).toEqual([]);
  });
});
