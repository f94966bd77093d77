/**
 * The one Repo implementation, over the portable query layer. Store.read gets a read-only instance;
 * each write transaction gets a writable one bound to that transaction's connection.
 */
import { randomUUID } from 'node:crypto';
import { EXPIRING_SOON_MS, type CertificateStatus } from '../certificates/status.js';
import { bumpVersion, type Db, type SqlParam } from './db.js';
import { ReadOnlyRepoError } from './errors.js';
import {
  CERTIFICATE_COLUMNS,
  CERTIFICATE_REQUEST_COLUMNS,
  CERTIFICATE_REQUEST_SUMMARY_COLUMNS,
  CERTIFICATE_SUMMARY_COLUMNS,
  CREDENTIAL_COLUMNS,
  HOSTNAME_COLUMNS,
  ROUTE_COLUMNS,
  VAULT_COLUMNS,
  WEBHOOK_COLUMNS,
  WEBHOOK_DELIVERY_COLUMNS,
  certificateFromRow,
  certificateRequestFromRow,
  certificateRequestSummaryFromRow,
  certificateRequestToParams,
  certificateSummaryFromRow,
  certificateToParams,
  credentialFromRow,
  credentialToParams,
  hostnameFromRow,
  hostnameToParams,
  insertSql,
  routeFromRow,
  routeToParams,
  vaultFromRow,
  vaultToParams,
  webhookDeliveryFromRow,
  webhookDeliveryToParams,
  webhookFromRow,
  webhookToParams,
} from './rows.js';
import { CERTIFICATES_EPOCH, type CertificateChange } from './types.js';
import type {
  AuditEventRecord,
  AuditQuery,
  CertificateEdit,
  CertificateFilter,
  CertificateMaterial,
  CertificatePageQuery,
  CertificateRecord,
  CertificateRequestFilter,
  CertificateRequestRecord,
  CertificateRequestSummary,
  CertificateSummary,
  CredentialRecord,
  ApiTokenRecord,
  DashboardSessionRecord,
  DeliveryOutcome,
  HostnameRecord,
  NotificationMark,
  Repo,
  RouteRecord,
  VaultRecord,
  WebhookDeliveryRecord,
  WebhookRecord,
} from './types.js';

type Row = Record<string, unknown>;

const SUMMARY_COLUMNS = CERTIFICATE_SUMMARY_COLUMNS.join(', ');
const API_TOKEN_COLUMNS = 'id, name, role, token_hash, created_at, expires_at, last_used_at';
/** A delivery's attempt log keeps this many of its latest attempts (about 30 fit in 24 h of backoff). */
const ATTEMPT_LOG_KEPT = 50;
/**
 * How long the certificate change log keeps a row: far longer than any process takes to apply a
 * change (workers ack within 5 s, instances poll every second); one further behind re-indexes.
 */
const CERTIFICATE_CHANGES_KEPT_MS = 10 * 60_000;

/**
 * The condition "tied to this credential or to this route" (either, when both are given) of the rows
 * that carry credential_id and route_id; undefined when neither is given (nothing is tied to nothing).
 */
function tiedTo(ref: {
  credentialId?: string;
  routeId?: string;
}): { sql: string; params: SqlParam[] } | undefined {
  const where: string[] = [];
  const params: SqlParam[] = [];
  if (ref.credentialId !== undefined) {
    where.push('credential_id = ?');
    params.push(ref.credentialId);
  }
  if (ref.routeId !== undefined) {
    where.push('route_id = ?');
    params.push(ref.routeId);
  }
  return where.length === 0 ? undefined : { sql: `(${where.join(' OR ')})`, params };
}

