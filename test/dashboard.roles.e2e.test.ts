// The dashboard under each role (issue 17), in a real browser against a real vaultgate: tokens made
// through the API with the bootstrap token, signed in as a viewer, an operator and an admin. Every
// page (and the previews) is walked once it has loaded its data, and what each role can reach is
// read from the DOM: the `data-write` mark every write control carries (web/src/roles.ts), and, so
// that a control someone forgot to mark is caught too, every form, editable field and button named
// like a write that is not inside a marked element. The admin's walk must find every kind of write,
// so the viewer's empty result means something. Then the admin's API tokens page (a token shown
// once, copied, deleted after a confirmation), the Audit log (sign-ins with actor and address, the
// actor filter), and a session whose token is deleted meanwhile.

import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainPem, makeCa, makeLeaf } from './helpers/pki-fixtures.js';
import { openDashboardBrowser, SCREENSHOTS, type DashboardBrowser } from './helpers/dashboard-browser.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';
import { startReceiver, type Receiver } from './helpers/webhooks.js';

const DAY = 24 * 60 * 60 * 1000;
const HOSTNAME = 'pay.acme.example';

/** Every action of web/src/roles.ts that marks a control; the admin's walk must meet each one. */
const ALL_WRITES = [
  'certificate.write',
  'certificate_request.write',
  'client_auth.write',
  'credential.write',
  'hostname.write',
  'route.write',
  'token.write',
  'vault.write',
  'webhook.write',
];
const ADMIN_ONLY = ['token.write', 'vault.write', 'webhook.write'];

let vg: TestVaultgate;
let ui: DashboardBrowser;
let page: Page;
let receiver: Receiver;
let vaultId: string;
const tokens: Record<'viewer' | 'operator' | 'admin', { id: string; name: string; token: string }> = {
  viewer: { id: '', name: 'vera', token: '' },
  operator: { id: '', name: 'otto', token: '' },
  admin: { id: '', name: 'ada', token: '' },
};

async function created<T = Record<string, unknown>>(path: string, body: unknown): Promise<T> {
  const res = await vg.api('POST', path, body);
  expect(res.status, `${path}: ${res.text}`).toBe(201);
  return res.json.data as T;
}

async function bearer(token: string, path: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${vg.adminUrl}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, json: await res.json().catch(() => undefined) };
}

async function signIn(token: string): Promise<void> {
  await page.getByLabel('API token or admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Mutual TLS Certificates' }).waitFor();
}

async function signOut(): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API token or admin token').waitFor();
}

/** What a page shows once its data is there, for every role: the walk reads the DOM only then. */
const LOADED: Record<string, (p: Page) => Promise<void>> = {
  certificates: async (p) => {
    await p.getByRole('button', { name: 'Preview certificate Visa VDP', exact: true }).waitFor();
    await p
      .getByRole('region', { name: 'Pending requests' })
      .getByText('renewal.acme.example')
      .first()
      .waitFor();
  },
  credentials: (p) => p.getByRole('cell', { name: 'Created at first start' }).waitFor(),
  routes: (p) => p.getByRole('cell', { name: 'acme api', exact: true }).waitFor(),
  hostnames: async (p) => {
    await p.getByRole('button', { name: `Preview hostname ${HOSTNAME}`, exact: true }).waitFor();
    await p.getByRole('region', { name: 'Default hostname' }).getByText('Caller mTLS').first().waitFor();
  },
  notifications: (p) => p.getByText(receiver.url, { exact: true }).waitFor(),
  audit: (p) => p.getByRole('cell', { name: 'session.signed_in' }).first().waitFor(),
  tokens: (p) => p.getByRole('cell', { name: 'vera', exact: true }).waitFor(),
};

/**
 * Read in the page (a string: this file is type-checked without the DOM library). `writes`: the
 * marked controls. `unmarked`: forms (other than searches), editable fields (other than the vault
 * picker and searches) and buttons named like a write, outside every marked element.
 */
const READ_CONTROLS = `(() => {
  const WRITE = /^(add|create|new|upload|edit|save|delete|remove|replace|generate|activate|deactivate|renew)\\b/i;
  const outside = (el) => !el.closest('[data-write]') && !el.closest('form[role=search]');
  const name = (el) => (el.getAttribute('aria-label') || el.textContent || '').trim();
  const writes = [...document.querySelectorAll('[data-write]')].map((el) => el.dataset.write);
  const unmarked = [
    ...[...document.querySelectorAll('form')].filter(outside).map((f) => 'form ' + (f.getAttribute('aria-label') || f.className)),
    ...[...document.querySelectorAll('input, select, textarea')]
      .filter((el) => outside(el) && el.id !== 'vault-picker' && !el.readOnly)
      .map((el) => 'field ' + (el.name || el.id)),
    ...[...document.querySelectorAll('button')].filter((b) => outside(b) && WRITE.test(name(b))).map((b) => 'button ' + name(b)),
  ];
  return { writes, unmarked };
})()`;

