import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { makeCa, makeLeaf } from './helpers/pki-fixtures.js';
import { MAIN, startProcess, type RunningProcess } from './helpers/process.js';

/** The real `vaultgate` command (bin/vaultgate.js → dist/), as a user runs it. */
const BIN = join(MAIN, '../../../bin/vaultgate.js');
const FIXTURES = join(import.meta.dirname, 'fixtures/vgs');

let dataDir: string;
let work: string;
let vg: RunningProcess;
let token: string;
let adminUrl: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'vaultgate-decl-'));
  work = mkdtempSync(join(tmpdir(), 'vaultgate-decl-files-'));
  vg = await startProcess(dataDir);
  token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  adminUrl = `http://127.0.0.1:${vg.ports.admin}`;
});
afterAll(async () => {
  vg.child.kill('SIGTERM');
  await vg.exited;
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, VAULTGATE_URL: adminUrl, VAULTGATE_TOKEN: token },
      cwd: work,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON answers
async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${adminUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/**
 * A fixture with its route ids replaced: route ids are unique across a vaultgate, and each test
 * uses a vault of its own. `tag` is the first character of every id, so the ids stay UUIDs.
 */
function fixtureCopy(name: string, tag: string): string {
  const text = readFileSync(join(FIXTURES, name), 'utf8').replace(
    /\b([0-9a-f])([0-9a-f]{7}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\b/g,
    (_, _first: string, rest: string) => `${tag}${rest}`,
  );
  const file = join(work, `${tag}-${name}`);
  writeFileSync(file, text);
  return file;
}

const newVault = async (name: string, environment = 'sandbox'): Promise<string> =>
  (await api('POST', '/vaults', { name, environment })).data.id;

const routesOf = async (vault: string): Promise<Record<string, unknown>[]> =>
  (await api('GET', `/vaults/${vault}/routes`)).data;

/** A route as a user compares two vaults: everything but the id, vault and timestamps. */
const shape = ({ id: _id, vault_id: _v, created_at: _c, updated_at: _u, ...rest }: Record<string, unknown>) =>
  rest;

describe('vaultgate export / apply with VGS route YAML', () => {
  it('imports the inbound and outbound routes VGS writes, by id, and a second apply changes nothing', async () => {
    const vault = await newVault('VGS import');
    const inbound = await cli(['apply', '-f', join(FIXTURES, 'inbound.yaml'), '--vault', vault]);
    expect(inbound.stderr).toBe('');
    expect([inbound.code, inbound.stdout]).toEqual([
      0,
      '+ route 3c0f7f4e-8d51-4b7a-9a0e-2f6d1c5b8e90 "acme-payments-inbound": create (inbound, https://payments.acme.example)\n' +
        'route 3c0f7f4e-8d51-4b7a-9a0e-2f6d1c5b8e90 created\n' +
        '1 changed, 0 unchanged\n',
    ]);
    const outbound = await cli(['apply', '-f', join(FIXTURES, 'outbound.yaml'), '--vault', vault]);
    expect([outbound.code, outbound.stdout.trim().split('\n').at(-1)]).toEqual([0, '2 changed, 0 unchanged']);
    const routes = await routesOf(vault);
    expect(routes.map((r) => [r.id, r.type, r.host_endpoint, r.port, r.tags])).toEqual([
      [
        '3c0f7f4e-8d51-4b7a-9a0e-2f6d1c5b8e90',
        'inbound',
        '(.*)\\.verygoodproxy\\.com',
        80,
        { name: 'acme-payments-inbound', source: 'RouteContainer' },
      ],
      [
        '9a7e2b1d-4c3f-4e5a-8b6c-7d8e9f0a1b2c',
        'outbound',
        'api\\.processor\\.example',
        80,
        { name: 'processor-outbound', source: 'RouteContainer' },
      ],
      [
        'b4d1e6f2-0a9c-4b8d-9e7f-6a5b4c3d2e1f',
        'outbound',
        '(.*)\\.cardnetwork\\.example',
        443,
        { name: 'card-network-outbound', source: 'RouteContainer' },
      ],
    ]);
    const again = await cli(['apply', '-f', join(FIXTURES, 'outbound.yaml'), '--vault', vault]);
    expect([again.code, again.stdout]).toEqual([0, '0 changed, 2 unchanged\n']);
    expect((await routesOf(vault)).map((r) => r.updated_at)).toEqual(routes.map((r) => r.updated_at));

    // export | apply: the file VGS's layout, applied back, changes nothing.
    const exported = await cli(['export', '--vault', vault, '--format', 'vgs']);
    expect(exported.code, exported.stderr).toBe(0);
    const doc = parse(exported.stdout);
    expect(doc.version).toBe(1);
    expect(doc.data[1]).toMatchObject({
      id: '9a7e2b1d-4c3f-4e5a-8b6c-7d8e9f0a1b2c',
      type: 'rule_chain',
      attributes: {
        id: '9a7e2b1d-4c3f-4e5a-8b6c-7d8e9f0a1b2c',
        destination_override_endpoint: '*',
        entries: [],
      },
    });
    expect(exported.stdout).toContain("\n- attributes:\n    created_at: '");
    const roundTrip = await cli(['apply', '-f', '-', '--vault', vault], exported.stdout);
    expect([roundTrip.code, roundTrip.stdout]).toEqual([0, '0 changed, 3 unchanged\n']);
  });

  it('--dry-run prints the diff and changes nothing; apply then makes exactly that change', async () => {
    const vault = await newVault('Dry run');
    const copy = fixtureCopy('outbound.yaml', 'd');
    await cli(['apply', '-f', copy, '--vault', vault]);
    const before = await routesOf(vault);
    const edited = readFileSync(copy, 'utf8')
      .replace('name: processor-outbound', 'name: processor-outbound-v2')
      .replace('port: 443', 'port: 8443');
    const file = join(work, 'edited.yaml');
    writeFileSync(file, edited);
    const dry = await cli(['apply', '-f', file, '--vault', vault, '--dry-run']);
    expect([dry.code, dry.stdout]).toEqual([
      0,
      [
        '~ route da7e2b1d-4c3f-4e5a-8b6c-7d8e9f0a1b2c "processor-outbound-v2": replace',
        '    tags.name: processor-outbound -> processor-outbound-v2',
        '~ route d4d1e6f2-0a9c-4b8d-9e7f-6a5b4c3d2e1f "card-network-outbound": replace',
        '    port: 443 -> 8443',
        'dry run: 2 to change, 0 unchanged; nothing was changed',
        '',
      ].join('\n'),
    ]);
    expect(await routesOf(vault)).toEqual(before);
    const real = await cli(['apply', '-f', file, '--vault', vault]);
    expect([real.code, real.stdout.trim().split('\n').at(-1)]).toEqual([0, '2 changed, 0 unchanged']);
    expect((await routesOf(vault)).map((r) => [(r.tags as { name: string }).name, r.port])).toEqual([
      ['processor-outbound-v2', 80],
      ['card-network-outbound', 8443],
    ]);
  });

  it('refuses a file with route filters whole, naming the route and the line, and changes nothing', async () => {
    const vault = await newVault('Refused');
    // Run from the fixtures' folder, so that the message names the file as the user typed it.
    const inFixtures = await new Promise<Run>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'apply', '-f', 'with-entries.yaml', '--vault', vault], {
        env: { ...process.env, VAULTGATE_URL: adminUrl, VAULTGATE_TOKEN: token },
        cwd: FIXTURES,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(inFixtures.code).toBe(2);
    expect(inFixtures.stdout).toBe('');
    expect(inFixtures.stderr).toMatch(
      /^error: file_refused: with-entries\.yaml was refused whole; nothing was applied:\n {2}with-entries\.yaml:21: route 2 \(id 1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b, name "redact-card-number"\): this route has 1 filter\(s\) in "entries"/,
    );
    // The first route of the file is fine on its own, and was not created either.
    expect(await routesOf(vault)).toEqual([]);
  });

  it('refuses ids of another vault before anything changes, and reports a failure midway', async () => {
    const first = await newVault('Owner');
    const copy = fixtureCopy('inbound.yaml', 'e');
    await cli(['apply', '-f', copy, '--vault', first]);
    const second = await newVault('Not owner');
    const foreign = await cli(['apply', '-f', copy, '--vault', second]);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toBe(
      `error: invalid_field: route ec0f7f4e-8d51-4b7a-9a0e-2f6d1c5b8e90 belongs to vault ${first}, and route ids are unique across vaultgate; to copy routes between vaults use the whole-vault file (vaultgate export --vault ${first}), which gives them new ids. Nothing was applied.\n`,
    );
    expect(await routesOf(second)).toEqual([]);

    // A destination only the server can judge (a link-local address) fails the second PUT.
    const file = join(work, 'midway.yaml');
    const ok = '0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3';
    const bad = '1b2c3d4e-5f6a-4b7c-8d9e-9fa0b1c2d3e4';
    writeFileSync(
      file,
      `data:\n- attributes: {id: ${ok}, destination_override_endpoint: '*', entries: []}\n` +
        `- attributes: {id: ${bad}, destination_override_endpoint: 'https://169.254.169.254', entries: []}\n` +
        `- attributes: {id: 2c3d4e5f-6a7b-4c8d-9e0f-a0b1c2d3e4f5, destination_override_endpoint: '*', entries: []}\n` +
        'version: 1\n',
    );
    const midway = await cli(['apply', '-f', file, '--vault', second]);
    expect(midway.code).toBe(1);
    expect(midway.stderr).toMatch(/^error: invalid_field: destination_override_endpoint cannot be used/);
    expect(midway.stderr).toContain(
      `applied (1):\n  route ${ok} created\nnot applied (2):\n  route ${bad} created\n`,
    );
    expect((await routesOf(second)).map((r) => r.id)).toEqual([ok]);
  });

  it('answers --help and bad usage with exit codes 0 and 2', async () => {
    const help = await cli(['export', '--help']);
    expect([help.code, help.stdout]).toEqual([
      0,
      expect.stringMatching(/^usage: vaultgate export --vault ID/),
    ]);
    const applyHelp = await cli(['apply', '--help']);
    expect([applyHelp.code, applyHelp.stdout]).toEqual([
      0,
      expect.stringMatching(/^usage: vaultgate apply -f FILE/),
    ]);
    const usage = await cli(['apply', '--vault', 'tntabc']);
    expect([usage.code, usage.stderr]).toEqual([
      2,
      'error: usage: -f FILE is required; run vaultgate apply --help.\n',
    ]);
    const missing = await cli(['export', '--vault', 'tntzzzzzzzz']);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringMatching(/^error: vault_not_found: /)]);
  });
});

describe('whole-vault files: promotion from sandbox to live', () => {
  it('recreates a vault in an empty one, with new credentials and the same routes and certificates', async () => {
    const sandbox = await newVault('Promote sandbox');
    const credential = (await api('POST', `/vaults/${sandbox}/credentials`, { description: 'payments' }))
      .data;
    const outboundRoute = (
      await api('POST', `/vaults/${sandbox}/routes`, {
        destination_override_endpoint: '*',
        host_endpoint: 'api\\.network\\.example',
        tags: { name: 'network' },
      })
    ).data;
    const inboundRoute = (
      await api('POST', `/vaults/${sandbox}/routes`, {
        destination_override_endpoint: 'https://backend.acme.example',
        tags: { name: 'backend' },
        upstream_tls: { verify: true, servername: 'backend.acme.example' },
      })
    ).data;
    const issuer = makeCa({ cn: 'Promotion CA' });
    const clientLeaf = makeLeaf({ issuer, cn: 'payments.client.example' });
    const inboundLeaf = makeLeaf({ issuer, cn: 'backend.client.example' });
    const outboundCert = (
      await api('POST', `/vaults/${sandbox}/certificates`, {
        proxy_type: 'outbound',
        credential_id: credential.id,
        description: 'network mTLS',
        certificate: clientLeaf.certPem + issuer.certPem,
        private_key: clientLeaf.keyPem,
        hosts: ['api.network.example'],
      })
    ).data;
    const inboundCert = (
      await api('POST', `/vaults/${sandbox}/certificates`, {
        proxy_type: 'inbound',
        route_id: inboundRoute.id,
        description: 'backend mTLS',
        certificate: inboundLeaf.certPem,
        private_key: inboundLeaf.keyPem,
      })
    ).data;

    const dir = join(work, 'promotion');
    const exported = await cli(['export', '--vault', sandbox, '--out-dir', dir]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain(`certificates/${outboundCert.id}.key`);
    const file = readFileSync(join(dir, 'vault.yaml'), 'utf8');
    expect(file).not.toContain('PRIVATE KEY');
    expect(file).not.toContain(credential.password);
    const doc = parse(file);
    expect(doc).toMatchObject({ kind: 'vaultgate.vault', version: 1, vault: { id: sandbox } });
    expect(doc.certificates[0]).toMatchObject({
      id: outboundCert.id,
      credential_id: credential.id,
      fingerprint_sha256: outboundCert.fingerprint_sha256,
      cert_file: `certificates/${outboundCert.id}.pem`,
      key_file: `certificates/${outboundCert.id}.key`,
    });
    expect(readFileSync(join(dir, doc.certificates[0].cert_file), 'utf8')).toContain('BEGIN CERTIFICATE');
    // The user puts the keys they hold where key_file says.
    writeFileSync(join(dir, doc.certificates[0].key_file), clientLeaf.keyPem);
    writeFileSync(join(dir, doc.certificates[1].key_file), inboundLeaf.keyPem);

    const live = await newVault('Promote live', 'live');
    const applied = await cli(['apply', '-f', join(dir, 'vault.yaml'), '--vault', live]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout.trim().split('\n').at(-1)).toBe('5 changed, 0 unchanged');
    const [liveCredential] = (await api('GET', `/vaults/${live}/credentials`)).data;
    expect(liveCredential.id).not.toBe(credential.id);
    expect(applied.stdout).toMatch(
      new RegExp(
        `credential ${liveCredential.id} created for ${credential.id}: username ${liveCredential.username} password [0-9a-f-]{36}\n`,
      ),
    );
    const sandboxRoutes = await routesOf(sandbox);
    const liveRoutes = await routesOf(live);
    expect(liveRoutes.map(shape)).toEqual(sandboxRoutes.map(shape));
    expect(liveRoutes.map((r) => r.id)).not.toContain(outboundRoute.id);
    const liveCerts = (await api('GET', `/vaults/${live}/certificates`)).data;
    expect(
      liveCerts.map((c: Record<string, unknown>) => [
        c.fingerprint_sha256,
        c.credential_id,
        c.route_id,
        c.description,
        c.hosts,
      ]),
    ).toEqual([
      [outboundCert.fingerprint_sha256, liveCredential.id, null, 'network mTLS', ['api.network.example']],
      [inboundCert.fingerprint_sha256, null, liveRoutes[1]?.id, 'backend mTLS', []],
    ]);

    const again = await cli(['apply', '-f', join(dir, 'vault.yaml'), '--vault', live]);
    expect([again.code, again.stdout]).toEqual([0, '0 changed, 5 unchanged\n']);
    expect((await api('GET', `/vaults/${live}/credentials`)).data).toHaveLength(1);

    // The live vault's own export applied to itself is a no-op too.
    const liveExport = await cli(['export', '--vault', live]);
    const self = await cli(['apply', '-f', '-', '--vault', live], liveExport.stdout);
    expect([self.code, self.stdout]).toEqual([0, '0 changed, 5 unchanged\n']);

    // Without the key it holds, a certificate is reported as not carried; the rest is applied.
    unlinkSync(join(dir, doc.certificates[1].key_file));
    const third = await newVault('Promote without key', 'live');
    const partial = await cli(['apply', '-f', join(dir, 'vault.yaml'), '--vault', third]);
    expect(partial.code, partial.stderr).toBe(0);
    expect(partial.stdout).toContain(
      `! certificate ${inboundCert.id} (${inboundCert.subject}): not carried: its key_file ${join('promotion', doc.certificates[1].key_file)} cannot be read`,
    );
    expect(partial.stdout.trim().split('\n').at(-1)).toBe(
      '4 changed, 0 unchanged, 1 not carried (see the "!" lines above)',
    );
    expect((await api('GET', `/vaults/${third}/certificates`)).data).toHaveLength(1);
  });
});

describe('whole-vault files: hostnames', () => {
  it('reports a hostname another vault serves as not carried, and carries it once it is free', async () => {
    const sandbox = await newVault('Hostname sandbox');
    const issuer = makeCa({ cn: 'Hostname CA' });
    const server = makeLeaf({
      issuer,
      cn: 'callbacks.promote.example',
      sans: ['DNS:callbacks.promote.example'],
      eku: ['serverAuth'],
    });
    const hostname = (
      await api('POST', `/vaults/${sandbox}/hostnames`, {
        hostname: 'callbacks.promote.example',
        certificate: server.certPem + issuer.certPem,
        private_key: server.keyPem,
      })
    ).data;
    const dir = join(work, 'hostnames');
    const exported = await cli(['export', '--vault', sandbox, '--out-dir', dir]);
    expect(exported.code, exported.stderr).toBe(0);
    const doc = parse(readFileSync(join(dir, 'vault.yaml'), 'utf8'));
    expect(doc.hostnames).toEqual([
      expect.objectContaining({
        hostname: 'callbacks.promote.example',
        fingerprint_sha256: hostname.fingerprint_sha256,
        cert_file: 'hostnames/callbacks.promote.example.pem',
        key_file: 'hostnames/callbacks.promote.example.key',
        client_auth: { mode: 'off' },
      }),
    ]);
    writeFileSync(join(dir, doc.hostnames[0].key_file), server.keyPem);

    const live = await newVault('Hostname live', 'live');
    const taken = await cli(['apply', '-f', join(dir, 'vault.yaml'), '--vault', live]);
    expect([taken.code, taken.stdout]).toEqual([
      0,
      `! hostname callbacks.promote.example: not carried: vault ${sandbox} serves it, and a hostname belongs to one vault; delete it there, then apply again\n` +
        '0 changed, 0 unchanged, 1 not carried (see the "!" lines above)\n',
    ]);
    expect((await api('GET', `/vaults/${live}/hostnames`)).data).toEqual([]);

    await api('DELETE', `/vaults/${sandbox}/hostnames/${hostname.id}`);
    const moved = await cli(['apply', '-f', join(dir, 'vault.yaml'), '--vault', live]);
    expect([moved.code, moved.stdout.trim().split('\n').at(-1)]).toEqual([0, '1 changed, 0 unchanged']);
    const [liveHostname] = (await api('GET', `/vaults/${live}/hostnames`)).data;
    expect(liveHostname).toMatchObject({
      hostname: 'callbacks.promote.example',
      fingerprint_sha256: hostname.fingerprint_sha256,
    });
    const again = await cli(['apply', '-f', join(dir, 'vault.yaml'), '--vault', live]);
    expect([again.code, again.stdout]).toEqual([0, '0 changed, 1 unchanged\n']);
  });
});
