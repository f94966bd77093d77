import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { HostTable } from '../hosts/table.js';
import { checkTlsMaterial } from '../certificates/tls-context.js';
import { certificateKeyAad, hostnameKeyAad, outboundCaKeyAad } from '../secrets/aad.js';
import type { Keyring } from '../secrets/keyring.js';
import { routeMatchesHost } from './host-match.js';
import { IdMap } from './id-map.js';
import { compileSourceEndpoint } from './source-match.js';
import {
  CERTIFICATES_EPOCH,
  type CertificateChange,
  type CertificateMaterial,
  type CertificateSummary,
  type ClientAuthSettings,
  type HostnameRecord,
  type Repo,
  type RouteRecord,
  type VaultRecord,
} from '../store/types.js';
import type {
  InboundName,
  InboundTls,
  RuntimeCertificate,
  RuntimeConfig,
  RuntimeCredential,
  RuntimeRoute,
  RuntimeVault,
} from './types.js';

export function inboundHost(vaultId: string, environment: string, domain: string): string {
  return `${vaultId}.${environment}.${domain}`.toLowerCase();
}

interface CertificateEntry {
  cert: RuntimeCertificate;
  credentialId: string | null;
  routeId: string | null;
  /** The row's updated_at when it was read: a PATCH of description or hosts moves it. */
  revision: string;
}

/** Why a stored certificate is left out of the snapshot (the label of the metric). */
export type LeftOutReason = 'sealed_key' | 'tls_refused';

interface CertificateIndex {
  epoch: string;
  certificatesById: IdMap<RuntimeCertificate>;
  byCredential: ReadonlyMap<string, readonly RuntimeCertificate[]>;
  byRoute: ReadonlyMap<string, readonly RuntimeCertificate[]>;
}

/**
 * Builds RuntimeConfig snapshots from the store. Records whose live objects are costly (decrypted
 * keys) are memoised across snapshots by id and revision (a certificate's material never changes,
 * only its description and hosts; a vault's CA never changes): a change costs a re-read of the
 * store, not a re-decryption of every key.
 */
export class SnapshotBuilder {
  /** Every certificate loaded and still stored, with what it is tied to, at the revision read. */
  readonly #certificates = new Map<string, CertificateEntry>();
  /**
   * Certificates that are stored but cannot be used, by id: their key does not open, or the TLS stack
   * refuses their chain and key (tampered rows, or rows accepted under an older rule — a SHA-1
   * chain). Rows are immutable, so each is judged once and never retried.
   */
  readonly #leftOut = new Map<string, LeftOutReason>();
  readonly #caKeys = new Map<string, KeyObject>();
  /** InboundTls by hostname or vault id, reused while its revision holds (see InboundTls). */
  readonly #inboundTls = new Map<string, InboundTls>();
  /** Hostname rows whose key does not open, by `<id>@<updated_at>`: reported once, left out. */
  readonly #brokenHostnames = new Set<string>();
  #lastIndex: CertificateIndex | undefined;

  constructor(
    private readonly keyring: Keyring,
    private readonly domain: string,
    /** Told about a stored record that cannot be used (it is left out; the rest still applies). */
    private readonly onProblem: (message: string, fields: Record<string, unknown>) => void = () => {},
  ) {}

