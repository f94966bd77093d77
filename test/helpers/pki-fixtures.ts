/**
 * Test PKI made with the real `openssl` CLI, in a per-process temporary directory: keys of every
 * kind, CAs, intermediates, client certificates with chosen dates and extensions, key conversions
 * and PKCS#12 files (modern and legacy). Everything returns PEM strings (or base64 for PKCS#12).
 *
 * Certificates are signed with `openssl ca`, because OpenSSL 3.0's `x509`/`req` cannot set an
 * arbitrary notBefore/notAfter (`-not_before` arrived in 3.4; `-days` must be positive), and expired
 * or not-yet-valid certificates are what a proxy most needs to be tested with.
 *
 * Keys are cached per (kind, slot): RSA key generation costs tens of milliseconds, and most tests only
 * need keys that differ from each other, not fresh ones.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type KeyKind =
  'rsa2048' | 'rsa1024' | 'rsa512' | 'rsa3072' | 'p256' | 'p384' | 'p521' | 'secp256k1' | 'ed25519';

export interface Issued {
  /** The certificate alone, PEM. */
  readonly certPem: string;
  /** Its private key, unencrypted PKCS#8 PEM. */
  readonly keyPem: string;
  /** The subject as passed to openssl, e.g. `/O=Acme/CN=client.example`. */
  readonly subject: string;
  /** The issuing certificates, nearest first (empty for a self-signed certificate). */
  readonly issuers: readonly Issued[];
}

export interface CaOptions {
  cn?: string;
  org?: string;
  keyType?: KeyKind;
  /** Makes an intermediate CA issued by this CA; a self-signed root otherwise. */
  issuer?: Issued;
  days?: number;
  notBefore?: Date;
  notAfter?: Date;
  /** The digest the issuer signs with (default sha256); md5 needs an RSA issuer. */
  digest?: Digest;
}

/** What `openssl ca -md` accepts; sha1 and md5 make certificates TLS refuses to send. */
export type Digest = 'sha256' | 'sha384' | 'sha1' | 'md5';

export interface LeafOptions {
  /** Self-signed when omitted. */
  issuer?: Issued;
  cn?: string;
  org?: string;
  keyType?: KeyKind;
  /** Use this key (PKCS#8 PEM) instead of a cached one. */
  keyPem?: string;
  /** Cache slot for the key; leaves with the same keyType and slot share a key. Default: the CN. */
  keySlot?: string;
  /** Subject alternative names in openssl syntax, e.g. `DNS:api.example`, `IP:127.0.0.1`. */
  sans?: string[];
  /** Extended key usage names (`clientAuth`, `serverAuth`); null omits the extension. Default clientAuth. */
  eku?: string[] | null;
  /** basicConstraints CA:TRUE on the leaf. */
  ca?: boolean;
  days?: number;
  notBefore?: Date;
  notAfter?: Date;
  /** The digest the issuer signs with (default sha256); md5 needs an RSA issuer. */
  digest?: Digest;
}

let dir: string | undefined;
let counter = 0;
const keyCache = new Map<string, string>();

/** The per-process scratch directory, removed when the process exits. */
export function workDir(): string {
  if (dir === undefined) {
    const created = mkdtempSync(join(tmpdir(), 'vaultgate-pki-'));
    dir = created;
    process.once('exit', () => rmSync(created, { recursive: true, force: true }));
  }
  return dir;
}

function scratch(name: string): string {
  return join(workDir(), `${++counter}-${name}`);
}

