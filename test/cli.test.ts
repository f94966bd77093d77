import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/index.js';
import { expiry } from '../src/cli/output.js';
import { makeCa, makeLeaf, makePkcs12 } from './helpers/pki-fixtures.js';
import { startProcess, type RunningProcess } from './helpers/process.js';

/**
 * Issue 18 part 1: the real `bin/vaultgate.js` as a child process, against one real vaultgate (also a
 * child) whose management API speaks HTTPS, so every call also proves --ca-file / VAULTGATE_CA_FILE.
 */

const BIN = join(import.meta.dirname, '..', 'bin', 'vaultgate.js');
const dir = mkdtempSync(join(tmpdir(), 'vaultgate-cli-'));
const file = (name: string, content: string | Buffer): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

const ADMIN_TOKEN = `vgadm_${randomBytes(16).toString('hex')}`;
const adminRoot = makeCa({ cn: 'CLI Admin TLS Root' });
const adminLeaf = makeLeaf({
  issuer: adminRoot,
  cn: 'localhost',
  eku: ['serverAuth'],
  sans: ['DNS:localhost', 'IP:127.0.0.1'],
});
const CA_FILE = file('admin-ca.pem', adminRoot.certPem);
const TOKEN_FILE = file('admin-token', `${ADMIN_TOKEN}\n`);

let vg: RunningProcess;
let url: string;
/** Everything every CLI run printed: no secret may be in it, except where it is shown once. */
const printed: string[] = [];

beforeAll(async () => {
  vg = await startProcess(mkdtempSync(join(dir, 'data-')), {
    VAULTGATE_ADMIN_TOKEN: ADMIN_TOKEN,
    VAULTGATE_WORKERS: '1',
    VAULTGATE_ADMIN_TLS_CERT_FILE: file('admin.crt', adminLeaf.certPem),
    VAULTGATE_ADMIN_TLS_KEY_FILE: file('admin.key', adminLeaf.keyPem),
  });
  url = `https://127.0.0.1:${vg.ports.admin}`;
});

afterAll(async () => {
  if (vg !== undefined && vg.child.exitCode === null) {
    vg.child.kill('SIGTERM');
    await vg.exited;
  }
  rmSync(dir, { recursive: true, force: true });
  for (const text of printed) expect(text).not.toContain(ADMIN_TOKEN);
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a user who set nothing; VAULTGATE_* and NO_COLOR of the test runner are not passed on. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('VAULTGATE_') && k !== 'NO_COLOR') env[k] = v;
  }
  return env;
}

/** `vaultgate <args>` with the connection in the environment (VAULTGATE_URL, VAULTGATE_TOKEN, VAULTGATE_CA_FILE). */
function cli(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string | Buffer } = {},
): Promise<Run> {
  const env: Record<string, string> = {
    ...cleanEnv(),
    VAULTGATE_URL: url,
    VAULTGATE_TOKEN: ADMIN_TOKEN,
    VAULTGATE_CA_FILE: CA_FILE,
    ...options.env,
  };
  for (const [k, v] of Object.entries(env)) if (v === '') delete env[k];
  return run(args, env, options.stdin);
}

function run(args: string[], env: Record<string, string>, stdin?: string | Buffer): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      printed.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}