/** `%`, `_` and the escape character itself match literally in a LIKE pattern with ESCAPE '\\'. */
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The OR-ed conditions of a certificate search (CertificateFilter.search). Substrings compare
 * LOWER(column) with the lower-cased term on both backends (PostgreSQL's LIKE is case-sensitive,
 * SQLite's is not; SQLite's LOWER folds ASCII letters only). hosts and SANs are JSON arrays in TEXT:
 * a term with JSON punctuation in it (`"`, `[`, `]`, `\`) could match the array's syntax instead of
 * a name, so such a term is not looked for there — no host name or SAN contains those characters.
 */
function searchConditions(term: string): { sql: string; param: SqlParam }[] {
  const contains = `%${likeLiteral(term.toLowerCase())}%`;
  const like = (column: string) => ({ sql: `LOWER(${column}) LIKE ? ESCAPE '\\'`, param: contains });
  const out = [like('description'), like('subject'), like('issuer')];
  if (!/["[\]\\]/.test(term)) out.push(like('hosts'), like('sans'));
  // Fingerprints are stored as upper-case hex pairs joined by colons (metadata.ts); a user may paste
  // them with or without the colons, in either case. Six hex digits at least, so that a word such
  // as "cafe" or "added" is not also read as a fingerprint.
  const hex = term.replace(/:/g, '');
  if (/^[0-9a-f]{6,64}$/i.test(hex)) {
    out.push({
      sql: `REPLACE(fingerprint_sha256, ':', '') LIKE ? ESCAPE '\\'`,
      param: `${hex.toUpperCase()}%`,
    });
  }
  out.push({ sql: 'id = ?', param: term });
  return out;
}

/**
 * computeStatus (src/certificates/status.ts) as SQL: valid from not_before inclusive to not_after
 * exclusive, expiring soon within EXPIRING_SOON_MS of the end. Both columns hold toISOString()
 * output (metadata.ts), whose fixed width makes string order the order of instants.
 */
function statusCondition(status: CertificateStatus, at: number): { sql: string; params: SqlParam[] } {
  const now = new Date(at).toISOString();
  const soon = new Date(at + EXPIRING_SOON_MS).toISOString();
  switch (status) {
    case 'not_yet_valid':
      return { sql: 'not_before > ?', params: [now] };
    case 'expired':
      return { sql: '(not_before <= ? AND not_after <= ?)', params: [now, now] };
    case 'expiring_soon':
      return { sql: '(not_before <= ? AND not_after > ? AND not_after <= ?)', params: [now, now, soon] };
    case 'valid':
      return { sql: '(not_before <= ? AND not_after > ?)', params: [now, soon] };
  }
}

export class SqlRepo implements Repo {
  readonly #db: Db;
  readonly #writable: boolean;

  constructor(db: Db, options: { writable: boolean }) {
    this.#db = db;
    this.#writable = options.writable;
  }

  async getMeta(key: string): Promise<string | undefined> {
    const row = await this.#db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]);
    return row?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.#assertWritable('setMeta');
    await this.#db.run(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      [key, value],
    );
  }

  async listVaults(): Promise<VaultRecord[]> {
    const rows = await this.#db.all<Row>('SELECT * FROM vaults ORDER BY created_at, id');
    return rows.map(vaultFromRow);
  }

  async getVault(id: string): Promise<VaultRecord | undefined> {
    const row = await this.#db.get<Row>('SELECT * FROM vaults WHERE id = ?', [id]);
    return row && vaultFromRow(row);
  }

  async insertVault(vault: VaultRecord): Promise<void> {
    this.#assertWritable('insertVault');
    await this.#db.run(insertSql('vaults', VAULT_COLUMNS), vaultToParams(vault));
  }

  async deleteVault(id: string): Promise<boolean> {
    this.#assertWritable('deleteVault');
    // Explicit, in dependency order, so the result never depends on cascade settings of a connection.
    await this.#db.run('DELETE FROM certificate_requests WHERE vault_id = ?', [id]);
    const removed = await this.#db.run('DELETE FROM certificates WHERE vault_id = ?', [id]);
    if (removed.changes > 0) await this.#certificatesChanged('reset', null);
    await this.#db.run('DELETE FROM credentials WHERE vault_id = ?', [id]);
    await this.#db.run('DELETE FROM routes WHERE vault_id = ?', [id]);
    await this.#db.run('DELETE FROM hostnames WHERE vault_id = ?', [id]);
    const { changes } = await this.#db.run('DELETE FROM vaults WHERE id = ?', [id]);
    return changes > 0;
  }

  async updateVault(vault: VaultRecord): Promise<void> {
    this.#assertWritable('updateVault');
    await this.#db.run('UPDATE vaults SET name = ?, inbound_client_auth = ? WHERE id = ?', [
      vault.name,
      vault.inbound_client_auth === null ? null : JSON.stringify(vault.inbound_client_auth),
      vault.id,
    ]);
  }

  async countVaultDependants(
    id: string,
  ): Promise<{ credentials: number; routes: number; certificates: number; hostnames: number }> {
    const row = await this.#db.get<Row>(
      `SELECT
        (SELECT COUNT(*) FROM credentials WHERE vault_id = ?) AS credentials,
        (SELECT COUNT(*) FROM routes WHERE vault_id = ?) AS routes,
        (SELECT COUNT(*) FROM certificates WHERE vault_id = ?) AS certificates,
        (SELECT COUNT(*) FROM hostnames WHERE vault_id = ?) AS hostnames`,
      [id, id, id, id],
    );
    return {
      credentials: Number(row?.['credentials'] ?? 0),
      routes: Number(row?.['routes'] ?? 0),
      certificates: Number(row?.['certificates'] ?? 0),
      hostnames: Number(row?.['hostnames'] ?? 0),
    };
  }

  async listCredentials(vaultId?: string): Promise<CredentialRecord[]> {
    const rows =
      vaultId === undefined
        ? await this.#db.all<Row>('SELECT * FROM credentials ORDER BY created_at, id')
        : await this.#db.all<Row>('SELECT * FROM credentials WHERE vault_id = ? ORDER BY created_at, id', [
            vaultId,
          ]);
    return rows.map(credentialFromRow);
  }

  async getCredential(vaultId: string, id: string): Promise<CredentialRecord | undefined> {
    const row = await this.#db.get<Row>('SELECT * FROM credentials WHERE vault_id = ? AND id = ?', [
      vaultId,
      id,
    ]);
    return row && credentialFromRow(row);
  }

  async insertCredential(credential: CredentialRecord): Promise<void> {
    this.#assertWritable('insertCredential');
    await this.#db.run(insertSql('credentials', CREDENTIAL_COLUMNS), credentialToParams(credential));
  }

  async updateCredential(c: CredentialRecord): Promise<void> {
    this.#assertWritable('updateCredential');
    await this.#db.run(
      `UPDATE credentials SET username = ?, password_hash = ?, status = ?, description = ?, updated_at = ?
       WHERE vault_id = ? AND id = ?`,
      [c.username, c.password_hash, c.status, c.description, c.updated_at, c.vault_id, c.id],
    );
  }

  async deleteCredential(vaultId: string, id: string): Promise<boolean> {
    this.#assertWritable('deleteCredential');
    return this.#deleteOne('credentials', vaultId, id);
  }

  async listRoutes(vaultId?: string): Promise<RouteRecord[]> {
    const rows =
      vaultId === undefined
        ? await this.#db.all<Row>('SELECT * FROM routes ORDER BY seq')
        : await this.#db.all<Row>('SELECT * FROM routes WHERE vault_id = ? ORDER BY seq', [vaultId]);
    return rows.map(routeFromRow);
  }

  async getRoute(vaultId: string, id: string): Promise<RouteRecord | undefined> {
    const row = await this.#db.get<Row>('SELECT * FROM routes WHERE vault_id = ? AND id = ?', [vaultId, id]);
    return row && routeFromRow(row);
  }

  async insertRoute(route: Omit<RouteRecord, 'seq'>): Promise<number> {
    this.#assertWritable('insertRoute');
    // The configuration version is monotonic and already locked by this transaction, which makes it
    // a portable sequence: no AUTOINCREMENT / SERIAL differences between the backends.
    const seq = await bumpVersion(this.#db);
    await this.#db.run(insertSql('routes', [...ROUTE_COLUMNS, 'seq']), [...routeToParams(route), seq]);
    return seq;
  }

  async updateRoute(r: RouteRecord): Promise<void> {
    this.#assertWritable('updateRoute');
    // seq and created_at are the store's; an update never reorders a route.
    await this.#db.run(
      `UPDATE routes SET type = ?, destination_override_endpoint = ?, host_endpoint = ?, port = ?,
         protocol = ?, source_endpoint = ?, tags = ?, upstream_tls = ?, updated_at = ?
       WHERE vault_id = ? AND id = ?`,
      [
        r.type,
        r.destination_override_endpoint,
        r.host_endpoint,
        r.port,
        r.protocol,
        r.source_endpoint,
        JSON.stringify(r.tags),
        JSON.stringify(r.upstream_tls),
        r.updated_at,
        r.vault_id,
        r.id,
      ],
    );
  }

  async deleteRoute(vaultId: string, id: string): Promise<boolean> {
    this.#assertWritable('deleteRoute');
    return this.#deleteOne('routes', vaultId, id);
  }

  async listHostnames(vaultId?: string): Promise<HostnameRecord[]> {
    const rows =
      vaultId === undefined
        ? await this.#db.all<Row>('SELECT * FROM hostnames ORDER BY created_at, id')
        : await this.#db.all<Row>('SELECT * FROM hostnames WHERE vault_id = ? ORDER BY created_at, id', [
            vaultId,
          ]);
    return rows.map(hostnameFromRow);
  }

  async getHostname(vaultId: string, id: string): Promise<HostnameRecord | undefined> {
    const row = await this.#db.get<Row>('SELECT * FROM hostnames WHERE vault_id = ? AND id = ?', [
      vaultId,
      id,
    ]);
    return row && hostnameFromRow(row);
  }

  async findHostname(hostname: string): Promise<HostnameRecord | undefined> {
    const row = await this.#db.get<Row>('SELECT * FROM hostnames WHERE hostname = ?', [hostname]);
    return row && hostnameFromRow(row);
  }

  async insertHostname(hostname: HostnameRecord): Promise<void> {
    this.#assertWritable('insertHostname');
    await this.#db.run(insertSql('hostnames', HOSTNAME_COLUMNS), hostnameToParams(hostname));
  }

  async updateHostname(hostname: HostnameRecord): Promise<void> {
    this.#assertWritable('updateHostname');
    // Every column but id, vault_id and created_at: a PUT replaces the certificate and settings whole.
    const columns = HOSTNAME_COLUMNS.filter((c) => c !== 'id' && c !== 'vault_id' && c !== 'created_at');
    const params = hostnameToParams(hostname);
    const byColumn = new Map(HOSTNAME_COLUMNS.map((c, i) => [c, params[i]] as const));
    await this.#db.run(
      `UPDATE hostnames SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE vault_id = ? AND id = ?`,
      [...columns.map((c) => byColumn.get(c) ?? null), hostname.vault_id, hostname.id],
    );
  }

  async deleteHostname(vaultId: string, id: string): Promise<boolean> {
    this.#assertWritable('deleteHostname');
    return this.#deleteOne('hostnames', vaultId, id);
  }

  async listCertificates(filter: CertificateFilter = {}): Promise<CertificateRecord[]> {
    return (await this.#certificateRows('*', filter)).map(certificateFromRow);
  }

  async listCertificateRevisions(
    filter: CertificateFilter = {},
  ): Promise<{ id: string; updated_at: string }[]> {
    return (await this.#certificateRows('id, updated_at', filter)).map((row) => ({
      id: String(row['id']),
      updated_at: String(row['updated_at']),
    }));
  }

  async listCertificatePage(
    filter: CertificateFilter,
    page: CertificatePageQuery,
  ): Promise<{ id: string; created_at: string; updated_at: string }[]> {
    return (await this.#certificateRows('id, created_at, updated_at', filter, page)).map((row) => ({
      id: String(row['id']),
      created_at: String(row['created_at']),
      updated_at: String(row['updated_at']),
    }));
  }

  async getCertificateSummaries(ids: readonly string[]): Promise<CertificateSummary[]> {
    return (await this.#rowsByIds(SUMMARY_COLUMNS, ids)).map(certificateSummaryFromRow);
  }

  async getCertificateMaterial(ids: readonly string[]): Promise<CertificateMaterial[]> {
    return (await this.#rowsByIds('id, certificate_pem, private_key_sealed', ids)).map((row) => ({
      id: String(row['id']),
      certificate_pem: String(row['certificate_pem']),
      private_key_sealed: String(row['private_key_sealed']),
    }));
  }

  async #rowsByIds(columns: string, ids: readonly string[]): Promise<Row[]> {
    const out: Row[] = [];
    // Chunked: SQLite caps bound parameters per statement (32766 in current builds, 999 in old ones).
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const placeholders = chunk.map(() => '?').join(',');
      out.push(
        ...(await this.#db.all<Row>(
          `SELECT ${columns} FROM certificates WHERE id IN (${placeholders})`,
          chunk,
        )),
      );
    }
    return out;
  }

  async #certificateRows(
    columns: string,
    filter: CertificateFilter,
    page?: CertificatePageQuery,
  ): Promise<Row[]> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (filter.vaultId !== undefined) {
      where.push('vault_id = ?');
      params.push(filter.vaultId);
    }
    if (filter.proxyType !== undefined) {
      where.push('proxy_type = ?');
      params.push(filter.proxyType);
    }
    if (filter.credentialId !== undefined) {
      where.push('credential_id = ?');
      params.push(filter.credentialId);
    }
    if (filter.routeId !== undefined) {
      where.push('route_id = ?');
      params.push(filter.routeId);
    }
    const search = filter.search?.trim() ?? '';
    if (search !== '') {
      const matches = searchConditions(search);
      where.push(`(${matches.map((m) => m.sql).join(' OR ')})`);
      params.push(...matches.map((m) => m.param));
    }
    if (filter.status !== undefined) {
      const status = statusCondition(filter.status.is, filter.status.at);
      where.push(status.sql);
      params.push(...status.params);
    }
    if (page?.after !== undefined) {
      where.push('(created_at > ? OR (created_at = ? AND id > ?))');
      params.push(page.after.created_at, page.after.created_at, page.after.id);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    let sql = `SELECT ${columns} FROM certificates ${clause} ORDER BY created_at, id`;
    if (page !== undefined) {
      sql += ' LIMIT ?';
      params.push(Math.max(0, Math.floor(page.limit)));
    }
    return this.#db.all<Row>(sql, params);
  }

  async getCertificate(vaultId: string, id: string): Promise<CertificateRecord | undefined> {
    const row = await this.#db.get<Row>('SELECT * FROM certificates WHERE vault_id = ? AND id = ?', [
      vaultId,
      id,
    ]);
    return row && certificateFromRow(row);
  }

  async insertCertificate(certificate: CertificateRecord): Promise<void> {
    this.#assertWritable('insertCertificate');
    await this.#db.run(insertSql('certificates', CERTIFICATE_COLUMNS), certificateToParams(certificate));
    await this.#certificatesChanged('added', certificate.id);
  }

  async updateCertificate(vaultId: string, id: string, edit: CertificateEdit): Promise<boolean> {
    this.#assertWritable('updateCertificate');
    const { changes } = await this.#db.run(
      'UPDATE certificates SET description = ?, hosts = ?, updated_at = ? WHERE vault_id = ? AND id = ?',
      [edit.description, JSON.stringify(edit.hosts), edit.updated_at, vaultId, id],
    );
    if (changes === 0) return false;
    // Hosts are part of the choice rule: every snapshot builder re-reads this row.
    await this.#certificatesChanged('replaced', id);
    return true;
  }

  async replaceCertificateKeySealed(id: string, sealed: string): Promise<void> {
    this.#assertWritable('replaceCertificateKeySealed');
    await this.#db.run('UPDATE certificates SET private_key_sealed = ? WHERE id = ?', [sealed, id]);
    // The snapshot builder caches opened keys by id; this change makes it read the row again.
    await this.#certificatesChanged('replaced', id);
  }

  async deleteCertificate(vaultId: string, id: string): Promise<boolean> {
    this.#assertWritable('deleteCertificate');
    const deleted = await this.#deleteOne('certificates', vaultId, id);
    if (deleted) await this.#certificatesChanged('removed', id);
    return deleted;
  }

  /**
   * A new random epoch on every change to the certificates table, and a row saying what changed, in
   * the change's transaction: the snapshot builder tells "unchanged" with one tiny read, and applies
   * "one added" without scanning thousands of rows (migration 4).
   */
  async #certificatesChanged(op: CertificateChange['op'], certificateId: string | null): Promise<void> {
    const previous = (await this.getMeta(CERTIFICATES_EPOCH)) ?? '';
    const epoch = randomUUID();
    const now = Date.now();
    await this.setMeta(CERTIFICATES_EPOCH, epoch);
    await this.#db.run(
      'INSERT INTO certificate_changes (epoch, previous, op, certificate_id, at) VALUES (?, ?, ?, ?, ?)',
      [epoch, previous, op, certificateId, new Date(now).toISOString()],
    );
    await this.#db.run('DELETE FROM certificate_changes WHERE at < ?', [
      new Date(now - CERTIFICATE_CHANGES_KEPT_MS).toISOString(),
    ]);
  }

  async listCertificateChangesFrom(epoch: string): Promise<CertificateChange[]> {
    const rows = await this.#db.all<Row>(
      'SELECT epoch, previous, op, certificate_id FROM certificate_changes WHERE previous = ?',
      [epoch],
    );
    return rows.map((row) => ({
      epoch: String(row['epoch']),
      previous: String(row['previous']),
      op: String(row['op']) as CertificateChange['op'],
      certificate_id: row['certificate_id'] === null ? null : String(row['certificate_id']),
    }));
  }

  /** Certificates tied to the credential or to the route given; both given counts either. */
  async countCertificatesFor(ref: {
    credentialId?: string;
    routeId?: string;
    fingerprint?: string;
  }): Promise<number> {
    const tied = tiedTo(ref);
    if (tied === undefined) return 0;
    const params = tied.params;
    let sql = `SELECT COUNT(*) AS n FROM certificates WHERE ${tied.sql}`;
    if (ref.fingerprint !== undefined) {
      sql += ' AND fingerprint_sha256 = ?';
      params.push(ref.fingerprint);
    }
    const row = await this.#db.get<{ n: number | string }>(sql, params);
    return Number(row?.n ?? 0);
  }

  async insertCertificateRequest(request: CertificateRequestRecord): Promise<void> {
    this.#assertWritable('insertCertificateRequest');
    await this.#db.run(
      insertSql('certificate_requests', CERTIFICATE_REQUEST_COLUMNS),
      certificateRequestToParams(request),
    );
  }

  async getCertificateRequest(vaultId: string, id: string): Promise<CertificateRequestRecord | undefined> {
    const row = await this.#db.get<Row>('SELECT * FROM certificate_requests WHERE vault_id = ? AND id = ?', [
      vaultId,
      id,
    ]);
    return row && certificateRequestFromRow(row);
  }

  async listCertificateRequestPage(
    filter: CertificateRequestFilter,
    page: CertificatePageQuery,
  ): Promise<CertificateRequestSummary[]> {
    const where = ['vault_id = ?'];
    const params: SqlParam[] = [filter.vaultId];
    if (filter.status !== undefined) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (page.after !== undefined) {
      where.push('(created_at > ? OR (created_at = ? AND id > ?))');
      params.push(page.after.created_at, page.after.created_at, page.after.id);
    }
    params.push(Math.max(0, Math.floor(page.limit)));
    const rows = await this.#db.all<Row>(
      `SELECT ${CERTIFICATE_REQUEST_SUMMARY_COLUMNS.join(', ')} FROM certificate_requests
       WHERE ${where.join(' AND ')} ORDER BY created_at, id LIMIT ?`,
      params,
    );
    return rows.map(certificateRequestSummaryFromRow);
  }

  async completeCertificateRequest(
    vaultId: string,
    id: string,
    certificateId: string,
    completedAt: string,
  ): Promise<boolean> {
    this.#assertWritable('completeCertificateRequest');
    const { changes } = await this.#db.run(
      `UPDATE certificate_requests SET status = 'completed', certificate_id = ?, completed_at = ?,
         private_key_sealed = NULL
       WHERE vault_id = ? AND id = ? AND status = 'pending'`,
      [certificateId, completedAt, vaultId, id],
    );
    return changes > 0;
  }

  async deleteCertificateRequest(vaultId: string, id: string): Promise<boolean> {
    this.#assertWritable('deleteCertificateRequest');
    const { changes } = await this.#db.run('DELETE FROM certificate_requests WHERE vault_id = ? AND id = ?', [
      vaultId,
      id,
    ]);
    return changes > 0;
  }

  async countPendingCertificateRequestsFor(ref: {
    credentialId?: string;
    routeId?: string;
  }): Promise<number> {
    const tied = tiedTo(ref);
    if (tied === undefined) return 0;
    const params = tied.params;
    const row = await this.#db.get<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM certificate_requests WHERE status = 'pending' AND ${tied.sql}`,
      params,
    );
    return Number(row?.n ?? 0);
  }

  async insertAuditEvent(e: AuditEventRecord): Promise<void> {
    this.#assertWritable('insertAuditEvent');
    await this.#db.run(
      'INSERT INTO audit_events (id, at, actor, action, vault_id, target_id, client_address) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [e.id, e.at, e.actor, e.action, e.vault_id, e.target_id, e.client_address ?? null],
    );
  }

  /** Newest first; ties on `at` broken by id so pages are stable. */
  async listAuditEvents(query: AuditQuery): Promise<AuditEventRecord[]> {
    const params: SqlParam[] = [];
    const where: string[] = [];
    if (query.vault_id !== undefined) {
      where.push('vault_id = ?');
      params.push(query.vault_id);
    }
    if (query.actor !== undefined) {
      where.push('actor = ?');
      params.push(query.actor);
    }
    if (query.action !== undefined) {
      where.push('action = ?');
      params.push(query.action);
    }
    if (query.since !== undefined) {
      where.push('at >= ?');
      params.push(query.since);
    }
    if (query.before !== undefined) {
      where.push('(at < ? OR (at = ? AND id < ?))');
      params.push(query.before.at, query.before.at, query.before.id);
    }
    let sql = 'SELECT id, at, actor, action, vault_id, target_id, client_address FROM audit_events';
    if (where.length > 0) sql += ` WHERE ${where.join(' AND ')}`;
    sql += ' ORDER BY at DESC, id DESC';
    if (query.limit !== undefined) {
      sql += ' LIMIT ?';
      params.push(Math.max(0, Math.floor(query.limit)));
    }
    return this.#db.all<AuditEventRecord>(sql, params);
  }

  async insertDashboardSession(session: DashboardSessionRecord): Promise<void> {
    this.#assertWritable('insertDashboardSession');
    await this.#db.run(
      'INSERT INTO dashboard_sessions (id_hash, id, token_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      [
        session.id_hash,
        session.id,
        session.token_id,
        session.token_hash,
        session.created_at,
        session.expires_at,
      ],
    );
  }

  async getDashboardSession(idHash: string): Promise<DashboardSessionRecord | undefined> {
    return this.#db.get<DashboardSessionRecord>(
      'SELECT id_hash, id, token_id, token_hash, created_at, expires_at FROM dashboard_sessions WHERE id_hash = ?',
      [idHash],
    );
  }

  async deleteDashboardSession(idHash: string): Promise<DashboardSessionRecord | undefined> {
    this.#assertWritable('deleteDashboardSession');
    const found = await this.getDashboardSession(idHash);
    if (found) await this.#db.run('DELETE FROM dashboard_sessions WHERE id_hash = ?', [idHash]);
    return found;
  }

  async deleteStaleDashboardSessions(now: string): Promise<number> {
    this.#assertWritable('deleteStaleDashboardSessions');
    const { changes } = await this.#db.run('DELETE FROM dashboard_sessions WHERE expires_at <= ?', [now]);
    return changes;
  }

  // API tokens (src/api/tokens.ts)

  async insertApiToken(token: ApiTokenRecord): Promise<boolean> {
    this.#assertWritable('insertApiToken');
    // ON CONFLICT (name): two instances starting together on one database both try to create the
    // bootstrap token; the second changes nothing instead of failing its start.
    const { changes } = await this.#db.run(
      `INSERT INTO api_tokens (id, name, role, token_hash, created_at, expires_at, last_used_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
      [
        token.id,
        token.name,
        token.role,
        token.token_hash,
        token.created_at,
        token.expires_at,
        token.last_used_at,
      ],
    );
    return changes > 0;
  }

  async getApiToken(id: string): Promise<ApiTokenRecord | undefined> {
    return this.#db.get<ApiTokenRecord>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE id = ?`, [id]);
  }

  async getApiTokenByHash(tokenHash: string): Promise<ApiTokenRecord | undefined> {
    return this.#db.get<ApiTokenRecord>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?`, [
      tokenHash,
    ]);
  }

  async getApiTokenByName(name: string): Promise<ApiTokenRecord | undefined> {
    return this.#db.get<ApiTokenRecord>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE name = ?`, [name]);
  }

  async listApiTokens(page: {
    after?: { created_at: string; id: string } | undefined;
    limit: number;
  }): Promise<ApiTokenRecord[]> {
    const params: SqlParam[] = [];
    let sql = `SELECT ${API_TOKEN_COLUMNS} FROM api_tokens`;
    if (page.after !== undefined) {
      sql += ' WHERE (created_at > ? OR (created_at = ? AND id > ?))';
      params.push(page.after.created_at, page.after.created_at, page.after.id);
    }
    sql += ' ORDER BY created_at, id LIMIT ?';
    params.push(page.limit);
    return this.#db.all<ApiTokenRecord>(sql, params);
  }

  async deleteApiToken(id: string): Promise<ApiTokenRecord | undefined> {
    this.#assertWritable('deleteApiToken');
    const found = await this.getApiToken(id);
    if (!found) return undefined;
    await this.#db.run('DELETE FROM dashboard_sessions WHERE token_id = ?', [id]);
    await this.#db.run('DELETE FROM api_tokens WHERE id = ?', [id]);
    return found;
  }

  async replaceApiTokenHash(id: string, tokenHash: string): Promise<void> {
    this.#assertWritable('replaceApiTokenHash');
    await this.#db.run('DELETE FROM dashboard_sessions WHERE token_id = ?', [id]);
    await this.#db.run('UPDATE api_tokens SET token_hash = ?, last_used_at = NULL WHERE id = ?', [
      tokenHash,
      id,
    ]);
  }

  async touchApiToken(id: string, at: string): Promise<void> {
    this.#assertWritable('touchApiToken');
    await this.#db.run('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', [at, id]);
  }

  async listWebhooks(): Promise<WebhookRecord[]> {
    const rows = await this.#db.all<Row>('SELECT * FROM webhooks ORDER BY created_at, id');
    return rows.map(webhookFromRow);
  }

  async getWebhook(id: string): Promise<WebhookRecord | undefined> {
    const row = await this.#db.get<Row>('SELECT * FROM webhooks WHERE id = ?', [id]);
    return row && webhookFromRow(row);
  }

  async insertWebhook(webhook: WebhookRecord): Promise<void> {
    this.#assertWritable('insertWebhook');
    await this.#db.run(insertSql('webhooks', WEBHOOK_COLUMNS), webhookToParams(webhook));
  }

  async deleteWebhook(id: string): Promise<boolean> {
    this.#assertWritable('deleteWebhook');
    // Explicit, like deleteVault: the result never depends on a connection's foreign-key settings.
    await this.#db.run('DELETE FROM webhook_deliveries WHERE webhook_id = ?', [id]);
    const { changes } = await this.#db.run('DELETE FROM webhooks WHERE id = ?', [id]);
    return changes > 0;
  }

  async insertWebhookDelivery(delivery: WebhookDeliveryRecord): Promise<void> {
    this.#assertWritable('insertWebhookDelivery');
    await this.#db.run(
      insertSql('webhook_deliveries', WEBHOOK_DELIVERY_COLUMNS),
      webhookDeliveryToParams(delivery),
    );
  }

  async getWebhookDelivery(id: string): Promise<WebhookDeliveryRecord | undefined> {
    const row = await this.#db.get<Row>('SELECT * FROM webhook_deliveries WHERE id = ?', [id]);
    return row && webhookDeliveryFromRow(row);
  }

  async listWebhookDeliveries(
    webhookId: string,
    page: { before?: { created_at: string; id: string } | undefined; limit: number },
  ): Promise<WebhookDeliveryRecord[]> {
    const params: SqlParam[] = [webhookId];
    let sql = 'SELECT * FROM webhook_deliveries WHERE webhook_id = ?';
    if (page.before !== undefined) {
      sql += ' AND (created_at < ? OR (created_at = ? AND id < ?))';
      params.push(page.before.created_at, page.before.created_at, page.before.id);
    }
    sql += ' ORDER BY created_at DESC, id DESC LIMIT ?';
    params.push(Math.max(0, Math.floor(page.limit)));
    return (await this.#db.all<Row>(sql, params)).map(webhookDeliveryFromRow);
  }

  async listDueWebhookDeliveries(now: string, limit: number): Promise<string[]> {
    const rows = await this.#db.all<Row>(
      `SELECT id FROM webhook_deliveries
       WHERE status = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)
       ORDER BY next_attempt_at, id LIMIT ?`,
      [now, now, Math.max(0, Math.floor(limit))],
    );
    return rows.map((row) => String(row['id']));
  }

  async nextWebhookDeliveryAt(): Promise<string | undefined> {
    const row = await this.#db.get<{ next: string | null }>(
      "SELECT MIN(next_attempt_at) AS next FROM webhook_deliveries WHERE status = 'pending'",
    );
    return row?.next ?? undefined;
  }

  async claimWebhookDelivery(id: string, now: string, until: string): Promise<boolean> {
    this.#assertWritable('claimWebhookDelivery');
    // The WHERE clause is the lock: of two instances running this at once, the second finds the
    // lease already taken (PostgreSQL re-checks the condition on the row the first one updated;
    // SQLite runs one writer at a time), changes no row, and so does not send.
    const { changes } = await this.#db.run(
      `UPDATE webhook_deliveries SET claimed_until = ?
       WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?
         AND (claimed_until IS NULL OR claimed_until < ?)`,
      [until, id, now, now],
    );
    return changes === 1;
  }

  async recordWebhookAttempt(o: DeliveryOutcome): Promise<boolean> {
    this.#assertWritable('recordWebhookAttempt');
    const row = await this.#db.get<Row>(
      'SELECT attempts, attempt_log FROM webhook_deliveries WHERE id = ? AND claimed_until = ?',
      [o.id, o.claimed_until],
    );
    if (!row) return false;
    const log = [...(JSON.parse(String(row['attempt_log'])) as unknown[]), o.attempt].slice(
      -ATTEMPT_LOG_KEPT,
    );
    const { changes } = await this.#db.run(
      `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, claimed_until = NULL,
         last_status_code = ?, last_error = ?, attempt_log = ?, delivered_at = ?
       WHERE id = ? AND claimed_until = ?`,
      [
        o.status,
        Number(row['attempts']) + 1,
        o.next_attempt_at,
        o.attempt.status_code,
        o.attempt.error,
        JSON.stringify(log),
        o.status === 'delivered' ? o.attempt.at : null,
        o.id,
        o.claimed_until,
      ],
    );
    return changes === 1;
  }

  async insertNotificationMark(mark: NotificationMark, at: string): Promise<boolean> {
    this.#assertWritable('insertNotificationMark');
    const { changes } = await this.#db.run(
      `INSERT INTO notification_marks (subject_id, type, threshold_days, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
      [mark.subject_id, mark.type, mark.threshold_days, at],
    );
    return changes === 1;
  }

  async listNotificationMarks(subjectIds: readonly string[]): Promise<NotificationMark[]> {
    const out: NotificationMark[] = [];
    for (let i = 0; i < subjectIds.length; i += 500) {
      const chunk = subjectIds.slice(i, i + 500);
      const rows = await this.#db.all<Row>(
        `SELECT subject_id, type, threshold_days FROM notification_marks
         WHERE subject_id IN (${chunk.map(() => '?').join(',')})`,
        chunk,
      );
      for (const row of rows) {
        out.push({
          subject_id: String(row['subject_id']),
          type: String(row['type']) as NotificationMark['type'],
          threshold_days: Number(row['threshold_days']),
        });
      }
    }
    return out;
  }

  async listCertificatesExpiringBy(notAfter: string): Promise<CertificateSummary[]> {
    const rows = await this.#db.all<Row>(
      `SELECT ${SUMMARY_COLUMNS} FROM certificates WHERE not_after <= ? ORDER BY not_after, id`,
      [notAfter],
    );
    return rows.map(certificateSummaryFromRow);
  }

  async #deleteOne(
    table: 'credentials' | 'routes' | 'certificates' | 'hostnames',
    vaultId: string,
    id: string,
  ) {
    const { changes } = await this.#db.run(`DELETE FROM ${table} WHERE vault_id = ? AND id = ?`, [
      vaultId,
      id,
    ]);
    return changes > 0;
  }

  #assertWritable(method: string): void {
    if (!this.#writable) throw new ReadOnlyRepoError(method);
  }

  // master-key rotation (src/secrets/rotate.ts)
  async listMeta(): Promise<{ key: string; value: string }[]> {
    const rows = await this.#db.all<Row>('SELECT key, value FROM meta ORDER BY key');
    return rows.map((row) => ({ key: String(row['key']), value: String(row['value']) }));
  }

  async listPendingCertificateRequests(): Promise<CertificateRequestRecord[]> {
    const rows = await this.#db.all<Row>(
      `SELECT * FROM certificate_requests WHERE status = 'pending' AND private_key_sealed IS NOT NULL
       ORDER BY created_at, id`,
    );
    return rows.map(certificateRequestFromRow);
  }

  async replaceSealedValue(column: string, id: string, sealed: string): Promise<boolean> {
    this.#assertWritable('replaceSealedValue');
    // Names go into the SQL text: only plain lower-case identifiers naming a sealed column pass.
    const match = /^([a-z_]+)\.([a-z_]+_sealed)$/.exec(column);
    if (!match) throw new TypeError(`not a sealed column: ${JSON.stringify(column)}`);
    const { changes } = await this.#db.run(`UPDATE ${match[1]} SET ${match[2]} = ? WHERE id = ?`, [
      sealed,
      id,
    ]);
    return changes > 0;
  }

  async noteCertificateKeysRewritten(): Promise<void> {
    this.#assertWritable('noteCertificateKeysRewritten');
    await this.#certificatesChanged('reset', null);
  }

  async listSealedColumns(dialect: 'sqlite' | 'postgres'): Promise<string[]> {
    // `!` escapes LIKE's `_` wildcard the same way in both dialects.
    const sql =
      dialect === 'sqlite'
        ? `SELECT m.name AS table_name, p.name AS column_name
           FROM sqlite_master AS m, pragma_table_info(m.name) AS p
           WHERE m.type = 'table' AND p.name LIKE '%!_sealed' ESCAPE '!'`
        : `SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = current_schema() AND column_name LIKE '%!_sealed' ESCAPE '!'`;
    const rows = await this.#db.all<Row>(sql);
    return rows.map((row) => `${String(row['table_name'])}.${String(row['column_name'])}`).sort();
  }
}
