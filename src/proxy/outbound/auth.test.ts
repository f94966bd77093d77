import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { HostTable } from '../../hosts/table.js';
import { describe, expect, test } from 'vitest';
import { FailureThrottle } from '../../limits/throttle.js';
import { CredentialHasher } from '../../secrets/credentials.js';
import type { RuntimeConfig, RuntimeCredential, RuntimeVault } from '../../snapshot/types.js';
import { ProxyAuthenticator } from './auth.js';
import { VaultMinters } from './minters.js';

const hasher = new CredentialHasher(Buffer.alloc(32, 7));
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const key = createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' }));

function vault(id: string, certPem = `ca of ${id}`): RuntimeVault {
  return {
    id,
    name: id,
    environment: 'sandbox',
    inboundHost: '',
    inboundRoutes: [],
    inboundRoute: undefined,
    outboundRoutes: [],
    outboundCa: { certPem, key },
  };
}

function config(
  creds: { username: string; password: string; active?: boolean; id?: string }[],
  vaults = [vault('tnt1')],
): RuntimeConfig {
  const credentialsByUsername = new Map<string, RuntimeCredential>();
  for (const c of creds) {
    credentialsByUsername.set(c.username, {
      id: c.id ?? `id-${c.username}`,
      vaultId: 'tnt1',
      username: c.username,
      passwordHash: hasher.hash(c.password),
      active: c.active ?? true,
      certificates: [],
    });
  }
  return {
    version: 1,
    builtAt: 0,
    vaultsById: new Map(vaults.map((v) => [v.id, v])),
    vaultsByHost: new Map(),
    inboundNames: new HostTable(),
    credentialsByUsername,
    certificatesById: new Map(),
  };
}

const header = (u: string, p: string): string => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64');

describe('ProxyAuthenticator', () => {
  test('accepts an active credential (colon allowed in the password, scheme case-insensitive)', () => {
    const snapshot = { current: config([{ username: 'USa', password: 'p:w' }]) };
    const auth = new ProxyAuthenticator(hasher, snapshot);
    const result = auth.authenticate(header('USa', 'p:w').replace('Basic', 'bAsIc'), '192.0.2.1');
    expect(result.ok && result.principal.vault.id).toBe('tnt1');
  });

  test('names each failure for the log', () => {
    const snapshot = {
      current: config([
        { username: 'USa', password: 'pw' },
        { username: 'USi', password: 'pw', active: false },
      ]),
    };
    const auth = new ProxyAuthenticator(hasher, snapshot);
    const reason = (h: string | undefined): string => {
      const r = auth.authenticate(h, '192.0.2.1');
      return r.ok ? 'ok' : r.reason;
    };
    expect(reason(undefined)).toBe('missing');
    expect(reason('Bearer x')).toBe('malformed');
    expect(reason('Basic ' + Buffer.from('nocolon').toString('base64'))).toBe('malformed');
    expect(reason(header('USx', 'pw'))).toBe('unknown');
    expect(reason(header('USa', 'nope'))).toBe('wrong_password');
    expect(reason(header('USi', 'pw'))).toBe('inactive');
  });

  test('a swap applies to the next request even for a remembered header, and to open tunnels', () => {
    const snapshot = { current: config([{ username: 'USa', password: 'pw' }]) };
    const auth = new ProxyAuthenticator(hasher, snapshot);
    const first = auth.authenticate(header('USa', 'pw'), '192.0.2.1');
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(auth.recheck(first.principal)).toBe(first.principal);

    snapshot.current = config([{ username: 'USa', password: 'pw' }]);
    const again = auth.recheck(first.principal);
    expect(again?.credential).toBe(snapshot.current.credentialsByUsername.get('USa'));

    snapshot.current = config([{ username: 'USa', password: 'pw', active: false }]);
    expect(auth.authenticate(header('USa', 'pw'), '192.0.2.1').ok).toBe(false);
    expect(auth.recheck(first.principal)).toBeUndefined();

    // Deleted and re-created under the same username (another id): not the credential the tunnel had.
    snapshot.current = config([{ username: 'USa', password: 'pw', id: 'other' }]);
    expect(auth.recheck(first.principal)).toBeUndefined();
    snapshot.current = config([]);
    expect(auth.recheck(first.principal)).toBeUndefined();
  });
});

describe('failure throttle', () => {
  test('a right credential always gets in; guesses are counted per username and get throttled', () => {
    const snapshot = { current: config([{ username: 'USa', password: 'pw' }]) };
    const auth = new ProxyAuthenticator(hasher, snapshot, new FailureThrottle(3));
    for (let i = 0; i < 5; i++) expect(auth.authenticate(undefined, '192.0.2.1').ok).toBe(false);
    expect(auth.authenticate(header('USa', 'pw'), '192.0.2.1').ok).toBe(true);
    for (let i = 0; i < 3; i++) {
      const guess = auth.authenticate(header('USa', `guess${i}`), '192.0.2.1');
      expect(!guess.ok && guess.reason).toBe('wrong_password');
    }
    const refused = auth.authenticate(header('USa', 'guess'), '192.0.2.1');
    expect(!refused.ok && refused.reason).toBe('throttled');
    expect(!refused.ok && refused.reason === 'throttled' && refused.retryAfter).toBeGreaterThan(0);
    // Issue 13: the right password from the guessing address is still let in.
    expect(auth.authenticate(header('USa', 'pw'), '192.0.2.1').ok).toBe(true);
    expect(auth.authenticate(header('USa', 'pw'), '192.0.2.2').ok).toBe(true);
  });

  test('guessing usernames from one address is throttled too', () => {
    const snapshot = { current: config([{ username: 'USa', password: 'pw' }]) };
    const auth = new ProxyAuthenticator(hasher, snapshot, new FailureThrottle(2));
    const answers = Array.from({ length: 12 }, (_, i) =>
      auth.authenticate(header(`USx${i}`, 'pw'), '192.0.2.1'),
    );
    expect(answers.map((a) => !a.ok && a.reason)).toContain('throttled');
    expect(auth.authenticate(header('USa', 'pw'), '192.0.2.1').ok).toBe(true);
  });
});

describe('VaultMinters', () => {
  test('one minter per vault, replaced when its CA changes, dropped when the vault goes', () => {
    const minters = new VaultMinters();
    const a = vault('tnt1');
    const m = minters.for(a);
    expect(minters.for(a)).toBe(m);
    expect(minters.for(vault('tnt1', 'another CA'))).not.toBe(m);
    minters.for(vault('tnt2'));
    expect(minters.size).toBe(2);
    minters.retain(config([], [vault('tnt2')]));
    expect(minters.size).toBe(1);
  });
});
