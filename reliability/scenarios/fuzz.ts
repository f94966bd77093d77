/**
 * Issue 7 item 7: generated inputs against the certificate upload and route endpoints of a running
 * vaultgate (child process) — arbitrary JSON, schema-shaped objects with wrong types and unknown
 * fields, huge and odd strings (unicode, NUL), invalid JSON text, and mutations (truncation, bit
 * flips, splices, base64 noise) of real PEM and PKCS#12 files, plus the fixed corpus of
 * test/helpers/malformed-uploads.ts. Judged by: zero 5xx, zero crashes, the server answers
 * afterwards, and the stored counts changed by exactly the number of accepted (2xx) creations.
 */
import fc from 'fast-check';
import { malformedUploads } from '../../test/helpers/malformed-uploads.js';
import { startVaultgateProcess, type VaultgateProcess } from '../../test/helpers/abuse-process.js';
import { checker, type ScenarioOptions, type ScenarioResult } from '../../test/helpers/abuse-scenario.js';
import { chainPem, makeCa, makeLeaf, makePkcs12 } from '../../test/helpers/pki-fixtures.js';

const CERT_FIELDS = [
  'proxy_type',
  'credential_id',
  'route_id',
  'description',
  'certificate',
  'private_key',
  'passphrase',
  'pkcs12',
  'hosts',
];
const ROUTE_FIELDS = [
  'id',
  'destination_override_endpoint',
  'host_endpoint',
  'port',
  'protocol',
  'source_endpoint',
  'tags',
  'entries',
  'upstream_tls',
];

/** Odd strings: unicode of every plane, NUL and control characters, and sizes around the 1 MiB cap. */
const oddString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.constantFrom(
    '\u0000',
    '\u0000'.repeat(100),
    '\ud800',
    '\u202e-----BEGIN CERTIFICATE-----',
    '💳'.repeat(50),
  ),
  fc.constantFrom(2_000, 200_000, 1_048_000, 1_100_000).map((n) => 'A'.repeat(n)),
);

function mutations(material: string): fc.Arbitrary<string> {
  const len = material.length;
  return fc.oneof(
    fc.nat({ max: len }).map((i) => material.slice(0, i)),
    fc.tuple(fc.nat({ max: len - 1 }), fc.nat({ max: 7 })).map(([i, bit]) => {
      const code = material.charCodeAt(i) ^ (1 << bit);
      return material.slice(0, i) + String.fromCharCode(code) + material.slice(i + 1);
    }),
    fc
      .tuple(fc.nat({ max: len }), fc.nat({ max: len }), fc.string({ maxLength: 40 }))
      .map(([a, b, insert]) => material.slice(0, Math.min(a, b)) + insert + material.slice(Math.max(a, b))),
    fc
      .tuple(
        fc.nat({ max: len - 1 }),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/='),
      )
      .map(([i, c]) => material.slice(0, i) + c + material.slice(i + 1)),
  );
}

interface Case {
  method: 'POST' | 'PUT';
  /** 'certificates' | 'routes' | 'route' (PUT on the existing route). */
  endpoint: 'certificates' | 'routes' | 'route';
  /** Sent as is when a string (may not be JSON), else JSON-encoded. */
  body: unknown;
}