/** A run that must succeed, with its --json output parsed. */
async function ok<T = Record<string, unknown>>(args: string[], stdin?: string): Promise<T> {
  const r = await cli([...args, '--json'], { stdin });
  expect(r.stderr.replace(/^(note|warning): .*\n/gm, ''), r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

const API_ERROR = /^error: [a-z_]+: .+\.\n$/;

describe('help', () => {
  it('vaultgate --help lists the server settings and every command', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--admin-port');
    for (const command of [
      'vaults',
      'credentials',
      'routes',
      'certificates',
      'hostnames',
      'tokens',
      'export',
      'apply',
      'rotate-master-key',
    ])
      expect(r.stdout).toMatch(new RegExp(`^  vaultgate ${command} `, 'm'));
    expect(r.stdout).toContain('--token-file FILE');
  });

  it('vaultgate <resource> --help and <resource> <verb> --help list the verbs and flags', async () => {
    const resource = await cli(['routes', '--help']);
    expect(resource.code).toBe(0);
    for (const verb of ['list', 'get', 'create', 'delete'])
      expect(resource.stdout).toContain(`vaultgate routes ${verb}`);
    const verb = await cli(['certificates', 'add', '-h']);
    expect(verb.code).toBe(0);
    for (const flag of ['--cert FILE', '--key FILE', '--chain FILE', '--p12 FILE', '--passphrase-file FILE'])
      expect(verb.stdout).toContain(flag);
    expect(verb.stdout).toContain('also: vaultgate certificates create');
    for (const other of ['export', 'apply', 'rotate-master-key']) {
      const help = await cli([other, '--help']);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^usage: vaultgate ${other}`));
    }
  });
});

describe('usage errors exit 2 with a hint, before anything is sent', () => {
  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['vault', 'list'], /did you mean vaults\?/],
    [['vaults'], /vaultgate vaults needs a verb/],
    [['vaults', 'explode'], /has no verb "explode"/],
    [['vaults', 'list', '--colour'], /unknown flag --colour/],
    [['vaults', 'create'], /--name is required/],
    [['vaults', 'get'], /needs the vault's id/],
    [['vaults', 'get', 'a', 'b'], /unexpected argument "b"/],
    [['routes', 'list'], /--vault is required/],
    [['routes', 'create', '--vault', 'tntaaaaaaaa'], /--destination-override-endpoint is required/],
    [
      ['routes', 'create', '--vault', 'tntaaaaaaaa', '--file', '/nonexistent/route.json'],
      /cannot read --file/,
    ],
    [
      ['vaults', 'list', '--ca-file', '/nonexistent/ca.pem'],
      /cannot read --ca-file "\/nonexistent\/ca.pem" \(ENOENT\)/,
    ],
    [
      ['vaults', 'list', '--token-file', '/nonexistent/token'],
      /cannot read --token-file "\/nonexistent\/token": no such file/,
    ],
    [['vaults', 'list', '--url', 'ftp://127.0.0.1'], /is not an http:\/\/ or https:\/\/ URL/],
    [
      ['vaults', 'create', '--name', 'x', '--environment', 'prod'],
      /--environment must be one of sandbox, live/,
    ],
    [['tokens', 'create', '--name', 'x', '--role', 'root'], /--role must be one of admin, operator, viewer/],
    [
      ['certificates', 'add', '--vault', 'tntaaaaaaaa', '--credential', 'c'],
      /give --cert FILE or --p12 FILE/,
    ],
  ])('vaultgate %j', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).not.toMatch(/^error/m);
    expect(r.stderr).toMatch(/^error: usage: /m);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^hint: /m);
  });

  it('refuses to run without a token, naming where one comes from', async () => {
    const r = await cli(['vaults', 'list'], { env: { VAULTGATE_TOKEN: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: usage: no API token\nhint: set VAULTGATE_TOKEN, or pass --token-file FILE/,
    );
  });

  it('has no flag for the token itself', async () => {
    const r = await cli(['vaults', 'list', '--token', ADMIN_TOKEN]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown flag --token\b/);
  });
});

describe('connection', () => {
  it('takes --url, --token-file and --ca-file over the environment', async () => {
    const r = await run(
      ['vaults', 'list', '--url', url, '--token-file', TOKEN_FILE, '--ca-file', CA_FILE],
      cleanEnv(),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ID +NAME +ENVIRONMENT +INBOUND HOST +CREATED\n/);
    expect(r.stdout).toContain('Default vault');
    // The token from stdin, the flags in --name=value form.
    const fromStdin = await run(
      ['vaults', 'list', `--url=${url}`, '--token-file', '-', `--ca-file=${CA_FILE}`, '--json'],
      cleanEnv(),
      `${ADMIN_TOKEN}\n`,
    );
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(JSON.parse(fromStdin.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'Default vault' })]),
    );
  });

  it('an HTTPS listener whose CA is not given fails with tls_error and says how to trust it', async () => {
    const r = await cli(['vaults', 'list'], { env: { VAULTGATE_CA_FILE: '' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: tls_error: the certificate of https:\/\/127\.0\.0\.1:\d+ is not trusted \([A-Z_]+\); pass the CA that signed it with --ca-file or VAULTGATE_CA_FILE\.\n$/,
    );
    const wrongCa = await cli([
      'vaults',
      'list',
      '--ca-file',
      file('other-ca.pem', makeCa({ cn: 'Other' }).certPem),
    ]);
    expect(wrongCa.code).toBe(1);
    expect(wrongCa.stderr).toMatch(/^error: tls_error: /);
  });

  it('refused connections and plain HTTP to the HTTPS listener are one clear line, exit 1', async () => {
    const refused = await cli(['vaults', 'list', '--url', 'http://127.0.0.1:1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'error: connection_failed: cannot reach http://127.0.0.1:1: nothing listens there (ECONNREFUSED); is vaultgate running, and are --url / VAULTGATE_URL right?\n',
    );
    const plain = await cli(['vaults', 'list', '--url', url.replace('https:', 'http:')]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^error: connection_failed: cannot reach http:\/\/127\.0\.0\.1:\d+: /);
  });

  it('a wrong token is the API’s 401, exit 1, and the token is not echoed', async () => {
    const wrong = `vgadm_${randomBytes(16).toString('hex')}`;
    const r = await cli(['vaults', 'list'], { env: { VAULTGATE_TOKEN: wrong } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: unauthorized: /);
    expect(r.stderr).toMatch(API_ERROR);
    expect(r.stdout + r.stderr).not.toContain(wrong);
  });
});

describe('vaults', () => {
  it('create, list, get and delete, as tables and as JSON', async () => {
    const human = await cli(['vaults', 'create', '--name', 'CLI human', '--environment', 'live']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^id +tnt[a-z0-9]{8}\nname +CLI human\nenvironment +live\n/);
    const id = /^id +(tnt[a-z0-9]{8})$/m.exec(human.stdout)?.[1] ?? '';

    const created = await ok(['vaults', 'create', '--name', 'CLI json']);
    expect(created).toMatchObject({ name: 'CLI json', environment: 'sandbox' });

    const list = await cli(['vaults', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    // Aligned: every column starts at the same offset on every line.
    const at = (line: string, word: string) => line.indexOf(word);
    const row = lines.find((l) => l.startsWith(id)) ?? '';
    expect(at(row, 'CLI human')).toBe(at(lines[0] ?? '', 'NAME'));
    expect(at(row, 'live')).toBe(at(lines[0] ?? '', 'ENVIRONMENT'));

    const listed = await ok<{ id: string }[]>(['vaults', 'list']);
    expect(listed.map((v) => v.id)).toEqual(expect.arrayContaining([id, created.id]));
    expect(await ok(['vaults', 'get', id])).toMatchObject({ id, name: 'CLI human', environment: 'live' });

    const deleted = await cli(['vaults', 'delete', id]);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe(`deleted vault ${id}\n`);
    const gone = await cli(['vaults', 'get', id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^error: vault_not_found: /);
    expect(gone.stderr).toMatch(API_ERROR);
    expect(await ok(['vaults', 'delete', String(created.id)])).toEqual({ id: created.id, deleted: true });
  });

  it('delete of a vault that holds things is refused (exit 1) unless --force', async () => {
    const vault = await ok(['vaults', 'create', '--name', 'CLI full']);
    await ok(['credentials', 'create', '--vault', String(vault.id)]);
    const refused = await cli(['vaults', 'delete', String(vault.id)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: vault_not_empty: .*1 credential/);
    const forced = await cli(['vaults', 'delete', String(vault.id), '--force']);
    expect(forced.code, forced.stderr).toBe(0);
  });
});

describe('credentials', () => {
  it('the password is printed once, at create, with a note; never by list or get', async () => {
    const vault = await ok(['vaults', 'create', '--name', 'CLI credentials']);
    const v = String(vault.id);
    const human = await cli(['credentials', 'create', '--vault', v, '--description', 'billing service']);
    expect(human.code, human.stderr).toBe(0);
    const password = /^password +([0-9a-f-]{36})$/m.exec(human.stdout)?.[1] ?? '';
    expect(password).not.toBe('');
    expect(human.stderr).toMatch(
      /^note: the password above is shown this once: vaultgate keeps only a keyed hash of it\./,
    );
    const id = /^id +(\S+)$/m.exec(human.stdout)?.[1] ?? '';

    const created = await ok(['credentials', 'create', '--vault', v]);
    expect(created.password).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.username).toMatch(/^US/);

    const list = await cli(['credentials', 'list', '--vault', v]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID +USERNAME +STATUS +DESCRIPTION +CREATED\n/);
    expect(list.stdout).toContain('billing service');
    const get = await cli(['credentials', 'get', id, '--vault', v]);
    expect(get.stdout).toMatch(/^description +billing service$/m);
    const json = await ok<unknown[]>(['credentials', 'list', '--vault', v]);
    expect(json).toHaveLength(2);
    for (const text of [list.stdout, get.stdout, JSON.stringify(json)]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(String(created.password));
    }

    expect((await cli(['credentials', 'delete', id, '--vault', v])).stdout).toBe(
      `deleted access credential ${id}\n`,
    );
    const gone = await cli(['credentials', 'get', id, '--vault', v]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^error: credential_not_found: /);
    const noVault = await cli(['credentials', 'list', '--vault', 'tntnothere1']);
    expect(noVault.code).toBe(1);
    expect(noVault.stderr).toMatch(/^error: vault_not_found: /);
  });
});

describe('routes', () => {
  it('create from flags, from a JSON file on stdin, list, get and delete', async () => {
    const v = String((await ok(['vaults', 'create', '--name', 'CLI routes'])).id);
    const inbound = await ok([
      'routes',
      'create',
      '--vault',
      v,
      '--destination-override-endpoint',
      'https://api.customer.example:443',
      '--name',
      'customer api',
      '--tag',
      'team=payments',
      '--upstream-ca-file',
      CA_FILE,
      '--upstream-servername',
      'api.customer.example',
    ]);
    expect(inbound).toMatchObject({
      type: 'inbound',
      destination_override_endpoint: 'https://api.customer.example:443',
      tags: { name: 'customer api', team: 'payments' },
      upstream_tls: { verify: true, servername: 'api.customer.example' },
    });

    const id = '3f9c6a2e-1b4d-4e8f-9a0b-7c6d5e4f3a2b';
    const body = {
      destination_override_endpoint: '*',
      host_endpoint: 'api\\.visa\\.com',
      port: 443,
      tags: { name: 'visa' },
    };
    const outbound = await ok(
      ['routes', 'create', '--vault', v, '--file', '-', '--id', id],
      JSON.stringify(body),
    );
    expect(outbound).toMatchObject({
      id,
      type: 'outbound',
      host_endpoint: 'api\\.visa\\.com',
      tags: { name: 'visa' },
    });

    // A route printed with --json can be fed back (the API's own fields are dropped), flags override it.
    const again = await ok([
      'routes',
      'create',
      '--vault',
      v,
      '--file',
      file('route.json', JSON.stringify({ data: outbound })),
      '--id',
      '6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
      '--name',
      'visa 2',
    ]);
    expect(again).toMatchObject({ type: 'outbound', tags: { name: 'visa 2' } });

    const table = await cli(['routes', 'list', '--vault', v]);
    expect(table.stdout).toMatch(/^ID +TYPE +NAME +DESTINATION +HOST ENDPOINT\n/);
    expect(table.stdout).toMatch(new RegExp(`^${id} +outbound +visa +\\* +api\\\\\\.visa\\\\\\.com$`, 'm'));
    expect(await ok<unknown[]>(['routes', 'list', '--vault', v])).toHaveLength(3);
    const get = await cli(['routes', 'get', id, '--vault', v]);
    expect(get.stdout).toMatch(/^tags +name=visa$/m);

    const filtered = await cli(['routes', 'create', '--vault', v, '--file', '-'], {
      stdin: JSON.stringify({ ...body, entries: [{ phase: 'REQUEST', operation: 'REDACT' }] }),
    });
    expect(filtered.code).toBe(1);
    expect(filtered.stderr).toMatch(/^error: unsupported_filter: /);
    const badPort = await cli([
      'routes',
      'create',
      '--vault',
      v,
      '--destination-override-endpoint',
      '*',
      '--port',
      'x',
    ]);
    expect(badPort.code).toBe(2);

    // An id is one path segment: ".." (which URL parsing resolves, %2E%2E too) never reaches the vault.
    for (const dots of [
      ['routes', 'delete', '..', '--vault', v],
      ['routes', 'delete', '%2E%2e', '--vault', v],
      ['credentials', 'list', '--vault', '..'],
    ]) {
      const refused = await cli(dots);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^error: usage: "[.%2Ee]+" is not an? [a-z ]+ id\n/);
    }
    expect((await cli(['vaults', 'get', v])).code).toBe(0);

    expect((await cli(['routes', 'delete', id, '--vault', v])).code).toBe(0);
    expect((await cli(['routes', 'get', id, '--vault', v])).stderr).toMatch(/^error: route_not_found: /);
  });
});

describe('certificates', () => {
  const clientCa = makeCa({ cn: 'CLI Client CA' });
  const soon = makeLeaf({ issuer: clientCa, cn: 'soon.cli.example', days: 10 });
  const later = makeLeaf({ issuer: clientCa, cn: 'later.cli.example', keyType: 'rsa2048', days: 400 });

  it('add from PEM files and from PKCS#12 with a passphrase on stdin; list marks expiry; the key is never printed', async () => {
    const v = String((await ok(['vaults', 'create', '--name', 'CLI certificates'])).id);
    const credential = String((await ok(['credentials', 'create', '--vault', v])).id);
    const route = String(
      (
        await ok([
          'routes',
          'create',
          '--vault',
          v,
          '--destination-override-endpoint',
          'https://upstream.cli.example',
        ])
      ).id,
    );

    const human = await cli([
      'certificates',
      'add',
      '--vault',
      v,
      '--credential',
      credential,
      '--cert',
      file('soon.pem', soon.certPem),
      '--chain',
      file('chain.pem', clientCa.certPem),
      '--key',
      file('soon.key', soon.keyPem),
      '--hosts',
      'api.visa.com, *.mastercard.com',
      '--description',
      'Visa VDP',
    ]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^proxy_type +outbound$/m);
    expect(human.stdout).toMatch(/^hosts +api\.visa\.com, \*\.mastercard\.com$/m);
    expect(human.stdout).toMatch(/^not_after +\S+ \[expires soon\]$/m);
    expect(human.stderr).toMatch(/^warning: expires_soon$/m);
    const soonId = /^id +(\S+)$/m.exec(human.stdout)?.[1] ?? '';

    const passphrase = `pass-${randomBytes(6).toString('hex')}`;
    const p12 = Buffer.from(makePkcs12(later, { passphrase }), 'base64');
    const inbound = await ok(
      [
        'certificates',
        'create',
        '--vault',
        v,
        '--route',
        route,
        '--p12',
        file('later.p12', p12),
        '--passphrase-file',
        '-',
      ],
      `${passphrase}\n`,
    );
    expect(inbound).toMatchObject({
      proxy_type: 'inbound',
      route_id: route,
      key_type: 'rsa',
      status: 'valid',
    });

    const table = await cli(['certificates', 'list', '--vault', v]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID +TYPE +TIED TO +SUBJECT +EXPIRES +STATUS +DESCRIPTION\n/);
    expect(table.stdout).toMatch(
      new RegExp(
        `^${soonId} +outbound +credential ${credential} +CN=soon\\.cli\\.example +\\d{4}-\\d{2}-\\d{2} \\[expires soon\\] +expiring_soon +Visa VDP$`,
        'm',
      ),
    );
    expect(table.stdout).toMatch(
      /^\S+ +inbound +route \S+ +CN=later\.cli\.example +\d{4}-\d{2}-\d{2}  +valid +-$/m,
    );
    // Not a terminal: no colour codes.
    expect(table.stdout).not.toContain('\u001b[');

    const onlyInbound = await ok<{ id: string }[]>([
      'certificates',
      'list',
      '--vault',
      v,
      '--proxy-type',
      'inbound',
    ]);
    expect(onlyInbound.map((c) => c.id)).toEqual([inbound.id]);
    const detail = await ok(['certificates', 'get', soonId, '--vault', v]);
    expect(detail.certificate_pem).toContain('BEGIN CERTIFICATE');
    const get = await cli(['certificates', 'get', soonId, '--vault', v]);
    expect(get.stdout).toMatch(/^issuer +.*CN=CLI Client CA/m);
    expect(get.stdout).not.toContain('BEGIN CERTIFICATE');

    for (const text of printed) {
      for (const key of [soon.keyPem, later.keyPem]) expect(text).not.toContain(key.split('\n')[1]);
      expect(text).not.toContain(passphrase);
    }

    const both = await cli([
      'certificates',
      'add',
      '--vault',
      v,
      '--credential',
      credential,
      '--route',
      route,
      '--cert',
      file('x.pem', soon.certPem),
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/exactly one/);
    const wrongPass = await cli(
      [
        'certificates',
        'add',
        '--vault',
        v,
        '--route',
        route,
        '--p12',
        file('later2.p12', p12),
        '--passphrase-file',
        '-',
      ],
      { stdin: 'not it\n' },
    );
    expect(wrongPass.code).toBe(1);
    expect(wrongPass.stderr).toMatch(/^error: bad_passphrase: /);
    const twoStdin = await cli([
      'certificates',
      'add',
      '--vault',
      v,
      '--route',
      route,
      '--cert',
      '-',
      '--key',
      '-',
    ]);
    expect(twoStdin.code).toBe(2);
    expect(twoStdin.stderr).toMatch(/--key and --cert both read stdin/);

    expect((await cli(['certificates', 'delete', soonId, '--vault', v])).stdout).toBe(
      `deleted certificate ${soonId}\n`,
    );
    expect((await cli(['certificates', 'get', soonId, '--vault', v])).stderr).toMatch(
      /^error: certificate_not_found: /,
    );
  });

  it('colours expiry only on a terminal, and not under NO_COLOR', async () => {
    const v = String((await ok(['vaults', 'create', '--name', 'CLI colour'])).id);
    const credential = String((await ok(['credentials', 'create', '--vault', v])).id);
    await ok([
      'certificates',
      'add',
      '--vault',
      v,
      '--credential',
      credential,
      '--cert',
      file('soon2.pem', soon.certPem),
      '--key',
      file('soon2.key', soon.keyPem),
    ]);
    const onTerminal = async (env: Record<string, string>) => {
      let out = '';
      const stdout = Object.assign(
        new Writable({
          write(chunk: Buffer, _enc, done) {
            out += chunk.toString();
            done();
          },
        }),
        { isTTY: true },
      );
      const stderr = new Writable({ write: (_c, _e, done) => done() });
      const code = await runCli(['certificates', 'list', '--vault', v], {
        stdout,
        stderr,
        stdin: Readable.from([]),
        env: { VAULTGATE_URL: url, VAULTGATE_TOKEN: ADMIN_TOKEN, VAULTGATE_CA_FILE: CA_FILE, ...env },
      });
      expect(code).toBe(0);
      return out;
    };
    const coloured = await onTerminal({});
    const ESC = '\u001b';
    expect(coloured).toMatch(new RegExp(`${ESC}\\[33m\\d{4}-\\d{2}-\\d{2} \\[expires soon\\]${ESC}\\[0m`));
    // Still aligned: the padding is outside the colour codes.
    const [header = '', row = ''] = coloured.split('\n');
    expect(row.replaceAll(new RegExp(`${ESC}\\[\\d+m`, 'g'), '').indexOf('expiring_soon')).toBe(
      header.indexOf('STATUS'),
    );
    const plain = await onTerminal({ NO_COLOR: '1' });
    expect(plain).not.toContain('\u001b[');
    expect(plain).toContain('[expires soon]');
  });
});

describe('expiry marks', () => {
  it('are words, with a colour for the terminal: expires soon, EXPIRED, not yet valid', () => {
    const at = '2025-01-31T12:00:00.000Z';
    expect(expiry({ not_after: at, status: 'valid' })).toEqual({ text: '2025-01-31' });
    expect(expiry({ not_after: at, status: 'expiring_soon' })).toEqual({
      text: '2025-01-31 [expires soon]',
      tone: 'warn',
    });
    expect(expiry({ not_after: at, status: 'expired' })).toEqual({
      text: '2025-01-31 [EXPIRED]',
      tone: 'bad',
    });
    expect(expiry({ not_after: at, status: 'not_yet_valid' })).toEqual({
      text: '2025-01-31 [not yet valid]',
      tone: 'warn',
    });
  });
});

describe('hostnames', () => {
  it('create with a server certificate and caller mTLS, list, get, delete', async () => {
    const v = String((await ok(['vaults', 'create', '--name', 'CLI hostnames'])).id);
    const serverCa = makeCa({ cn: 'CLI Server CA' });
    const server = makeLeaf({
      issuer: serverCa,
      cn: 'callbacks.cli.example',
      eku: ['serverAuth'],
      sans: ['DNS:callbacks.cli.example'],
    });
    const callers = makeCa({ cn: 'CLI Callers CA' });
    const created = await ok([
      'hostnames',
      'create',
      '--vault',
      v,
      '--hostname',
      'callbacks.cli.example',
      '--cert',
      file('server.pem', server.certPem),
      '--chain',
      file('server-ca.pem', serverCa.certPem),
      '--key',
      file('server.key', server.keyPem),
      '--client-auth',
      'required',
      '--client-ca-file',
      file('callers.pem', callers.certPem),
    ]);
    expect(created).toMatchObject({ hostname: 'callbacks.cli.example', client_auth: { mode: 'required' } });
    const id = String(created.id);

    const table = await cli(['hostnames', 'list', '--vault', v]);
    expect(table.stdout).toMatch(/^ID +HOSTNAME +SUBJECT +EXPIRES +STATUS +CALLER MTLS\n/);
    expect(table.stdout).toMatch(
      new RegExp(
        `^${id} +callbacks\\.cli\\.example +CN=callbacks\\.cli\\.example +\\d{4}-\\d{2}-\\d{2} +valid +required$`,
        'm',
      ),
    );
    expect(await ok(['hostnames', 'get', id, '--vault', v])).toMatchObject({
      id,
      certificate_pem: expect.stringContaining('BEGIN CERTIFICATE'),
    });

    const mismatch = await cli([
      'hostnames',
      'create',
      '--vault',
      v,
      '--hostname',
      'other.cli.example',
      '--cert',
      file('server2.pem', server.certPem),
      '--key',
      file('server2.key', server.keyPem),
    ]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/^error: hostname_mismatch: /);
    const noMode = await cli([
      'hostnames',
      'create',
      '--vault',
      v,
      '--hostname',
      'x.cli.example',
      '--cert',
      CA_FILE,
      '--client-ca-file',
      CA_FILE,
    ]);
    expect(noMode.code).toBe(2);

    expect((await cli(['hostnames', 'delete', id, '--vault', v])).stdout).toBe(
      `deleted custom hostname ${id}\n`,
    );
    expect((await cli(['hostnames', 'get', id, '--vault', v])).stderr).toMatch(
      /^error: hostname_not_found: /,
    );
  });
});

describe('tokens', () => {
  it('the token is printed once; list and get show metadata only; a viewer token is refused a create', async () => {
    const human = await cli(['tokens', 'create', '--name', 'cli-ci', '--role', 'operator']);
    expect(human.code, human.stderr).toBe(0);
    const token = /^token +(\S+)$/m.exec(human.stdout)?.[1] ?? '';
    expect(token).not.toBe('');
    expect(human.stderr).toMatch(/^note: the token above is shown this once/);
    const id = /^id +(\S+)$/m.exec(human.stdout)?.[1] ?? '';

    const viewer = await ok([
      'tokens',
      'create',
      '--name',
      'cli-viewer',
      '--role',
      'viewer',
      '--expires-at',
      '2099-01-01T00:00:00.000Z',
    ]);
    expect(viewer).toMatchObject({
      name: 'cli-viewer',
      role: 'viewer',
      expires_at: '2099-01-01T00:00:00.000Z',
    });
    const viewerToken = String(viewer.token);

    const table = await cli(['tokens', 'list']);
    expect(table.stdout).toMatch(/^ID +NAME +ROLE +CREATED +EXPIRES +LAST USED\n/);
    expect(table.stdout).toMatch(new RegExp(`^${id} +cli-ci +operator +\\S+ \\S+ +never +never$`, 'm'));
    const listed = await ok<{ name: string }[]>(['tokens', 'list']);
    expect(listed.map((t) => t.name)).toEqual(expect.arrayContaining(['bootstrap', 'cli-ci', 'cli-viewer']));
    expect(await ok(['tokens', 'get', id])).toMatchObject({ id, name: 'cli-ci', role: 'operator' });
    for (const text of [table.stdout, JSON.stringify(listed)]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(viewerToken);
    }

    // The viewer token, from a file: it reads, and is refused what its role does not allow.
    const viewerFile = file('viewer-token', viewerToken);
    const reads = await cli(['vaults', 'list', '--token-file', viewerFile], { env: { VAULTGATE_TOKEN: '' } });
    expect(reads.code, reads.stderr).toBe(0);
    const refused = await cli(['vaults', 'create', '--name', 'nope', '--token-file', viewerFile], {
      env: { VAULTGATE_TOKEN: '' },
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: forbidden: /);
    expect(refused.stdout + refused.stderr).not.toContain(viewerToken);

    expect((await cli(['tokens', 'delete', id])).stdout).toBe(`deleted API token ${id}\n`);
    const gone = await cli(['tokens', 'get', id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^error: api_token_not_found: /);
  });
});
