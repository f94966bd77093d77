/**
 * SPEC §2 "Lists": every list is paged (`limit`, `cursor`, `next_cursor`) in a stable order, filters
 * users need exist, an unknown query parameter is `400 unknown_parameter` and a bad limit or cursor
 * `400 invalid_parameter`; audit events page back to the very first one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainPem, makeCa, makeLeaf } from './helpers/pki-fixtures.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

let t: TestVaultgate;
let vault: { id: string };

beforeAll(async () => {
  t = await startTestVaultgate();
  vault = (await t.api('POST', '/vaults', { name: 'Paging' })).json.data;
});
afterAll(async () => {
  await t?.stop();
});

/** Follows next_cursor from the first page; returns every page's ids. */
async function pages(path: string, limit: number): Promise<string[][]> {
  const out: string[][] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res = await t.api('GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status, res.text).toBe(200);
    out.push(res.json.data.map((x: { id: string }) => x.id));
    cursor = res.json.next_cursor;
  } while (cursor !== null);
  return out;
}

describe('paged lists', () => {
  it('pages credentials in creation order, and a page boundary survives a delete before it', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++)
      ids.push((await t.api('POST', `/vaults/${vault.id}/credentials`, {})).json.data.id);
    const all = await pages(`/vaults/${vault.id}/credentials`, 3);
    expect(all.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(all.flat()).toEqual(ids);
    const first = await t.api('GET', `/vaults/${vault.id}/credentials?limit=3`);
    expect(first.json.next_cursor).toEqual(expect.any(String));
    await t.api('DELETE', `/vaults/${vault.id}/credentials/${ids[1]}`);
    const second = await t.api(
      'GET',
      `/vaults/${vault.id}/credentials?limit=3&cursor=${first.json.next_cursor}`,
    );
    expect(second.json.data.map((c: { id: string }) => c.id)).toEqual(ids.slice(3, 6));
    const whole = await t.api('GET', `/vaults/${vault.id}/credentials`);
    expect(whole.json).toMatchObject({ next_cursor: null });
    expect(whole.json.data).toHaveLength(6);
  });

  it('pages vaults, routes and hostnames too', async () => {
    for (let i = 0; i < 3; i++) {
      await t.api('POST', `/vaults/${vault.id}/routes`, {
        destination_override_endpoint: `https://up${i}.example`,
      });
    }
    expect((await pages(`/vaults/${vault.id}/routes`, 2)).map((p) => p.length)).toEqual([2, 1]);
    const vaults = await pages('/vaults', 1);
    expect(vaults.flat()).toContain(vault.id);
    expect((await t.api('GET', `/vaults/${vault.id}/hostnames`)).json).toEqual({
      data: [],
      next_cursor: null,
    });
  });

  it('filters certificates by status, proxy_type, credential_id and route_id', async () => {
    const ca = makeCa({ cn: 'Paging CA' });
    const credential = (await t.api('POST', `/vaults/${vault.id}/credentials`, {})).json.data;
    const route = (
      await t.api('POST', `/vaults/${vault.id}/routes`, {
        destination_override_endpoint: 'https://pay.example',
      })
    ).json.data;
    const upload = async (cn: string, tie: Record<string, string>, future = false) => {
      const leaf = makeLeaf({
        issuer: ca,
        cn,
        ...(future
          ? { notBefore: new Date(Date.now() + 86_400_000), notAfter: new Date(Date.now() + 90 * 86_400_000) }
          : {}),
      });
      const res = await t.api('POST', `/vaults/${vault.id}/certificates`, {
        ...tie,
        certificate: chainPem(leaf),
        private_key: leaf.keyPem,
      });
      expect(res.status, res.text).toBe(201);
      return res.json.data.id as string;
    };
    const current = await upload('current.example', { proxy_type: 'outbound', credential_id: credential.id });
    const later = await upload(
      'later.example',
      { proxy_type: 'outbound', credential_id: credential.id },
      true,
    );
    const inbound = await upload('inbound.example', { proxy_type: 'inbound', route_id: route.id });
    const ids = async (q: string) =>
      (await t.api('GET', `/vaults/${vault.id}/certificates?${q}`)).json.data.map(
        (c: { id: string }) => c.id,
      );
    expect(await ids('status=not_yet_valid')).toEqual([later]);
    expect(await ids('status=expired')).toEqual([]);
    expect(await ids('status=valid&proxy_type=outbound')).toEqual([current]);
    expect(await ids(`credential_id=${credential.id}`)).toEqual([current, later]);
    expect(await ids(`route_id=${route.id}`)).toEqual([inbound]);
    expect((await pages(`/vaults/${vault.id}/certificates`, 2)).flat()).toEqual([current, later, inbound]);
  });

  it('pages audit events newest first, back to the first one, with action and since filters', async () => {
    const res = await t.api('GET', `/audit-events?vault_id=${vault.id}`);
    const newestFirst = res.json.data.map((e: { id: string }) => e.id);
    expect(newestFirst.length).toBeGreaterThan(10);
    expect((await pages(`/audit-events?vault_id=${vault.id}`, 4)).flat()).toEqual(newestFirst);
    const created = (await t.api('GET', `/audit-events?vault_id=${vault.id}&action=credential.created`)).json
      .data;
    expect(created.length).toBe(8);
    expect(new Set(created.map((e: { action: string }) => e.action))).toEqual(
      new Set(['credential.created']),
    );
    const future = await t.api(
      'GET',
      `/audit-events?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
    );
    expect(future.json.data).toEqual([]);
    const all = await t.api('GET', `/audit-events?vault_id=${vault.id}&since=2020-01-01T00:00:00Z`);
    expect(all.json.data.length).toBe(newestFirst.length);
  });
});

describe('query parameters are checked', () => {
  it('refuses an unknown parameter, naming it, instead of ignoring a misspelt filter', async () => {
    const res = await t.api('GET', `/vaults/${vault.id}/certificates?statuss=expired`);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'unknown_parameter', field: 'statuss' });
    expect(res.json.error.message).toContain('status');
    expect((await t.api('GET', `/vaults/${vault.id}?verbose=1`)).json.error.code).toBe('unknown_parameter');
  });

  it('refuses a limit out of range, a bad filter value and a cursor it did not issue', async () => {
    for (const q of [
      'limit=0',
      'limit=1001',
      'limit=ten',
      'limit=-1',
      'cursor=bm9wZQ',
      'status=old',
      'proxy_type=both',
    ]) {
      const res = await t.api('GET', `/vaults/${vault.id}/certificates?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.json.error.code, q).toBe('invalid_parameter');
    }
    expect((await t.api('GET', '/audit-events?since=yesterday')).json.error.code).toBe('invalid_parameter');
  });

  it('answers 401 before looking at parameters', async () => {
    const res = await fetch(`${t.adminUrl}/api/v1/vaults?bogus=1`);
    expect(res.status).toBe(401);
  });
});