  /** Stored certificates currently left out, per reason (for the metric). */
  leftOutCounts(): Record<LeftOutReason, number> {
    const counts: Record<LeftOutReason, number> = { sealed_key: 0, tls_refused: 0 };
    for (const reason of this.#leftOut.values()) counts[reason]++;
    return counts;
  }

  async build(repo: Repo, version: number): Promise<RuntimeConfig> {
    // Read before the certificates: a change racing this build then shows up as a new epoch next time.
    const epoch = (await repo.getMeta(CERTIFICATES_EPOCH)) ?? '';
    const [vaults, credentials, routes, hostnames] = await Promise.all([
      repo.listVaults(),
      repo.listCredentials(),
      repo.listRoutes(),
      repo.listHostnames(),
    ]);
    const index = await this.#certificateIndex(repo, epoch);
    this.#lastIndex = index;
    const { certificatesById, byCredential, byRoute } = index;

    const routesByVault = new Map<string, RuntimeRoute[]>();
    for (const record of routes) {
      const route = this.#route(record, byRoute.get(record.id) ?? []);
      routesByVault.set(record.vault_id, [...(routesByVault.get(record.vault_id) ?? []), route]);
    }

    const vaultsById = new Map<string, RuntimeVault>();
    const vaultsByHost = new Map<string, RuntimeVault>();
    const inboundNames = new HostTable<InboundName>();
    const liveTls = new Set<string>();
    for (const record of vaults) {
      const vaultRoutes = routesByVault.get(record.id) ?? [];
      const vault = this.#vault(record, vaultRoutes);
      vaultsById.set(vault.id, vault);
      vaultsByHost.set(vault.inboundHost, vault);
      const tls = this.#vaultTls(record);
      liveTls.add(record.id);
      inboundNames.add(
        vault.inboundHost,
        Object.freeze({ hostname: vault.inboundHost, vault, route: vault.inboundRoute, tls }),
      );
    }
    for (const record of hostnames) {
      const vault = vaultsById.get(record.vault_id);
      const tls = vault && this.#hostnameTls(record);
      if (!vault || !tls) continue;
      liveTls.add(record.id);
      const route =
        vault.inboundRoutes.find((r) => routeMatchesHost(r, record.hostname)) ?? vault.inboundRoute;
      // A vault's own host is exact and the API keeps custom names out of their namespace, so add()
      // only refuses a duplicate the database's UNIQUE constraint already rules out.
      inboundNames.add(record.hostname, Object.freeze({ hostname: record.hostname, vault, route, tls }));
    }
    for (const id of this.#inboundTls.keys()) if (!liveTls.has(id)) this.#inboundTls.delete(id);

    const credentialsByUsername = new Map<string, RuntimeCredential>();
    for (const record of credentials) {
      credentialsByUsername.set(
        record.username,
        Object.freeze({
          id: record.id,
          vaultId: record.vault_id,
          username: record.username,
          passwordHash: Buffer.from(record.password_hash, 'hex'),
          active: record.status === 'active',
          certificates: Object.freeze(byCredential.get(record.id) ?? []),
        }),
      );
    }

    return Object.freeze({
      version,
      builtAt: Date.now(),
      vaultsById,
      vaultsByHost,
      inboundNames,
      credentialsByUsername,
      certificatesById,
    });
  }

  /**
   * The certificate index at `epoch`: the last one when nothing changed; else the last one with the
   * recorded changes applied (the usual case: one upload or delete costs the same whatever the number
   * of certificates stored); else, when the change log cannot lead there (a first build, a gap, two
   * instances changing at once, many rows at once), a full re-index.
   */
  async #certificateIndex(repo: Repo, epoch: string): Promise<CertificateIndex> {
    const last = this.#lastIndex;
    if (last?.epoch === epoch) return last;
    const changes = last && (await changesBetween(repo, last.epoch, epoch));
    return last && changes
      ? this.#applyChanges(repo, last, changes, epoch)
      : this.#indexCertificates(repo, epoch);
  }

  /** `last` with the certificates named by `changes` re-read: those still stored in, the others out. */
  async #applyChanges(
    repo: Repo,
    last: CertificateIndex,
    changes: readonly CertificateChange[],
    epoch: string,
  ): Promise<CertificateIndex> {
    const touched = new Set(changes.map((c) => c.certificate_id as string));
    const groups = new Set<string | undefined>();
    for (const id of touched) {
      const entry = this.#certificates.get(id);
      if (entry) groups.add(groupKey(entry));
      this.#certificates.delete(id);
      this.#leftOut.delete(id);
    }
    await this.#load(repo, [...touched]);
    const added: CertificateEntry[] = [];
    for (const id of touched) {
      const entry = this.#certificates.get(id);
      if (!entry || this.#leftOut.has(id)) continue;
      groups.add(groupKey(entry));
      added.push(entry);
    }
    const certificatesById = last.certificatesById.with(
      touched,
      added.map((entry) => [entry.cert.id, entry.cert] as const),
    );
    const byCredential = new Map(last.byCredential);
    const byRoute = new Map(last.byRoute);
    groups.delete(undefined);
    for (const key of groups as Set<string>) {
      const [group, id] = key.startsWith('c:') ? [byCredential, key.slice(2)] : [byRoute, key.slice(2)];
      const kept = (group.get(id) ?? []).filter((c) => !touched.has(c.id));
      // Appended: certificates are added in creation order, and the choice rule ignores order anyway.
      for (const entry of added) if (groupKey(entry) === key) kept.push(entry.cert);
      if (kept.length > 0) group.set(id, kept);
      else group.delete(id);
    }
    return { epoch, certificatesById, byCredential, byRoute };
  }

  /** Reads and opens the certificates with these ids that are stored. */
  async #load(repo: Repo, ids: readonly string[]): Promise<void> {
    // In slices, so a first build over 10,000 rows never holds every row's text at once.
    for (let i = 0; i < ids.length; i += LOAD_SLICE) {
      const slice = ids.slice(i, i + LOAD_SLICE);
      const [summaries, materials] = await Promise.all([
        repo.getCertificateSummaries(slice),
        repo.getCertificateMaterial(slice),
      ]);
      const material = new Map(materials.map((m) => [m.id, m]));
      for (const summary of summaries) this.#certificate(summary, material.get(summary.id));
    }
  }