interface Controls {
  writes: string[];
  unmarked: string[];
}

/**
 * No list or panel still loading. (Polled from here: waitForFunction would evaluate a string in the
 * page, which the dashboard's CSP refuses without 'unsafe-eval'.)
 */
async function settled(): Promise<void> {
  await expect.poll(() => page.locator('[aria-busy="true"], .loading').count()).toBe(0);
}

async function readControls(where: string, seen: Map<string, Controls>): Promise<void> {
  await settled();
  seen.set(where, (await page.evaluate(READ_CONTROLS)) as Controls);
}

/** Every tab the role sees, and the certificate and hostname previews; what each one offers. */
async function walk(): Promise<{ tabs: string[]; seen: Map<string, Controls> }> {
  const seen = new Map<string, Controls>();
  const nav = page.getByRole('navigation', { name: 'Vault Settings' });
  const tabs = await nav.getByRole('link').allTextContents();
  for (const label of tabs) {
    await nav.getByRole('link', { name: label, exact: true }).click();
    // On every page: the vault's certificates to renew (the seeded one expires in 10 days).
    await page.getByText('Certificates expiring within 30 days').waitFor();
    const id = page.url().split('/').pop() ?? '';
    expect(LOADED[id], `a loaded marker for the ${id} page`).toBeDefined();
    await LOADED[id]!(page);
    await readControls(id, seen);
    if (id === 'certificates' || id === 'hostnames') {
      const what = id === 'certificates' ? 'certificate Visa VDP' : `hostname ${HOSTNAME}`;
      await page.getByRole('button', { name: `Preview ${what}`, exact: true }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByText('SHA-256 fingerprint').waitFor();
      await readControls(`${id} preview`, seen);
      await dialog.getByRole('button', { name: 'Close', exact: true }).first().click();
      await dialog.waitFor({ state: 'detached' });
    }
  }
  return { tabs, seen };
}

function writesOf(seen: Map<string, Controls>): string[] {
  return [...new Set([...seen.values()].flatMap((c) => c.writes))].sort();
}

function unmarkedOf(seen: Map<string, Controls>): Record<string, string[]> {
  return Object.fromEntries(
    [...seen].filter(([, c]) => c.unmarked.length > 0).map(([k, c]) => [k, c.unmarked]),
  );
}

describe('dashboard: roles', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    receiver = await startReceiver([204]);
    vg = await startTestVaultgate();
    vaultId = vg.vg.defaultVault!.vaultId;
    const base = `/vaults/${vaultId}`;

    // Something on every page, so that each row's controls are drawn (or, for a viewer, left out).
    const ca = makeCa({ cn: 'Roles Test CA', org: 'Roles Test' });
    const visa = makeLeaf({
      issuer: ca,
      cn: 'client.visa.example',
      notAfter: new Date(Date.now() + 10 * DAY),
    });
    const server = makeLeaf({ issuer: ca, cn: HOSTNAME, sans: [`DNS:${HOSTNAME}`], eku: ['serverAuth'] });
    const credential = (await vg.api('GET', `${base}/credentials`)).json.data[0] as { id: string };
    await created(`${base}/certificates`, {
      proxy_type: 'outbound',
      credential_id: credential.id,
      description: 'Visa VDP',
      certificate: chainPem(visa),
      private_key: visa.keyPem,
    });
    await created(`${base}/certificate-requests`, {
      proxy_type: 'outbound',
      credential_id: credential.id,
      subject: { common_name: 'renewal.acme.example' },
      key_type: 'ec',
    });
    await created(`${base}/routes`, {
      destination_override_endpoint: 'https://api.acme.example',
      tags: { name: 'acme api' },
    });
    await created(`${base}/hostnames`, {
      hostname: HOSTNAME,
      certificate: chainPem(server),
      private_key: server.keyPem,
    });
    // certificate.deleted only: nothing in this test deletes a certificate, so nothing is sent.
    await created('/webhooks', { url: receiver.url, events: ['certificate.deleted'] });
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const made = await created<{ id: string; token: string }>('/api-tokens', {
        name: tokens[role].name,
        role,
      });
      tokens[role].id = made.id;
      tokens[role].token = made.token;
    }

    ui = await openDashboardBrowser();
    page = ui.page;
  });

  afterAll(async () => {
    await ui?.browser.close();
    await vg?.stop();
    await receiver?.close();
  });

  it('signs in with any token, refusing a wrong one, and shows who is signed in', async () => {
    await page.goto(vg.adminUrl);
    await page.getByLabel('API token or admin token').fill('vgt_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await signIn(tokens.viewer.token);
    const who = page.locator('#signed-in-as');
    expect((await who.textContent())?.replace(/\s+/g, ' ')).toBe('Signed in as vera Viewer');
    await screens('roles-viewer');
  });

  it('shows a viewer every page and no write control anywhere', async () => {
    const { tabs, seen } = await walk();
    expect(tabs).toEqual([
      'Mutual TLS Certificates',
      'Access credentials',
      'Routes',
      'Hostnames',
      'Notifications',
    ]);
    expect(writesOf(seen)).toEqual([]);
    expect(unmarkedOf(seen)).toEqual({});
    // Read-only controls stay: previews, downloads, deliveries, copy.
    await page.getByRole('link', { name: 'Access credentials' }).click();
    await page.getByRole('button', { name: 'Download outbound CA' }).waitFor();
    // An address of a page the role may not see opens the certificates instead.
    await page.goto(`${vg.adminUrl}/#/${vaultId}/tokens`);
    await page.getByRole('heading', { name: 'Mutual TLS Certificates' }).waitFor();
    expect(page.url()).toMatch(/\/certificates$/);
    await signOut();
  });

  it('shows an operator certificate, credential, route and hostname writes, but no vault, webhook or token writes', async () => {
    await signIn(tokens.operator.token);
    const { tabs, seen } = await walk();
    expect(tabs).toEqual([
      'Mutual TLS Certificates',
      'Access credentials',
      'Routes',
      'Hostnames',
      'Notifications',
      'Audit log',
    ]);
    expect(writesOf(seen)).toEqual(ALL_WRITES.filter((w) => !ADMIN_ONLY.includes(w)));
    expect(unmarkedOf(seen)).toEqual({});
    // The Notifications page lists the webhooks without their form or delete buttons.
    expect(seen.get('notifications')?.writes).not.toContain('webhook.write');
    await page.getByRole('link', { name: 'Notifications' }).click();
    await page.getByRole('button', { name: `Deliveries of ${receiver.url}` }).waitFor();
    expect(await page.getByRole('form', { name: 'New webhook' }).count()).toBe(0);
    await signOut();
  });

  it('shows an admin every page and every kind of write control, each one marked', async () => {
    await signIn(tokens.admin.token);
    const { tabs, seen } = await walk();
    expect(tabs).toEqual([
      'Mutual TLS Certificates',
      'Access credentials',
      'Routes',
      'Hostnames',
      'Notifications',
      'Audit log',
      'API tokens',
    ]);
    // The walk sees every kind of write: an empty viewer result is not a walk that saw nothing.
    expect(writesOf(seen)).toEqual(ALL_WRITES);
    expect(unmarkedOf(seen)).toEqual({});
    for (const id of ['certificates', 'credentials', 'routes', 'hostnames', 'notifications', 'tokens'])
      expect(seen.get(id)?.writes.length, id).toBeGreaterThan(0);
  });

  it('creates a token on the API tokens page, shows it once with a copy button, and deletes it after a confirmation', async () => {
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: vg.adminUrl });
    await page.getByRole('link', { name: 'API tokens' }).click();
    const form = page.getByRole('form', { name: 'New API token' });
    await form.getByLabel('Name').fill('ci-deploy');
    await form.getByLabel('Role').selectOption('operator');
    await form.getByLabel('Expires (UTC, optional)').fill('2030-06-30T12:00');
    await form.getByRole('button', { name: 'Create token' }).click();

    const dialog = page.getByRole('dialog', { name: 'API token created' });
    await dialog.getByText('it will not be shown again').waitFor();
    const shown = await dialog.getByLabel('New API token').inputValue();
    expect(shown).toMatch(/^vgt_/);
    // A browser that refuses the clipboard (no permission, a plain-HTTP address other than
    // localhost): the button says so and the token is selected, for Ctrl+C.
    await page.evaluate("navigator.clipboard.writeText = () => Promise.reject(new Error('refused'))");
    await dialog.getByRole('button', { name: 'Copy token' }).click();
    await expect
      .poll(() => dialog.getByRole('button', { name: 'Copy token' }).textContent())
      .toBe('Select and copy');
    expect(
      await page.evaluate(
        '[document.activeElement.getAttribute("aria-label"), document.activeElement.selectionStart, document.activeElement.selectionEnd]',
      ),
    ).toEqual(['New API token', 0, shown.length]);
    await page.evaluate('delete navigator.clipboard.writeText');

    await dialog.getByRole('button', { name: 'Copy token' }).click();
    await expect.poll(() => dialog.getByRole('button', { name: 'Copy token' }).textContent()).toBe('Copied');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(shown);
    await screens('api-token-created');

    // The token shown is the one created: it signs API calls as ci-deploy, an operator.
    const session = await bearer(shown, '/session');
    expect(session.status).toBe(200);
    expect(session.json).toMatchObject({ data: { token: { name: 'ci-deploy', role: 'operator' } } });

    await dialog.getByRole('button', { name: 'Done, I saved it' }).click();
    await dialog.waitFor({ state: 'detached' });
    // Shown once: nothing in the page holds it any more.
    expect(await page.content()).not.toContain(shown);
    const row = page
      .getByRole('row')
      .filter({ has: page.getByRole('cell', { name: 'ci-deploy', exact: true }) });
    const cells = await row.getByRole('cell').allTextContents();
    expect(cells.slice(1, 4)).toEqual(['Operator', expect.stringMatching(/ UTC$/), '2030-06-30 12:00 UTC']);

    await row.getByRole('button', { name: 'Delete token ci-deploy' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete API token' });
    await confirm.getByText('dashboard sessions signed in with it end at once').waitFor();
    await confirm.getByRole('button', { name: 'Delete Token' }).click();
    await confirm.waitFor({ state: 'detached' });
    await row.waitFor({ state: 'detached' });
    const left = (await vg.api('GET', '/api-tokens')).json.data as { name: string }[];
    expect(left.map((t) => t.name)).not.toContain('ci-deploy');
    expect((await bearer(shown, '/session')).status).toBe(401);
  });

  it('shows the sign-ins in the Audit log with actor and address, and filters by actor', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await LOADED.audit!(page);
    const rows = async (): Promise<string[][]> => {
      await settled();
      const body = page.locator('table tbody tr');
      const out: string[][] = [];
      for (const r of await body.all()) out.push(await r.getByRole('cell').allTextContents());
      return out;
    };
    const all = await rows();
    // Newest first: the admin's sign-in, the operator's, the viewer's, then the failed attempt.
    const signIns = all.filter((r) => r[3] === 'session.signed_in' || r[3] === 'session.sign_in_failed');
    expect(signIns.slice(0, 4).map((r) => [r[1], r[2], r[3]])).toEqual([
      ['dashboard:ada', '127.0.0.1', 'session.signed_in'],
      ['dashboard:otto', '127.0.0.1', 'session.signed_in'],
      ['dashboard:vera', '127.0.0.1', 'session.signed_in'],
      ['anonymous', '127.0.0.1', 'session.sign_in_failed'],
    ]);
    const times = all.map((r) => r[0] ?? '');
    expect([...times].sort().reverse()).toEqual(times);
    expect(all.some((r) => r[1] === 'token:bootstrap' && r[3] === 'api_token.created')).toBe(true);

    await page.getByLabel('Actor').fill('dashboard:otto');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await expect.poll(async () => [...new Set((await rows()).map((r) => r[1]))]).toEqual(['dashboard:otto']);
    const otto = await rows();
    expect(otto.map((r) => r[3])).toContain('session.signed_in');
    expect(otto.map((r) => r[3])).toContain('session.signed_out');
    await screens('audit-log');

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(async () => (await rows()).length).toBe(all.length);
  });

  it('sends a session whose token was deleted meanwhile back to sign-in at the next navigation', async () => {
    await signOut();
    const temp = await created<{ id: string; token: string }>('/api-tokens', {
      name: 'temp',
      role: 'viewer',
    });
    await signIn(temp.token);
    await page.getByRole('link', { name: 'Routes' }).click();
    await LOADED.routes!(page);

    expect((await vg.api('DELETE', `/api-tokens/${temp.id}`)).status).toBe(204);
    await page.getByRole('link', { name: 'Hostnames' }).click();
    await page.getByText('Your session has ended; sign in again.').waitFor();
    await page.getByLabel('API token or admin token').waitFor();
    expect(await page.getByRole('navigation', { name: 'Vault Settings' }).count()).toBe(0);
    await screens('session-ended');
    // The same token cannot sign in again.
    await page.getByLabel('API token or admin token').fill(temp.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
  });

  it('logged no browser console errors', () => {
    expect(ui.consoleErrors).toEqual([]);
  });
});

function screens(name: string): Promise<void> {
  return ui.screens(name);
}
