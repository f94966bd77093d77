// Debian's Chromium driven by playwright-core, for the dashboard tests: launch flags, console-error
// collection and screenshots at the two widths the dashboard is designed for.

import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const SCREENSHOTS = 'test-artifacts/screenshots';

export interface DashboardBrowser {
  browser: Browser;
  page: Page;
  /** Console errors and uncaught exceptions seen so far, except the API refusals tests provoke. */
  consoleErrors: string[];
  /** Saves the current screen at 1280 and 390 px wide as `<name>-<width>.png`. */
  screens(name: string): Promise<void>;
}

export async function openDashboardBrowser(): Promise<DashboardBrowser> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  // Shorter than the test timeout, so a missing element fails with Playwright's precise message.
  page.setDefaultTimeout(10_000);
  const consoleErrors: string[] = [];
  page.on('console', (msg) => {
    // Chromium itself logs every non-2xx fetch as a failed resource. The sign-in probe (401), a wrong
    // token (401) and a rejected upload (422) are refusals the tests provoke on purpose; any other
    // status (a 404 for a missing asset, a 500) still counts as an error.
    if (msg.type() !== 'error') return;
    if (/Failed to load resource: the server responded with a status of (401|422)/.test(msg.text())) return;
    consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(String(err)));
  return {
    browser,
    page,
    consoleErrors,
    async screens(name) {
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: width === 1280 ? 800 : 844 });
        await page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}.png`), fullPage: true });
      }
      await page.setViewportSize({ width: 1280, height: 800 });
    },
  };
}