  /**
   * Certificates grouped by credential and by route, from a read of ids and revisions alone plus the
   * rows of certificates not seen before or edited since.
   */
  async #indexCertificates(repo: Repo, epoch: string): Promise<CertificateIndex> {
    const revisions = await repo.listCertificateRevisions();
    const stale: string[] = [];
    for (const { id, updated_at } of revisions) {
      const known = this.#certificates.get(id);
      if (known !== undefined && known.revision !== updated_at) this.#certificates.delete(id);
      if (!this.#certificates.has(id) && !this.#leftOut.has(id)) stale.push(id);
    }
    await this.#load(repo, stale);
    const ids = revisions.map((r) => r.id);
    const certificatesById = new Map<string, RuntimeCertificate>();
    const byCredential = new Map<string, RuntimeCertificate[]>();
    const byRoute = new Map<string, RuntimeCertificate[]>();
    for (const id of ids) {
      const entry = this.#certificates.get(id);
      // Deleted between the two reads, or found unusable on first use (reported then).
      if (!entry || this.#leftOut.has(id)) continue;
      certificatesById.set(id, entry.cert);
      const [group, key] = entry.credentialId ? [byCredential, entry.credentialId] : [byRoute, entry.routeId];
      if (key) {
        const list = group.get(key);
        if (list) list.push(entry.cert);
        else group.set(key, [entry.cert]);
      }
    }
    const stored = new Set(ids);
    for (const id of this.#certificates.keys()) if (!stored.has(id)) this.#certificates.delete(id);
    for (const id of this.#leftOut.keys()) if (!stored.has(id)) this.#leftOut.delete(id);
    return { epoch, certificatesById: IdMap.from(certificatesById), byCredential, byRoute };
  }

  #certificate(record: CertificateSummary, material: CertificateMaterial | undefined): void {
    if (this.#certificates.has(record.id) || !material) return;
    let keyPem: Buffer;
    try {
      // Opening is cheap (two AES-GCM operations) and proves the row is intact and where it was
      // sealed (secrets/aad.ts); a damaged or moved ciphertext leaves this one certificate out
      // instead of stopping every later change.
      keyPem = this.keyring.open(
        material.private_key_sealed,
        certificateKeyAad({ ...record, certificate_pem: material.certificate_pem }),
      );
    } catch (err) {
      this.#leftOut.set(record.id, 'sealed_key');
      this.onProblem('a stored certificate key cannot be opened; the certificate is not presented', {
        certificate_id: record.id,
        vault_id: record.vault_id,
        reason: (err as Error).message,
      });
      return;
    }
    // Building the TLS context that proves the pair usable costs ~2 ms (tls-context.ts): it is done
    // on first use, once, so a start with 10,000 certificates does not pay 20 s for it.
    // The closure holds only what the check needs, not the rows it was read from.
    const { id, vault_id: vaultId } = record;
    const chainPem = material.certificate_pem;
    let usable: boolean | undefined;
    const check = (): boolean => {
      const refusal = checkTlsMaterial({ chainPem, keyPem });
      if (refusal === null) return true;
      this.#leftOut.set(id, 'tls_refused');
      // The next build re-indexes (an id read only) and leaves the certificate out of the snapshot.
      this.#lastIndex = undefined;
      this.onProblem(
        'a stored certificate cannot be used by the TLS stack; it is left out and not presented',
        {
          certificate_id: id,
          vault_id: vaultId,
          code: refusal.code,
          reason: refusal.message,
        },
      );
      return false;
    };
    const cert: RuntimeCertificate = Object.freeze({
      id: record.id,
      vaultId: record.vault_id,
      proxyType: record.proxy_type,
      hosts: Object.freeze(record.hosts.map((h) => h.toLowerCase())),
      notBefore: Date.parse(record.not_before),
      notAfter: Date.parse(record.not_after),
      createdAt: Date.parse(record.created_at),
      chainPem,
      // The TLS context takes this PEM as is (proxy/upstream/secure-context.ts).
      keyPem,
      get usable(): boolean {
        usable ??= check();
        return usable;
      },
    });
    this.#certificates.set(record.id, {
      cert,
      credentialId: record.credential_id,
      routeId: record.route_id,
      revision: record.updated_at,
    });
  }

  /** A vault's own host: the listener certificate, with the vault's caller-mTLS settings. */
  #vaultTls(record: VaultRecord): InboundTls {
    const settings = record.inbound_client_auth;
    const revision = settings === null ? 'off' : digest(JSON.stringify(settings));
    const key = `${record.id}@${revision}`;
    const known = this.#inboundTls.get(record.id);
    if (known?.key === key) return known;
    const tls = Object.freeze({
      key,
      hostnameId: null,
      chainPem: null,
      keyPem: null,
      notAfter: null,
      ...clientAuthParts(settings),
    });
    this.#inboundTls.set(record.id, tls);
    return tls;
  }