/** Runs openssl; throws with its stderr on failure. */
export function openssl(args: readonly string[], input?: string | Buffer): Buffer {
  try {
    return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 16 << 20 });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr}`);
  }
}

function writeTemp(name: string, content: string | Buffer): string {
  const path = scratch(name);
  writeFileSync(path, content);
  return path;
}

const GENPKEY_ARGS: Readonly<Record<KeyKind, string[]>> = {
  rsa512: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:512'],
  rsa1024: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'],
  rsa2048: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  rsa3072: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'],
  p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-pkeyopt', 'ec_param_enc:named_curve'],
  p384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-pkeyopt', 'ec_param_enc:named_curve'],
  p521: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521', '-pkeyopt', 'ec_param_enc:named_curve'],
  secp256k1: [
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:secp256k1',
    '-pkeyopt',
    'ec_param_enc:named_curve',
  ],
  ed25519: ['-algorithm', 'ED25519'],
};

/** A PKCS#8 PEM private key, cached per (kind, slot). */
export function makeKey(kind: KeyKind = 'p256', slot = 'default'): string {
  const cacheKey = `${kind}:${slot}`;
  let pem = keyCache.get(cacheKey);
  if (pem === undefined) {
    pem = openssl(['genpkey', ...GENPKEY_ARGS[kind]]).toString();
    keyCache.set(cacheKey, pem);
  }
  return pem;
}

export type KeyFormat = 'pkcs8' | 'traditional' | 'encrypted-pkcs8' | 'legacy-encrypted';

/**
 * Re-encodes a key: `traditional` is PKCS#1 for RSA and SEC1 for EC; `legacy-encrypted` is the
 * traditional form with RFC 1421 `Proc-Type: 4,ENCRYPTED` headers (AES-128-CBC); `encrypted-pkcs8`
 * uses PBES2 with AES-256-CBC.
 */
export function convertKey(keyPem: string, format: KeyFormat, passphrase = 'correct horse'): string {
  const pass = `pass:${passphrase}`;
  switch (format) {
    case 'pkcs8':
      return openssl(['pkey'], keyPem).toString();
    case 'traditional':
      return openssl(['pkey', '-traditional'], keyPem).toString();
    case 'encrypted-pkcs8':
      return openssl(['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-passout', pass], keyPem).toString();
    case 'legacy-encrypted':
      return openssl(['pkey', '-traditional', '-aes128', '-passout', pass], keyPem).toString();
  }
}

function stamp(date: Date): string {
  // openssl ca takes GeneralizedTime-style YYYYMMDDHHMMSSZ.
  return date
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

interface SignRequest {
  subject: string;
  keyPem: string;
  issuer: Issued | undefined;
  extensions: string[];
  days: number | undefined;
  notBefore: Date | undefined;
  notAfter: Date | undefined;
  digest: Digest | undefined;
  /** A CSR made elsewhere to sign (its SANs are copied); by default one is made from keyPem. */
  csrPem?: string | undefined;
}

function sign(req: SignRequest): string {
  const caDir = scratch('ca');
  mkdirSync(caDir);
  writeFileSync(join(caDir, 'index.txt'), '');
  writeFileSync(join(caDir, 'serial'), `${randomBytes(8).toString('hex')}\n`);
  const config = writeTemp(
    'ca.cnf',
    [
      '[ca]',
      'default_ca = d',
      '[d]',
      `database = ${join(caDir, 'index.txt')}`,
      `new_certs_dir = ${caDir}`,
      `serial = ${join(caDir, 'serial')}`,
      `default_md = ${req.digest ?? 'sha256'}`,
      'policy = p',
      'unique_subject = no',
      // Only CSRs made elsewhere carry extensions (signCsr); the extfile's win over them.
      'copy_extensions = copy',
      '[p]',
      'commonName = optional',
      '',
    ].join('\n'),
  );
  const extFile = writeTemp('ext.cnf', req.extensions.join('\n') + '\n');
  const keyFile = writeTemp('key.pem', req.keyPem);
  const csr = writeTemp(
    'req.csr',
    req.csrPem ?? openssl(['req', '-new', '-key', keyFile, '-subj', req.subject]),
  );
  const out = scratch('cert.pem');
  const notBefore = req.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = req.notAfter ?? new Date(notBefore.getTime() + (req.days ?? 365) * 86_400_000);
  const args = ['ca', '-batch', '-config', config, '-in', csr, '-out', out, '-extfile', extFile];
  args.push('-preserveDN', '-notext', '-startdate', stamp(notBefore), '-enddate', stamp(notAfter));
  if (req.issuer === undefined) args.push('-selfsign', '-keyfile', keyFile);
  else {
    args.push('-cert', writeTemp('issuer.pem', req.issuer.certPem));
    args.push('-keyfile', writeTemp('issuer-key.pem', req.issuer.keyPem));
  }
  openssl(args);
  return readFileSync(out, 'utf8');
}

function subjectOf(cn: string, org: string | undefined): string {
  return `${org === undefined ? '' : `/O=${org}`}/CN=${cn}`;
}

/** A root CA (self-signed) or, with `issuer`, an intermediate CA. */
export function makeCa(options: CaOptions = {}): Issued {
  const cn = options.cn ?? `Test CA ${++counter}`;
  const keyPem = makeKey(options.keyType ?? 'p256', `ca:${cn}`);
  const subject = subjectOf(cn, options.org ?? 'Vaultgate Tests');
  const extensions = [
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
  ];
  if (options.issuer !== undefined) extensions.push('authorityKeyIdentifier = keyid');
  const certPem = sign({
    subject,
    keyPem,
    issuer: options.issuer,
    extensions,
    days: options.days ?? 3650,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    digest: options.digest,
  });
  const issuers = options.issuer === undefined ? [] : [options.issuer, ...options.issuer.issuers];
  return { certPem, keyPem, subject, issuers };
}

/** A client (end-entity) certificate, self-signed unless `issuer` is given. */
export function makeLeaf(options: LeafOptions = {}): Issued {
  const cn = options.cn ?? `client-${++counter}.example`;
  const keyType = options.keyType ?? 'p256';
  const keyPem = options.keyPem ?? makeKey(keyType, options.keySlot ?? `leaf:${cn}`);
  const subject = subjectOf(cn, options.org);
  const extensions = [`basicConstraints = ${options.ca === true ? 'critical, CA:TRUE' : 'CA:FALSE'}`];
  const usage = keyType.startsWith('rsa') ? 'digitalSignature, keyEncipherment' : 'digitalSignature';
  // A self-signed CA:TRUE certificate needs keyCertSign to count as self-signed for OpenSSL.
  extensions.push(`keyUsage = critical, ${usage}${options.ca === true ? ', keyCertSign' : ''}`);
  const eku = options.eku === undefined ? ['clientAuth'] : options.eku;
  if (eku !== null) extensions.push(`extendedKeyUsage = ${eku.join(', ')}`);
  if (options.sans !== undefined && options.sans.length > 0)
    extensions.push(`subjectAltName = ${options.sans.join(', ')}`);
  extensions.push('subjectKeyIdentifier = hash');
  if (options.issuer !== undefined) extensions.push('authorityKeyIdentifier = keyid');
  const certPem = sign({
    subject,
    keyPem,
    issuer: options.issuer,
    extensions,
    days: options.days,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    digest: options.digest,
  });
  const issuers = options.issuer === undefined ? [] : [options.issuer, ...options.issuer.issuers];
  return { certPem, keyPem, subject, issuers };
}

/**
 * What a CA does with a certificate request made elsewhere (vaultgate's own, SPEC §2 "Certificate
 * lifecycle"): a client certificate for the CSR's key and subject, with its SANs.
 */
export function signCsr(
  csrPem: string,
  issuer: Issued,
  options: Pick<LeafOptions, 'eku' | 'days' | 'notBefore' | 'notAfter' | 'digest'> = {},
): string {
  const extensions = ['basicConstraints = CA:FALSE', 'keyUsage = critical, digitalSignature'];
  const eku = options.eku === undefined ? ['clientAuth'] : options.eku;
  if (eku !== null) extensions.push(`extendedKeyUsage = ${eku.join(', ')}`);
  extensions.push('subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid');
  return sign({
    subject: '',
    keyPem: '',
    csrPem,
    issuer,
    extensions,
    days: options.days,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    digest: options.digest,
  });
}

/** The leaf followed by its issuers (leaf → root), as one PEM string. */
export function chainPem(leaf: Issued): string {
  return [leaf.certPem, ...leaf.issuers.map((i) => i.certPem)].join('');
}

export interface Pkcs12Options {
  /** Extra certificates to include; default: the leaf's issuers. */
  extraCertsPem?: string[];
  /** Default "" (an empty password, which most tools still MAC with). */
  passphrase?: string;
  /**
   * `modern`: OpenSSL 3 defaults (PBES2/PBKDF2/AES-256-CBC, HMAC-SHA-256 MAC).
   * `legacy`: RC2-40 for certificates, 3DES for the key, SHA-1 MAC (`-legacy`).
   * `3des`: 3DES for both (what Windows and Java keytool wrote for years).
   * `none`: no encryption and no MAC.
   */
  encryption?: 'modern' | 'legacy' | '3des' | 'none';
  /** Leave the private key out. */
  noKey?: boolean;
}

/** A PKCS#12 file for the leaf, base64-encoded. */
export function makePkcs12(leaf: Issued, options: Pkcs12Options = {}): string {
  const extra = options.extraCertsPem ?? leaf.issuers.map((i) => i.certPem);
  const args = ['pkcs12', '-export', '-in', writeTemp('p12-leaf.pem', leaf.certPem)];
  args.push('-passout', `pass:${options.passphrase ?? ''}`);
  if (options.noKey === true) args.push('-nokeys');
  else args.push('-inkey', writeTemp('p12-key.pem', leaf.keyPem));
  if (extra.length > 0) args.push('-certfile', writeTemp('p12-extra.pem', extra.join('')));
  switch (options.encryption ?? 'modern') {
    case 'legacy':
      args.push('-legacy');
      break;
    case '3des':
      args.push('-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1');
      break;
    case 'none':
      args.push('-keypbe', 'NONE', '-certpbe', 'NONE', '-nomac');
      break;
    case 'modern':
      break;
  }
  return openssl(args).toString('base64');
}

/** Converts LF line endings to CRLF, as a Windows editor would save the file. */
export function toCrlf(pem: string): string {
  return pem.replace(/\r?\n/g, '\r\n');
}

/** A certificate signing request for the key (a wrong thing to upload as a certificate). */
export function makeCsr(keyPem: string, subject = '/CN=csr.example'): string {
  return openssl(['req', '-new', '-key', writeTemp('csr-key.pem', keyPem), '-subj', subject]).toString();
}

/** The public key of a private key, PEM (another wrong thing to upload). */
export function publicKeyOf(keyPem: string): string {
  return openssl(['pkey', '-pubout'], keyPem).toString();
}

/** A PEM CRL signed by `ca` that lists `revoked` (certificates `ca` issued), as `openssl ca` makes it. */
export function makeCrl(ca: Issued, revoked: readonly Issued[] = []): string {
  const base = scratch('crl');
  mkdirSync(base);
  writeFileSync(join(base, 'index.txt'), '');
  writeFileSync(join(base, 'crlnumber'), '01\n');
  const config = writeTemp(
    'crl.cnf',
    [
      '[ca]',
      'default_ca = d',
      '[d]',
      `database = ${join(base, 'index.txt')}`,
      `crlnumber = ${join(base, 'crlnumber')}`,
      'default_md = sha256',
      'default_crl_days = 30',
      '',
    ].join('\n'),
  );
  const caCert = writeTemp('crl-ca.pem', ca.certPem);
  const caKey = writeTemp('crl-ca.key', ca.keyPem);
  for (const cert of revoked) {
    openssl([
      'ca',
      '-config',
      config,
      '-keyfile',
      caKey,
      '-cert',
      caCert,
      '-revoke',
      writeTemp('revoked.pem', cert.certPem),
    ]);
  }
  return openssl(['ca', '-config', config, '-keyfile', caKey, '-cert', caCert, '-gencrl']).toString('utf8');
}
