/**
 * The plan for a whole-vault file (vault-file.ts): credentials, then routes, then the certificates
 * tied to them, then hostnames, each compared with the vault's current state first.
 */
import { X509Certificate } from 'node:crypto';
import { describeRouteAction, planRoutes, type ApiRoute } from './routes.js';
import { promotedRouteId, routeSteps, type Api, type Plan, type Step } from './sync.js';
import type { CertificateSpec, CredentialSpec, HostnameSpec, VaultFile } from './vault-file.js';

/** How sync reads the files a vault file refers to (relative to the YAML file's folder). */
export interface FileReader {
  /** The file's text, or undefined when it does not exist or cannot be read. */
  read(path: string): string | undefined;
  /** How the path is shown to the user. */
  show(path: string): string;
}

interface ApiCredential {
  id: string;
  username: string;
  description: string | null;
  status: string;
}

interface ApiCertificate {
  id: string;
  proxy_type: string;
  credential_id: string | null;
  route_id: string | null;
  description: string | null;
  hosts: string[];
  fingerprint_sha256: string;
}

interface ApiHostname {
  id: string;
  hostname: string;
  fingerprint_sha256: string;
  client_auth: { mode: string };
}

const sameHost = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/**
 * The SHA-256 fingerprint, as vaultgate shows it (AB:CD:…), of the leaf of a PEM bundle: its first
 * certificate that is not a CA (the upload rule orders the chain leaf first, users may not).
 */
function fingerprintOf(pem: string): string | undefined {
  const certs: X509Certificate[] = [];
  for (const block of pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)) {
    try {
      certs.push(new X509Certificate(block[0]));
    } catch {
      // Not readable here; the upload will say what is wrong with it.
    }
  }
  return (certs.find((c) => !c.ca) ?? certs[0])?.fingerprint256;
}

/** What identifies the material: cert_file's leaf when it can be read, else the file's fingerprint. */
function wantedFingerprint(certPem: string | undefined, listed: string | undefined): string | undefined {
  return (certPem === undefined ? undefined : fingerprintOf(certPem)) ?? listed;
}

/** Pairs the file's credentials with the vault's: the same id, else the same description, in order. */
function pairCredentials(
  wanted: readonly CredentialSpec[],
  current: readonly ApiCredential[],
): Map<string, ApiCredential> {
  const pairs = new Map<string, ApiCredential>();
  const free = new Set(current);
  for (const c of wanted) {
    const same = current.find((x) => x.id === c.id);
    if (same) {
      pairs.set(c.id, same);
      free.delete(same);
    }
  }
  for (const c of wanted) {
    if (pairs.has(c.id)) continue;
    const match = [...free].find((x) => x.description === c.description);
    if (match) {
      pairs.set(c.id, match);
      free.delete(match);
    }
  }
  return pairs;
}

/**
 * A whole-vault file into `vaultId`: credentials, then routes, then the certificates tied to them,
 * then hostnames. Applied to the vault it came from, ids stay; into another vault (promotion), a
 * credential gets a new id (and password) and a route the id promotedRouteId() derives.
 */