export async function run(
  options: ScenarioOptions & { cases?: number; seed?: number } = {},
): Promise<ScenarioResult> {
  const started = Date.now();
  const total = options.cases ?? Number(options.options?.['fuzz-cases'] ?? (options.quick ? 1_000 : 10_000));
  const seed = options.seed ?? Number(options.options?.['fuzz-seed'] ?? 7_007);
  const { check, failures } = checker();
  const figures: Record<string, number | string> = {};
  let vg: VaultgateProcess | undefined;
  try {
    vg = await startVaultgateProcess({}, options.evidence);
    const vaultId = vg.vaultId;
    const creds = (await vg.api('GET', `/vaults/${vaultId}/credentials`)).json as { data: { id: string }[] };
    const credentialId = creds.data[0]?.id as string;
    const inbound = await vg.api('POST', `/vaults/${vaultId}/routes`, {
      destination_override_endpoint: 'https://localhost:9',
    });
    const routeId = (inbound.json as { data: { id: string } }).data.id;

    // Real material to damage.
    const root = makeCa({ cn: 'Fuzz Root' });
    const leaf = makeLeaf({ issuer: root, cn: 'fuzz.example' });
    const rsa = makeLeaf({ cn: 'fuzz-rsa.example', keyType: 'rsa2048' });
    const p12 = makePkcs12(leaf, { passphrase: 'pw' });
    const p12Legacy = makePkcs12(rsa, { passphrase: 'pw', encryption: 'legacy' });
    options.evidence?.addPrivateKey('fuzz leaf', leaf.keyPem, leaf.certPem);
    options.evidence?.addPrivateKey('fuzz RSA leaf', rsa.keyPem, rsa.certPem);
    const corpus = malformedUploads();

    const association = fc.constantFrom(
      { proxy_type: 'outbound', credential_id: credentialId },
      { proxy_type: 'inbound', route_id: routeId },
    );
    const certCase: fc.Arbitrary<unknown> = fc.oneof(
      // Mutated PEM certificate, key or chain.
      fc
        .tuple(association, mutations(chainPem(leaf)))
        .map(([a, c]) => ({ ...a, certificate: c, private_key: leaf.keyPem })),
      fc
        .tuple(association, mutations(leaf.keyPem))
        .map(([a, k]) => ({ ...a, certificate: chainPem(leaf), private_key: k })),
      fc
        .tuple(association, mutations(rsa.certPem + rsa.keyPem))
        .map(([a, bundle]) => ({ ...a, certificate: bundle })),
      // Mutated PKCS#12 (modern and legacy RC2/3DES), with right and wrong passphrases.
      fc
        .tuple(association, mutations(p12), fc.constantFrom('pw', '', 'wrong', undefined))
        .map(([a, p, pass]) => ({
          ...a,
          pkcs12: p,
          ...(pass === undefined ? {} : { passphrase: pass }),
        })),
      fc.tuple(association, mutations(p12Legacy)).map(([a, p]) => ({ ...a, pkcs12: p, passphrase: 'pw' })),
      // Schema-shaped with wrong types, odd strings and unknown fields.
      fc.dictionary(fc.constantFrom(...CERT_FIELDS), fc.oneof(fc.jsonValue({ maxDepth: 2 }), oddString), {
        maxKeys: 9,
      }),
      fc.tuple(association, fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 })).map(([a, k, v]) => ({
        ...a,
        certificate: leaf.certPem,
        private_key: leaf.keyPem,
        [k]: v,
      })),
      // The fixed corpus of malformed uploads.
      fc.tuple(association, fc.constantFrom(...corpus)).map(([a, m]) => ({ ...a, ...m.input })),
    );
    const routeCase: fc.Arbitrary<unknown> = fc.oneof(
      // Mostly valid routes, with odd but legal values: some must be accepted.
      fc.record(
        {
          destination_override_endpoint: fc.constantFrom(
            '*',
            'https://api.example.com',
            'http://127.0.0.1:9/base',
          ),
          host_endpoint: fc.stringMatching(/^[a-z0-9.()*+?|\\-]{1,24}$/),
          port: fc.integer({ min: 1, max: 65535 }),
          tags: fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
          upstream_tls: fc.record({ verify: fc.boolean(), servername: fc.domain() }, { requiredKeys: [] }),
        },
        { requiredKeys: ['destination_override_endpoint'] },
      ),
      fc.dictionary(fc.constantFrom(...ROUTE_FIELDS), fc.oneof(fc.jsonValue({ maxDepth: 2 }), oddString), {
        maxKeys: 9,
      }),
      fc.record(
        {
          destination_override_endpoint: fc.oneof(fc.constant('*'), fc.webUrl(), oddString),
          host_endpoint: fc.oneof(
            fc.string({ maxLength: 30 }),
            fc.constantFrom('(.*)', '(a+)+$', '[', '\\', '(?<n>x)\\k<n>'),
          ),
          port: fc.oneof(fc.integer({ min: -10, max: 70_000 }), fc.jsonValue()),
          upstream_tls: fc.oneof(
            fc.record(
              {
                ca_pem: fc.oneof(mutations(root.certPem), oddString),
                verify: fc.jsonValue(),
                servername: oddString,
              },
              { requiredKeys: [] },
            ),
            fc.jsonValue(),
          ),
          tags: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()),
          entries: fc.oneof(fc.constant([]), fc.array(fc.jsonValue(), { maxLength: 3 })),
        },
        { requiredKeys: [] },
      ),
    );
    const anyCase: fc.Arbitrary<Case> = fc.oneof(
      {
        weight: 5,
        arbitrary: certCase.map((body): Case => ({ method: 'POST', endpoint: 'certificates', body })),
      },
      { weight: 2, arbitrary: routeCase.map((body): Case => ({ method: 'POST', endpoint: 'routes', body })) },
      { weight: 2, arbitrary: routeCase.map((body): Case => ({ method: 'PUT', endpoint: 'route', body })) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            fc.constantFrom<Case['endpoint']>('certificates', 'routes', 'route'),
            fc.oneof(fc.jsonValue(), fc.string()),
          )
          .map(([endpoint, value]): Case => ({
            method: endpoint === 'route' ? 'PUT' : 'POST',
            endpoint,
            body: typeof value === 'string' ? value : JSON.stringify(value),
          })),
      },
    );

    const count = async (): Promise<{ certificates: number; routes: number }> => {
      const c = (await vg!.api('GET', `/vaults/${vaultId}/certificates`)).json as { data: unknown[] };
      const r = (await vg!.api('GET', `/vaults/${vaultId}/routes`)).json as { data: unknown[] };
      return { certificates: c.data.length, routes: r.data.length };
    };
    const before = await count();
    const statuses = new Map<number, number>();
    const accepted = { certificates: 0, routes: 0 };
    const fiveHundreds: string[] = [];
    let sent = 0;
    const cases = fc.sample(anyCase, { numRuns: total, seed });
    for (const c of cases) {
      const path =
        c.endpoint === 'route' ? `/vaults/${vaultId}/routes/${routeId}` : `/vaults/${vaultId}/${c.endpoint}`;
      // The corpus holds a few values JSON has no form for (BigInt): they travel as numbers.
      const body =
        typeof c.body === 'string'
          ? c.body
          : JSON.stringify(c.body ?? null, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
      let status: number;
      let failure = '';
      try {
        status = (await vg.api(c.method, path, body)).status;
      } catch (err) {
        status = 0;
        failure = ` (${String((err as Error & { cause?: unknown }).cause ?? err)})`;
        if (!vg.alive()) throw new Error(`vaultgate died at case ${sent}: ${(err as Error).message}`);
      }
      sent++;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status >= 500 || status === 0)
        fiveHundreds.push(`${c.method} ${c.endpoint} → ${status}${failure}: ${body.slice(0, 120)}`);
      if (status === 201 && c.endpoint === 'certificates') accepted.certificates++;
      if (status === 201 && c.endpoint === 'routes') accepted.routes++;
    }
    const after = await count();
    const health = await fetch(`${vg.adminUrl}/healthz`).then(
      (r) => r.status,
      () => 0,
    );

    figures['cases'] = sent;
    figures['seed'] = seed;
    figures['statuses'] = [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}×${n}`)
      .join(' ');
    figures['5xx or no answer'] = fiveHundreds.length;
    figures['accepted certificates / routes'] = `${accepted.certificates} / ${accepted.routes}`;
    figures['stored certificates: before → after'] = `${before.certificates} → ${after.certificates}`;
    figures['stored routes: before → after'] = `${before.routes} → ${after.routes}`;
    figures['healthz afterwards'] = health;
    figures['cases per second'] = Math.round(sent / ((Date.now() - started) / 1000));
    check(sent >= total, `only ${sent} of ${total} cases ran`);
    check(fiveHundreds.length === 0, `5xx answers: ${fiveHundreds.slice(0, 5).join(' | ')}`);
    check(vg.alive(), 'the vaultgate process died');
    check(health === 200, `GET /healthz afterwards answered ${health}`);
    check(
      after.certificates === before.certificates + accepted.certificates,
      'stored certificates changed by something other than accepted uploads',
    );
    check(
      after.routes === before.routes + accepted.routes,
      'stored routes changed by something other than accepted creations',
    );
    figures['duration (s)'] = Math.round((Date.now() - started) / 1000);
    return {
      name: 'fuzz',
      figures,
      target: `≥ ${total} cases, 0 5xx, 0 crashes, counts change only by accepted writes`,
      pass: failures.length === 0,
      failures,
    };
  } catch (err) {
    failures.push(`scenario error: ${(err as Error).stack ?? String(err)}`);
    return { name: 'fuzz', figures, target: 'no scenario error', pass: false, failures };
  } finally {
    await vg?.stop();
  }
}

export default run;
