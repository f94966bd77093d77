/**
 * Versioned schema migrations, portable between SQLite and PostgreSQL. Each migration runs once, in
 * order, inside the transaction the backend opens at start-up; `schema_migrations` records what ran.
 * Append new migrations; never edit one that has shipped.
 */
import type { Db } from './db.js';

interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    statements: [
      'CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
      `CREATE TABLE config_version (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL
      )`,
      'INSERT INTO config_version (id, version) VALUES (1, 0)',
      `CREATE TABLE vaults (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        environment TEXT NOT NULL,
        outbound_ca_cert_pem TEXT NOT NULL,
        outbound_ca_key_sealed TEXT NOT NULL,
        created_at TEXT NOT NULL
      )`,
      `CREATE TABLE credentials (
        id TEXT PRIMARY KEY,
        vault_id TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        status TEXT NOT NULL,
        description TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      'CREATE INDEX credentials_vault_id ON credentials (vault_id)',
      `CREATE TABLE routes (
        id TEXT PRIMARY KEY,
        vault_id TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
        type TEXT NOT NULL,
        destination_override_endpoint TEXT NOT NULL,
        host_endpoint TEXT NOT NULL,
        port INTEGER NOT NULL,
        protocol TEXT NOT NULL,
        source_endpoint TEXT NOT NULL,
        tags TEXT NOT NULL,
        upstream_tls TEXT NOT NULL,
        seq INTEGER NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      'CREATE INDEX routes_vault_id_seq ON routes (vault_id, seq)',
      // credential_id and route_id restrict deletes: the API refuses with credential_in_use /
      // route_in_use first, and the constraint keeps a forgotten check from orphaning a certificate.
      `CREATE TABLE certificates (
        id TEXT PRIMARY KEY,
        vault_id TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
        proxy_type TEXT NOT NULL,
        credential_id TEXT REFERENCES credentials (id),
        route_id TEXT REFERENCES routes (id),
        description TEXT,
        hosts TEXT NOT NULL,
        certificate_pem TEXT NOT NULL,
        private_key_sealed TEXT NOT NULL,
        warnings TEXT NOT NULL,
        subject TEXT NOT NULL,
        issuer TEXT NOT NULL,
        serial_number TEXT NOT NULL,
        not_before TEXT NOT NULL,
        not_after TEXT NOT NULL,
        fingerprint_sha256 TEXT NOT NULL,
        key_type TEXT NOT NULL,
        key_size INTEGER,
        curve TEXT,
        sans TEXT NOT NULL,
        chain TEXT NOT NULL,
        created_at TEXT NOT NULL
      )`,
      'CREATE INDEX certificates_vault_id ON certificates (vault_id, proxy_type)',
      'CREATE INDEX certificates_credential_id ON certificates (credential_id)',
      'CREATE INDEX certificates_route_id ON certificates (route_id)',
      `CREATE TABLE audit_events (
        id TEXT PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        vault_id TEXT,
        target_id TEXT
      )`,
      // Audit events outlive the vault they describe, so vault_id is deliberately not a foreign key.
      'CREATE INDEX audit_events_vault_id_at ON audit_events (vault_id, at)',
      'CREATE INDEX audit_events_at ON audit_events (at)',
    ],
  },
  {
    version: 2,
    name: 'dashboard sessions and audit client addresses',
    statements: [
      // SPEC §2: audit events name the client address; rows from before stay NULL.
      'ALTER TABLE audit_events ADD COLUMN client_address TEXT',
      // Server-side sessions (issue 13): sign-out deletes the row, and token_hash binds a session to
      // the admin token that created it. id_hash and token_hash are keyed hashes: the table holds
      // nothing a cookie or the token could be rebuilt from.
      `CREATE TABLE dashboard_sessions (
        id_hash TEXT PRIMARY KEY,
        id TEXT NOT NULL,
        token_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      )`,
      'CREATE INDEX dashboard_sessions_expires_at ON dashboard_sessions (expires_at)',
    ],
  },
  {
    version: 3,
    name: 'custom inbound hostnames and caller mTLS',
    statements: [
      // JSON ClientAuthSettings; NULL (every vault before this version) means caller mTLS off.
      'ALTER TABLE vaults ADD COLUMN inbound_client_auth TEXT',
      // hostname is UNIQUE across vaults (SPEC §2 hostname_taken): the API checks first, and the
      // constraint settles a race between two instances on one database.
      `CREATE TABLE hostnames (
        id TEXT PRIMARY KEY,
        vault_id TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
        hostname TEXT NOT NULL UNIQUE,
        certificate_pem TEXT NOT NULL,
        private_key_sealed TEXT NOT NULL,
        client_auth TEXT NOT NULL,
        warnings TEXT NOT NULL,
        subject TEXT NOT NULL,
        issuer TEXT NOT NULL,
        serial_number TEXT NOT NULL,
        not_before TEXT NOT NULL,
        not_after TEXT NOT NULL,
        fingerprint_sha256 TEXT NOT NULL,
        key_type TEXT NOT NULL,
        key_size INTEGER,
        curve TEXT,
        sans TEXT NOT NULL,
        chain TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      'CREATE INDEX hostnames_vault_id ON hostnames (vault_id, created_at)',
    ],
  },
  {
    version: 4,
    name: 'certificate change log and list order index',
    statements: [
      // One row per change of the certificates table, written in the change's transaction: the epoch
      // it moved from and to, and what changed (an added or removed id, or 'reset' when many rows
      // changed at once). A snapshot builder follows the chain from the epoch it knows to the current
      // one and applies only those changes (src/snapshot/build.ts), so a rebuild after one upload costs
      // the same with 100 certificates stored as with 10,000. Pruned by age; a builder that finds a gap
      // or a fork (two instances changing at once) re-indexes, as before this table.
      `CREATE TABLE certificate_changes (
        epoch TEXT PRIMARY KEY,
        previous TEXT NOT NULL,
        op TEXT NOT NULL,
        certificate_id TEXT,
        at TEXT NOT NULL
      )`,
      'CREATE INDEX certificate_changes_previous ON certificate_changes (previous)',
      'CREATE INDEX certificate_changes_at ON certificate_changes (at)',
      // The list's keyset order (created_at, id) within a vault: a page is read in index order
      // instead of sorting the vault's 10,000 rows for every page.
      'CREATE INDEX certificates_vault_created ON certificates (vault_id, created_at, id)',
    ],
  },
  {
    version: 5,
    name: 'certificate requests (keys born in vaultgate)',
    statements: [
      // A key pair generated by vaultgate and the CSR signed with it, waiting for the signed
      // certificate (SPEC §2 "Certificate lifecycle"). The sealed key is cleared on completion: from
      // then on the certificate row holds it. credential_id and route_id carry no foreign key: a
      // completed request keeps naming them after they are deleted (its history), while a pending one
      // blocks the delete in the API (credential_in_use / route_in_use).
      `CREATE TABLE certificate_requests (
        id TEXT PRIMARY KEY,
        vault_id TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
        proxy_type TEXT NOT NULL,
        credential_id TEXT,
        route_id TEXT,
        description TEXT,
        hosts TEXT NOT NULL,
        subject TEXT NOT NULL,
        sans TEXT NOT NULL,
        key_type TEXT NOT NULL,
        key_size INTEGER,
        curve TEXT,
        csr_pem TEXT NOT NULL,
        private_key_sealed TEXT,
        status TEXT NOT NULL,
        certificate_id TEXT,
        created_at TEXT NOT NULL,
        completed_at TEXT
      )`,
      // The list's keyset order within a vault, and the "pending ones tied here?" check of deletes.
      'CREATE INDEX certificate_requests_vault_created ON certificate_requests (vault_id, created_at, id)',
      'CREATE INDEX certificate_requests_credential_id ON certificate_requests (credential_id)',
      'CREATE INDEX certificate_requests_route_id ON certificate_requests (route_id)',
    ],
  },
  {
    version: 6,
    name: 'webhooks, their deliveries and notification marks',
    statements: [
      // events and days_before are JSON arrays in TEXT; secret_sealed opens under webhookSecretAad(id):
      // deliveries are signed with the secret itself (HMAC), so it is sealed, not hashed.
      `CREATE TABLE webhooks (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        events TEXT NOT NULL,
        days_before TEXT NOT NULL,
        secret_sealed TEXT NOT NULL,
        description TEXT,
        created_at TEXT NOT NULL
      )`,
      // The outbox: a row per (webhook, event), written in the transaction of the change it reports.
      // body is the exact text signed and sent. claimed_until is a lease: an instance that claims a
      // row (a conditional UPDATE only one instance wins) owns it until then, so two instances on one
      // database never send it twice; a crashed instance's claim simply runs out. attempt_log holds
      // every attempt's answer (a JSON array) for the deliveries list.
      `CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
        event_id TEXT NOT NULL,
        type TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at TEXT NOT NULL,
        claimed_until TEXT,
        last_status_code INTEGER,
        last_error TEXT,
        attempt_log TEXT NOT NULL,
        created_at TEXT NOT NULL,
        delivered_at TEXT
      )`,
      'CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)',
      'CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at, id)',
      // One row per notification that fired: inserting it is how an instance learns it is the first
      // (a conflict means another instance, or this one before a restart, already sent it). It is
      // written in the transaction that enqueues the deliveries, so it exists exactly when they do.
      `CREATE TABLE notification_marks (
        subject_id TEXT NOT NULL,
        type TEXT NOT NULL,
        threshold_days INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (subject_id, type, threshold_days)
      )`,
      // The expiry sweep reads certificates nearing their end every minute: by index, not a scan.
      'CREATE INDEX certificates_not_after ON certificates (not_after)',
    ],
  },
  {
    version: 7,
    name: 'certificate edits (PATCH description and hosts)',
    statements: [
      // Certificates became editable (SPEC §2 PATCH …/certificates/{id}: description and hosts, never
      // the material). The revision tells every cache keyed by id (the snapshot builder's opened keys,
      // the API's rendered list rows) that a row it holds changed, also after a change-log gap and in
      // another instance. Rows from before the edit carry their creation time.
      'ALTER TABLE certificates ADD COLUMN updated_at TEXT',
      'UPDATE certificates SET updated_at = created_at',
    ],
  },
  {
    version: 8,
    name: 'API tokens with roles',
    statements: [
      // SPEC §2 "API tokens and roles". token_hash is a keyed hash (src/api/tokens.ts): the table
      // holds nothing a token could be rebuilt from. Names are unique, so the audit trail's
      // "token:<name>" names one token.
      `CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        last_used_at TEXT
      )`,
      // A session now belongs to the token it was signed in with, and ends with it. Sessions from
      // before (signed in with the admin token, which becomes the token "bootstrap" at this start)
      // carry no token id: they end, and their users sign in once more.
      'ALTER TABLE dashboard_sessions ADD COLUMN token_id TEXT',
      'DELETE FROM dashboard_sessions',
      'CREATE INDEX dashboard_sessions_token_id ON dashboard_sessions (token_id)',
      // GET /audit-events?actor= (newest first, like every audit listing).
      'CREATE INDEX audit_events_actor_at ON audit_events (actor, at)',
    ],
  },
];

export const LATEST_MIGRATION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Applies the migrations this database has not seen yet. Runs inside the caller's transaction. */
export async function migrate(db: Db): Promise<void> {
  await db.run(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
  );
  const rows = await db.all<{ version: number | string }>('SELECT version FROM schema_migrations');
  const applied = new Set(rows.map((row) => Number(row.version)));
  const newest = Math.max(0, ...applied);
  if (newest > LATEST_MIGRATION) {
    throw new Error(
      `The database schema is at version ${newest}, newer than this vaultgate supports (${LATEST_MIGRATION}); upgrade vaultgate.`,
    );
  }
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements) await db.run(statement);
    await db.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
      migration.version,
      migration.name,
      new Date().toISOString(),
    ]);
  }
}