export async function planVaultApply(
  api: Api,
  vaultId: string,
  file: VaultFile,
  files: FileReader,
): Promise<Plan> {
  const v = `/vaults/${encodeURIComponent(vaultId)}`;
  const [credentials, routes, certificates, hostnames] = await Promise.all([
    api.list<ApiCredential>(`${v}/credentials`),
    api.list<ApiRoute>(`${v}/routes`),
    api.list<ApiCertificate>(`${v}/certificates`),
    api.list<ApiHostname>(`${v}/hostnames`),
  ]);
  const lines: string[] = [];
  const steps: Step[] = [];
  const notCarried: string[] = [];
  let unchanged = 0;
  const cannot = (what: string, why: string): void => {
    notCarried.push(`${what}: ${why}`);
    lines.push(`! ${what}: not carried: ${why}`);
  };

  // Credentials: the mapping from the file's ids to this vault's, filled in as they are created.
  const credentialIds = new Map<string, string>();
  const pairs = pairCredentials(file.credentials, credentials);
  for (const c of file.credentials) {
    const label = `credential ${c.id}${c.description ? ` "${c.description}"` : ''}`;
    const existing = pairs.get(c.id);
    if (existing) {
      credentialIds.set(c.id, existing.id);
      const patch: Record<string, string> = {};
      if (existing.status !== c.status) patch.status = c.status;
      if (c.description !== null && existing.description !== c.description) patch.description = c.description;
      if (Object.keys(patch).length === 0) {
        unchanged++;
        lines.push(`= ${label}: unchanged${existing.id === c.id ? '' : ` (here ${existing.id})`}`);
        continue;
      }
      lines.push(
        `~ ${label}: ${Object.entries(patch)
          .map(([k, x]) => `${k} -> ${x}`)
          .join(', ')}`,
      );
      steps.push({
        label: `${label} updated`,
        async run() {
          await api.request('PATCH', `${v}/credentials/${existing.id}`, patch);
          return [`credential ${existing.id} updated`];
        },
      });
      continue;
    }
    lines.push(`+ ${label}: create (a new username and password: passwords are never exported)`);
    steps.push({
      label: `${label} created`,
      async run() {
        const body = c.description === null ? {} : { description: c.description };
        const made = await api.request<{ data: ApiCredential & { password: string } }>(
          'POST',
          `${v}/credentials`,
          body,
        );
        const created = made.body.data;
        credentialIds.set(c.id, created.id);
        return [
          `credential ${created.id} created for ${c.id}: username ${created.username} password ${created.password}`,
          '  (the password is shown this once; store it now)',
        ];
      },
    });
    // A step of its own, so that the password above is printed even if this call fails.
    if (c.status === 'inactive') {
      steps.push({
        label: `${label} set inactive`,
        async run() {
          const id = credentialIds.get(c.id) ?? c.id;
          await api.request('PATCH', `${v}/credentials/${id}`, { status: 'inactive' });
          return [`credential ${id} set inactive`];
        },
      });
    }
  }

  // Routes: the same ids in the vault they came from, derived ones elsewhere.
  const sameVault = file.vault.id === vaultId;
  const routeIds = new Map(file.routes.map((r) => [r.id, sameVault ? r.id : promotedRouteId(vaultId, r.id)]));
  const mapped = file.routes.map((r) => ({ ...r, id: routeIds.get(r.id) ?? r.id }));
  const actions = planRoutes(mapped, routes);
  lines.push(...actions.flatMap(describeRouteAction));
  steps.push(...routeSteps(api, vaultId, actions));
  unchanged += actions.filter((a) => a.kind === 'unchanged').length;

  for (const c of file.certificates) planCertificate(c);
  const servedElsewhere = await hostnamesOfOtherVaults(
    file.hostnames.filter((h) => !hostnames.some((x) => sameHost(x.hostname, h.hostname))),
  );
  for (const h of file.hostnames) planHostname(h);
  return { lines, steps, unchanged, notCarried };

  /** A hostname is served by one vault only (SPEC §2): which of the new ones another vault has. */
  async function hostnamesOfOtherVaults(fresh: readonly HostnameSpec[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    if (fresh.length === 0) return found;
    for (const other of await api.list<{ id: string }>('/vaults')) {
      if (other.id === vaultId) continue;
      for (const x of await api.list<ApiHostname>(`/vaults/${encodeURIComponent(other.id)}/hostnames`)) {
        if (fresh.some((h) => sameHost(h.hostname, x.hostname)))
          found.set(x.hostname.toLowerCase(), other.id);
      }
    }
    return found;
  }

  function planCertificate(c: CertificateSpec): void {
    const what = `certificate ${c.id}${c.subject ? ` (${c.subject})` : ''}`;
    const certPem = files.read(c.cert_file);
    const fingerprint = wantedFingerprint(certPem, c.fingerprint_sha256);
    const routeId = c.route_id === undefined ? undefined : routeIds.get(c.route_id);
    const credentialNow = c.credential_id === undefined ? undefined : pairs.get(c.credential_id)?.id;
    const existing = certificates.find(
      (x) =>
        x.fingerprint_sha256 === fingerprint &&
        (c.proxy_type === 'outbound'
          ? credentialNow !== undefined && x.credential_id === credentialNow
          : x.route_id === routeId),
    );
    const hosts = c.proxy_type === 'outbound' ? c.hosts : [];
    if (existing) {
      const patch: Record<string, unknown> = {};
      if (c.description !== null && existing.description !== c.description) patch.description = c.description;
      if (c.proxy_type === 'outbound' && existing.hosts.join(',') !== hosts.join(',')) patch.hosts = hosts;
      if (Object.keys(patch).length === 0) {
        unchanged++;
        lines.push(`= ${what}: unchanged${existing.id === c.id ? '' : ` (here ${existing.id})`}`);
        return;
      }
      lines.push(`~ ${what}: ${Object.keys(patch).join(', ')}`);
      steps.push({
        label: `${what} updated`,
        async run() {
          await api.request('PATCH', `${v}/certificates/${existing.id}`, patch);
          return [`certificate ${existing.id} updated`];
        },
      });
      return;
    }
    if (certPem === undefined) {
      cannot(
        what,
        `its cert_file ${files.show(c.cert_file)} cannot be read (vaultgate export --out-dir writes it)`,
      );
      return;
    }
    const keyPem = files.read(c.key_file);
    if (keyPem === undefined) {
      cannot(
        what,
        `its key_file ${files.show(c.key_file)} cannot be read: private keys never leave vaultgate, so put the key you hold there (or set key_file to its path)`,
      );
      return;
    }
    const passphrase =
      c.passphrase_file === undefined ? undefined : files.read(c.passphrase_file)?.replace(/\r?\n$/, '');
    lines.push(`+ ${what}: upload from ${files.show(c.cert_file)} and ${files.show(c.key_file)}`);
    steps.push({
      label: `${what} uploaded`,
      async run() {
        const body: Record<string, unknown> = {
          proxy_type: c.proxy_type,
          certificate: certPem,
          private_key: keyPem,
          ...(passphrase === undefined ? {} : { passphrase }),
          ...(c.description === null ? {} : { description: c.description }),
        };
        if (c.proxy_type === 'outbound') {
          body.credential_id = credentialIds.get(c.credential_id ?? '');
          body.hosts = hosts;
        } else body.route_id = routeId;
        const made = await api.request<{ data: { id: string } }>('POST', `${v}/certificates`, body);
        return [`certificate ${made.body.data.id} uploaded for ${c.id}`];
      },
    });
  }

  function planHostname(h: HostnameSpec): void {
    const what = `hostname ${h.hostname}`;
    const certPem = files.read(h.cert_file);
    const fingerprint = wantedFingerprint(certPem, h.fingerprint_sha256);
    const existing = hostnames.find((x) => sameHost(x.hostname, h.hostname));
    const owner = servedElsewhere.get(h.hostname.toLowerCase());
    if (owner !== undefined) {
      cannot(
        what,
        `vault ${owner} serves it, and a hostname belongs to one vault; delete it there, then apply again`,
      );
      return;
    }
    if (
      existing &&
      existing.fingerprint_sha256 === fingerprint &&
      existing.client_auth.mode === h.client_auth.mode
    ) {
      unchanged++;
      lines.push(`= ${what}: unchanged`);
      return;
    }
    if (certPem === undefined) {
      cannot(
        what,
        `its cert_file ${files.show(h.cert_file)} cannot be read (vaultgate export --out-dir writes it)`,
      );
      return;
    }
    const keyPem = files.read(h.key_file);
    if (keyPem === undefined) {
      cannot(
        what,
        `its key_file ${files.show(h.key_file)} cannot be read: private keys never leave vaultgate, so put the key you hold there`,
      );
      return;
    }
    let clientAuth: Record<string, string> = { mode: 'off' };
    if (h.client_auth.mode !== 'off') {
      const caPem = h.client_auth.ca_file === undefined ? undefined : files.read(h.client_auth.ca_file);
      if (caPem === undefined) {
        cannot(
          what,
          `client_auth ${h.client_auth.mode} needs the callers' CA bundle in client_auth.ca_file${h.client_auth.ca_file ? ` (${files.show(h.client_auth.ca_file)} cannot be read)` : ''}: vaultgate does not return it`,
        );
        return;
      }
      clientAuth = { mode: h.client_auth.mode, ca_pem: caPem };
      const crlPem = h.client_auth.crl_file === undefined ? undefined : files.read(h.client_auth.crl_file);
      if (crlPem !== undefined) clientAuth.crl_pem = crlPem;
    }
    const passphrase =
      h.passphrase_file === undefined ? undefined : files.read(h.passphrase_file)?.replace(/\r?\n$/, '');
    const body = {
      hostname: h.hostname,
      certificate: certPem,
      private_key: keyPem,
      ...(passphrase === undefined ? {} : { passphrase }),
      client_auth: clientAuth,
    };
    lines.push(
      `${existing ? '~' : '+'} ${what}: ${existing ? 'replace' : 'upload'} from ${files.show(h.cert_file)}`,
    );
    steps.push({
      label: `${what} ${existing ? 'replaced' : 'created'}`,
      async run() {
        if (existing) await api.request('PUT', `${v}/hostnames/${existing.id}`, body);
        else await api.request('POST', `${v}/hostnames`, body);
        return [`${what} ${existing ? 'replaced' : 'created'}`];
      },
    });
  }
}