/**
 * vaultgate's `q` on the certificate list (docs/dashboard.md), on both store backends: the search is
 * SQL, and PostgreSQL's LIKE differs from SQLite's (case, escapes).
 */
describe.each(['sqlite', 'postgres'] as const)('certificate search (q) on %s', (backend) => {
  let s: TestVaultgate;
  let db: TestDatabase | undefined;
  let base: string;
  let credentialId: string;
  let routeId: string;
  const ca = makeCa({ cn: 'Search Issuing CA', org: 'Search Test' });

  beforeAll(async () => {
    db = backend === 'postgres' ? await createTestDatabase() : undefined;
    s = await startTestVaultgate(db ? { VAULTGATE_DATABASE_URL: db.url } : {});
    base = `/vaults/${(await s.api('POST', '/vaults', { name: `Search ${backend}` })).json.data.id}`;
    credentialId = (await s.api('POST', `${base}/credentials`, {})).json.data.id;
    routeId = (await s.api('POST', `${base}/routes`, { destination_override_endpoint: 'https://up.example' }))
      .json.data.id;
  });
  afterAll(async () => {
    await s?.stop();
    await db?.drop();
  });

  type Upload = { cn: string; description?: string; hosts?: string[]; inbound?: boolean };
  const upload = async (u: Upload) => {
    const leaf = makeLeaf({ issuer: ca, cn: u.cn, sans: [`DNS:${u.cn}`] });
    const res = await s.api('POST', `${base}/certificates`, {
      ...(u.inbound
        ? { proxy_type: 'inbound', route_id: routeId }
        : { proxy_type: 'outbound', credential_id: credentialId }),
      ...(u.description === undefined ? {} : { description: u.description }),
      ...(u.hosts === undefined ? {} : { hosts: u.hosts }),
      certificate: chainPem(leaf),
      private_key: leaf.keyPem,
    });
    expect(res.status, res.text).toBe(201);
    return res.json.data as { id: string; fingerprint_sha256: string };
  };
  const found = async (query: string) => {
    const res = await s.api('GET', `${base}/certificates?${query}`);
    expect(res.status, res.text).toBe(200);
    return res.json.data.map((c: { id: string }) => c.id) as string[];
  };
  const q = (term: string) => `q=${encodeURIComponent(term)}`;

  it('finds certificates by description, subject, hosts, SANs, fingerprint and id, ignoring case', async () => {
    const visa = await upload({ cn: 'client.visa.example', description: 'Visa Direct (production)' });
    const mastercard = await upload({ cn: 'payments.mastercard.example', hosts: ['api.mc.example'] });
    const promo = await upload({ cn: 'promo.example', description: '100%_off Promo' });
    const callbacks = await upload({ cn: 'callbacks.acme.example', description: 'Acme', inbound: true });
    const partner = await upload({
      cn: 'partner.example',
      description: 'VISA partner',
      hosts: ['*.visa.com'],
    });

    expect(await found(q('visa'))).toEqual([visa.id, partner.id]);
    expect(await found(q('ViSa DIRECT'))).toEqual([visa.id]);
    expect(await found(q('MASTERCARD'))).toEqual([mastercard.id]); // subject only
    expect(await found(q('api.mc.example'))).toEqual([mastercard.id]); // hosts
    expect(await found(q('callbacks.acme'))).toEqual([callbacks.id]); // subject and SANs
    expect(await found(q('search issuing ca'))).toHaveLength(5); // the issuer
    // A fingerprint prefix, as copied from the preview (colons, upper case) or typed without them.
    const fp = mastercard.fingerprint_sha256;
    expect(await found(q(fp.slice(0, 11)))).toEqual([mastercard.id]);
    expect(await found(q(fp.replace(/:/g, '').slice(0, 12).toLowerCase()))).toEqual([mastercard.id]);
    expect(await found(q(fp))).toEqual([mastercard.id]);
    expect(await found(q(promo.id))).toEqual([promo.id]);
    // LIKE's wildcards are plain characters in a search, and JSON punctuation matches no array.
    expect(await found(q('%'))).toEqual([promo.id]);
    expect(await found(q('0%_o'))).toEqual([promo.id]);
    expect(await found(q('_'))).toEqual([promo.id]);
    expect(await found(q('"'))).toEqual([]);
    expect(await found(q('["'))).toEqual([]);
    expect(await found(q('nothing like this'))).toEqual([]);
    // With the other filters, and blank (an emptied search box) as no search at all.
    expect(await found(`${q('acme')}&proxy_type=outbound`)).toEqual([]);
    expect(await found(`${q('acme')}&route_id=${routeId}`)).toEqual([callbacks.id]);
    expect(await found(`${q('visa')}&status=valid`)).toEqual([visa.id, partner.id]);
    expect(await found(q('   '))).toHaveLength(5);
    expect(await found('q=')).toHaveLength(5);
  });

  it('pages a search by keyset: a later upload that matches lands after the page boundary', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await upload({ cn: `paged-${i}.example`, description: `Paged ${i}` })).id);
    const first = await s.api('GET', `${base}/certificates?${q('paged')}&limit=2`);
    expect(first.json.data.map((c: { id: string }) => c.id)).toEqual(ids.slice(0, 2));
    const later = await upload({ cn: 'paged-late.example', description: 'Paged late' });
    const rest: string[] = [];
    let cursor: string | null = first.json.next_cursor;
    while (cursor !== null) {
      const res = await s.api('GET', `${base}/certificates?${q('PAGED')}&limit=2&cursor=${cursor}`);
      rest.push(...res.json.data.map((c: { id: string }) => c.id));
      cursor = res.json.next_cursor;
    }
    expect(rest).toEqual([...ids.slice(2), later.id]);
  });

  it('filters by status in the store query, and pages the result by keyset', async () => {
    const leaf = makeLeaf({
      issuer: ca,
      cn: 'soon.example',
      notAfter: new Date(Date.now() + 10 * 86_400_000),
    });
    const res = await s.api('POST', `${base}/certificates`, {
      proxy_type: 'outbound',
      credential_id: credentialId,
      certificate: chainPem(leaf),
      private_key: leaf.keyPem,
    });
    expect(res.status, res.text).toBe(201);
    const soon = res.json.data.id as string;
    expect(await found('status=expiring_soon')).toEqual([soon]);
    const valid = await found('status=valid&limit=1000');
    expect(valid).not.toContain(soon);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await s.api(
        'GET',
        `${base}/certificates?status=valid&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.json.data.length).toBeLessThanOrEqual(3);
      paged.push(...page.json.data.map((c: { id: string; status: string }) => c.id));
      cursor = page.json.next_cursor;
    } while (cursor !== null);
    expect(paged).toEqual(valid);
    // A cursor that decodes but names no position in the list is refused like any other.
    const forged = Buffer.from(JSON.stringify({ k: 'nospace' })).toString('base64url');
    const refused = await s.api('GET', `${base}/certificates?cursor=${forged}`);
    expect(refused.json.error).toMatchObject({ code: 'invalid_parameter', field: 'cursor' });
  });

  it('refuses a search longer than 200 characters, saying so', async () => {
    expect(await found(q('x'.repeat(200)))).toEqual([]);
    const res = await s.api('GET', `${base}/certificates?${q('x'.repeat(201))}`);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'invalid_parameter', field: 'q' });
    expect(res.json.error.message).toContain('at most 200');
  });
});