  /** A custom hostname's certificate and settings; undefined when its key does not open. */
  #hostnameTls(record: HostnameRecord): InboundTls | undefined {
    const key = `${record.id}@${record.updated_at}`;
    const known = this.#inboundTls.get(record.id);
    if (known?.key === key) return known;
    if (this.#brokenHostnames.has(key)) return undefined;
    let keyPem: Buffer;
    try {
      keyPem = this.keyring.open(record.private_key_sealed, hostnameKeyAad(record));
    } catch (err) {
      this.#brokenHostnames.add(key);
      this.onProblem('a stored hostname key cannot be opened; the hostname is not served', {
        hostname_id: record.id,
        vault_id: record.vault_id,
        reason: (err as Error).message,
      });
      return undefined;
    }
    const tls = Object.freeze({
      key,
      hostnameId: record.id,
      chainPem: record.certificate_pem,
      keyPem,
      notAfter: Date.parse(record.not_after),
      ...clientAuthParts(record.client_auth),
    });
    this.#inboundTls.set(record.id, tls);
    return tls;
  }

  #route(record: RouteRecord, certificates: readonly RuntimeCertificate[]): RuntimeRoute {
    return Object.freeze({
      id: record.id,
      vaultId: record.vault_id,
      type: record.type,
      hostEndpoint: record.host_endpoint,
      upstream: record.type === 'inbound' ? new URL(record.destination_override_endpoint) : null,
      upstreamTls: Object.freeze({ ...record.upstream_tls }),
      sources: compileSourceEndpoint(record.source_endpoint),
      certificates: Object.freeze(certificates),
    });
  }

  #vault(record: VaultRecord, routes: RuntimeRoute[]): RuntimeVault {
    let key = this.#caKeys.get(record.id);
    if (!key) {
      const pem = this.keyring.open(record.outbound_ca_key_sealed, outboundCaKeyAad(record.id));
      key = createPrivateKey(pem);
      pem.fill(0);
      this.#caKeys.set(record.id, key);
    }
    const host = inboundHost(record.id, record.environment, this.domain);
    const inboundRoutes = routes.filter((r) => r.type === 'inbound');
    return Object.freeze({
      id: record.id,
      name: record.name,
      environment: record.environment,
      inboundHost: host,
      inboundRoutes: Object.freeze(inboundRoutes),
      inboundRoute: inboundRoutes.find((r) => routeMatchesHost(r, host)),
      outboundRoutes: Object.freeze(routes.filter((r) => r.type === 'outbound')),
      outboundCa: Object.freeze({ certPem: record.outbound_ca_cert_pem, key }),
    });
  }
}

/** Rows read per query when certificates are loaded. */
const LOAD_SLICE = 500;
/** Changes followed at most before a full re-index is cheaper. */
const MAX_CHANGES_FOLLOWED = 1_000;

/**
 * The recorded changes that lead from epoch `from` to `to`, in order; undefined when the log cannot
 * say (pruned, forked by two instances writing at once, or a change of many rows at once).
 */
async function changesBetween(
  repo: Repo,
  from: string,
  to: string,
): Promise<CertificateChange[] | undefined> {
  const steps: CertificateChange[] = [];
  for (let at = from; at !== to;) {
    if (steps.length >= MAX_CHANGES_FOLLOWED) return undefined;
    const next = await repo.listCertificateChangesFrom(at);
    const step = next.length === 1 ? next[0] : undefined;
    if (!step || step.op === 'reset' || step.certificate_id === null) return undefined;
    steps.push(step);
    at = step.epoch;
  }
  return steps;
}

/** The credential's or route's group a certificate is listed in (`c:<id>`, `r:<id>`), if any. */
function groupKey(entry: CertificateEntry): string | undefined {
  if (entry.credentialId) return `c:${entry.credentialId}`;
  return entry.routeId ? `r:${entry.routeId}` : undefined;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}

function clientAuthParts(
  settings: ClientAuthSettings | null,
): Pick<InboundTls, 'clientAuth' | 'caPem' | 'crlPem'> {
  if (settings === null || settings.mode === 'off') return { clientAuth: 'off', caPem: null, crlPem: null };
  return { clientAuth: settings.mode, caPem: settings.ca_pem ?? null, crlPem: settings.crl_pem ?? null };
}
