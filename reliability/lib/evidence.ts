/**
 * What the secrets scenario scans: every secret the scenarios created, and every byte they saw.
 *
 * A secret is cut into 16-byte pieces in each form it could leak in (a private key's PEM lines, the
 * base64 of its DER at the three byte alignments, the raw DER bytes and their hex; a password as
 * text and inside a Basic authorization value; a token as text). Any contiguous leak of about 32
 * bytes or more of one of those forms contains a whole piece. Pieces that also occur in public
 * material (the certificate the key belongs to) or in more than one secret (shared ASN.1 headers)
 * prove nothing and are dropped. The scan reads every source once, at every offset.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const PIECE = 16;

type SecretKind = 'private key' | 'credential password' | 'admin token';

interface Secret {
  kind: SecretKind;
  label: string;
  forms: Buffer[];
  publicMaterial: Buffer[];
}

export interface Finding {
  source: string;
  kind: SecretKind;
  secret: string;
}

export interface ScanReport {
  findings: Finding[];
  secrets: Record<SecretKind, number>;
  sources: number;
  bytes: number;
  pieces: number;
}

/** Files of a data dir that hold secrets in clear by design (SPEC §1). */
const EXEMPT_FILES = new Set(['master.key', 'admin-token']);

function pieces(form: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + PIECE <= form.length; i += PIECE) out.push(form.subarray(i, i + PIECE));
  return out;
}

/** base64 of the bytes from each of the three offsets, so a leak starting at any byte is covered. */
function base64Alignments(der: Buffer): Buffer[] {
  return [0, 1, 2].map((a) => Buffer.from(der.subarray(a).toString('base64')));
}

function pemBodyLines(pem: string): Buffer[] {
  return pem
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('-----') && !l.includes(':'))
    .map((l) => Buffer.from(l));
}

function certificateForms(pem: string): Buffer[] {
  const out: Buffer[] = [Buffer.from(pem)];
  for (const block of pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []) {
    const der = new X509Certificate(block).raw;
    out.push(der, Buffer.from(der.toString('hex')), ...base64Alignments(der));
  }
  return out;
}

export class Evidence {
  readonly #secrets: Secret[] = [];
  readonly #texts = new Map<string, Buffer[]>();
  readonly #dataDirs = new Map<string, string>();
  /** The same secret registered twice (a restarted process's token) is one secret, not a shared piece. */
  readonly #seen = new Set<string>();

  #add(secret: Secret): void {
    const id = `${secret.kind}:${(secret.forms[0] as Buffer).toString('hex')}`;
    if (this.#seen.has(id)) return;
    this.#seen.add(id);
    this.#secrets.push(secret);
  }

  /** An uploaded private key (any PEM Node reads), with the public certificates that go with it. */
  addPrivateKey(label: string, keyPem: string, certificatePem = ''): void {
    const der = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
    this.#add({
      kind: 'private key',
      label,
      forms: [...pemBodyLines(keyPem), der, Buffer.from(der.toString('hex')), ...base64Alignments(der)],
      publicMaterial: certificatePem === '' ? [] : certificateForms(certificatePem),
    });
  }

  addPassword(label: string, password: string, username?: string): void {
    const forms = [Buffer.from(password)];
    if (username !== undefined)
      forms.push(Buffer.from(Buffer.from(`${username}:${password}`).toString('base64')));
    this.#add({ kind: 'credential password', label, forms, publicMaterial: [] });
  }

  addAdminToken(label: string, token: string): void {
    this.#add({ kind: 'admin token', label, forms: [Buffer.from(token)], publicMaterial: [] });
  }

  /**
   * Text seen by the harness: a log, a response body, a /metrics page. `source` names the category.
   * vaultgate's start-up banner is cut out: by SPEC §1 it shows the admin token and the default
   * credential's password at first start, on purpose.
   */
  addText(source: string, text: string | Buffer): void {
    const list = this.#texts.get(source) ?? [];
    const buf = typeof text === 'string' ? Buffer.from(text) : text;
    list.push(buf.includes('vaultgate is running') ? Buffer.from(withoutBanner(buf.toString('utf8'))) : buf);
    this.#texts.set(source, list);
  }

  /** A data dir whose files (except master.key and admin-token) are read at scan time. */
  addDataDir(label: string, dir: string): void {
    this.#dataDirs.set(dir, label);
  }

  counts(): { secrets: number; texts: number; dataDirs: number } {
    let texts = 0;
    for (const list of this.#texts.values()) texts += list.length;
    return { secrets: this.#secrets.length, texts, dataDirs: this.#dataDirs.size };
  }

  scan(): ScanReport {
    // piece (hex) → index of the secrets it belongs to
    const owners = new Map<string, Set<number>>();
    this.#secrets.forEach((secret, index) => {
      for (const form of secret.forms)
        for (const piece of pieces(form)) {
          if (secret.publicMaterial.some((p) => p.includes(piece))) continue;
          const key = piece.toString('hex');
          const set = owners.get(key) ?? new Set<number>();
          set.add(index);
          owners.set(key, set);
        }
    });
    const index = new Map<number, { piece: Buffer; secret: number }[]>();
    let pieceCount = 0;
    for (const [hex, set] of owners) {
      if (set.size !== 1) continue;
      const piece = Buffer.from(hex, 'hex');
      const head = piece.readUInt32LE(0);
      const bucket = index.get(head) ?? [];
      bucket.push({ piece, secret: [...set][0] as number });
      index.set(head, bucket);
      pieceCount++;
    }

    const found = new Map<string, Finding>();
    let bytes = 0;
    let sources = 0;
    const scanOne = (source: string, buf: Buffer): void => {
      sources++;
      bytes += buf.length;
      for (let i = 0; i + PIECE <= buf.length; i++) {
        const bucket = index.get(buf.readUInt32LE(i));
        if (bucket === undefined) continue;
        for (const { piece, secret } of bucket) {
          if (buf.compare(piece, 0, PIECE, i, i + PIECE) !== 0) continue;
          const s = this.#secrets[secret] as Secret;
          found.set(`${source}\0${secret}`, { source, kind: s.kind, secret: s.label });
        }
      }
    };
    for (const [source, list] of this.#texts) for (const buf of list) scanOne(source, buf);
    for (const [dir, label] of this.#dataDirs)
      for (const file of listFiles(dir)) {
        const rel = file.slice(dir.length + 1);
        if (EXEMPT_FILES.has(rel)) continue;
        scanOne(`${label} data dir: ${rel}`, readFileSync(file));
      }

    const secrets: Record<SecretKind, number> = {
      'private key': 0,
      'credential password': 0,
      'admin token': 0,
    };
    for (const s of this.#secrets) secrets[s.kind]++;
    return { findings: [...found.values()], secrets, sources, bytes, pieces: pieceCount };
  }
}

/** Removes the start-up banner (from "vaultgate is running" to the next blank line). */
export function withoutBanner(output: string): string {
  return output.replace(/vaultgate is running\n[\s\S]*?\n\n/g, '[banner]\n');
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isDirectory()) out.push(...listFiles(path));
    else if (st?.isFile()) out.push(path);
  }
  return out;
}
