/**
 * Forward-only schema migrations. `schema_version` keeps one row per applied migration (so the history is
 * visible with any sqlite3 shell); the current version is its maximum. Each migration runs in its own
 * transaction together with its version row, so a crash leaves the database at a whole version.
 *
 * A database written by a newer ecsd (version above the last one known here) is refused with a clear
 * StoreError instead of being quarantined: it is not corrupt, the binary is just too old (a downgrade).
 */
import type { Database } from 'better-sqlite3';
import { StoreCorruptError, StoreError } from '../errors.js';
import { type Logger, silentLogger } from '../logging/types.js';
import { isCorruptionError } from './sqlite-errors.js';

export interface Migration {
  /** 1, 2, 3… with no gaps. */
  version: number;
  description: string;
  /** Statements run with `db.exec`. */
  sql: string;
}

/**
 * Version 1: the whole initial schema. JSON columns (`spec`, `payload`, `port_bindings`, `registration`, …)
 * hold nested values the store never queries into. Credentials have no table on purpose: they live only in
 * memory (design.md), so a stolen data directory leaks no keys.
 */
const V1_INITIAL = `
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE instance (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  cluster TEXT NOT NULL,
  container_instance_arn TEXT,
  ec2_instance_id TEXT,
  availability_zone TEXT,
  agent_version TEXT,
  registration TEXT
);
CREATE TABLE tasks (
  arn TEXT PRIMARY KEY,
  family TEXT NOT NULL,
  version TEXT NOT NULL,
  source TEXT NOT NULL,
  spec TEXT NOT NULL,
  desired_status TEXT NOT NULL,
  known_status TEXT NOT NULL,
  sent_status TEXT NOT NULL,
  reason TEXT,
  created_at_ms INTEGER NOT NULL,
  known_at_ms INTEGER NOT NULL,
  pull_started_at_ms INTEGER,
  pull_stopped_at_ms INTEGER,
  execution_stopped_at_ms INTEGER
);
CREATE TABLE containers (
  task_arn TEXT NOT NULL REFERENCES tasks (arn) ON DELETE CASCADE,
  name TEXT NOT NULL,
  ord INTEGER NOT NULL,
  desired_status TEXT NOT NULL,
  known_status TEXT NOT NULL,
  sent_status TEXT NOT NULL,
  docker_id TEXT,
  docker_name TEXT,
  image_id TEXT,
  exit_code INTEGER,
  reason TEXT,
  health TEXT NOT NULL,
  port_bindings TEXT NOT NULL,
  created_at_ms INTEGER,
  started_at_ms INTEGER,
  finished_at_ms INTEGER,
  PRIMARY KEY (task_arn, name)
);
CREATE INDEX containers_by_task_order ON containers (task_arn, ord);
CREATE TABLE images (
  image_id TEXT PRIMARY KEY,
  names TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  pulled_at_ms INTEGER NOT NULL,
  last_used_at_ms INTEGER NOT NULL,
  pull_succeeded INTEGER NOT NULL
);
CREATE TABLE volumes (
  name TEXT PRIMARY KEY,
  task_arn TEXT,
  scope TEXT NOT NULL,
  driver TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE INDEX volumes_by_task ON volumes (task_arn);
CREATE TABLE enis (
  attachment_arn TEXT PRIMARY KEY,
  mac_address TEXT NOT NULL,
  task_arn TEXT,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  sent INTEGER NOT NULL,
  eni TEXT NOT NULL
);
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  task_arn TEXT NOT NULL,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0
);
`;

/**
 * Version 2: the reporter looks up each task's oldest outbox entry on every wake (`outboxHeads`); without
 * this index each lookup would scan the whole outbox.
 */
const V2_OUTBOX_BY_TASK = 'CREATE INDEX outbox_by_task_seq ON outbox (task_arn, seq);';

/**
 * Version 3: host resource admission (issue 13, fact sheet 4.8). `admitted_at_ms` marks a task that holds its
 * CPU, memory and host ports in the ledger; `waiting_for` says what a task not yet admitted waits for. Tasks
 * already in the store were all started at once by earlier versions (no admission), so they count as
 * admitted from their creation: the ledger restored after the upgrade holds what they hold. The partial index
 * keeps finding the (usually empty) line cheap however many tasks the store holds.
 */
const V3_ADMISSION = `
ALTER TABLE tasks ADD COLUMN admitted_at_ms INTEGER;
ALTER TABLE tasks ADD COLUMN waiting_for TEXT;
UPDATE tasks SET admitted_at_ms = created_at_ms;
CREATE INDEX tasks_queued ON tasks (created_at_ms, arn) WHERE admitted_at_ms IS NULL AND known_status = 'NONE';
`;

/**
 * Version 4: image pulls (issue 12, fact sheet 7.1). One row per normalised image reference: the latest pull
 * (in flight with its progress, or how it ended) and the last success, which `ECS_IMAGE_PULL_BEHAVIOR=once`
 * asks about after restarts. A store from an older version simply has no pulls recorded: under `once` its
 * images are pulled once more, as a new upstream agent would.
 */
const V4_IMAGE_PULLS = `
CREATE TABLE image_pulls (
  ref TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  started_at_ms INTEGER NOT NULL,
  finished_at_ms INTEGER,
  current_bytes INTEGER NOT NULL,
  total_bytes INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  last_succeeded_at_ms INTEGER,
  image_id TEXT,
  reason TEXT,
  failure TEXT
);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: 'initial schema', sql: V1_INITIAL },
  { version: 2, description: 'outbox index by task', sql: V2_OUTBOX_BY_TASK },
  { version: 3, description: 'task admission columns', sql: V3_ADMISSION },
  { version: 4, description: 'image pulls', sql: V4_IMAGE_PULLS },
];

export const LATEST_SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

export interface MigrationResult {
  fromVersion: number;
  toVersion: number;
}

const SCHEMA_VERSION_DDL = `CREATE TABLE schema_version (
  version INTEGER PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at_ms INTEGER NOT NULL
)`;

function assertContiguous(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new StoreError(`migration list is not contiguous: position ${index} has version ${migration.version}`);
    }
  });
}

function hasTable(db: Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** The schema version of an open database: 0 for a database without a `schema_version` table. */
export function currentSchemaVersion(db: Database): number {
  if (!hasTable(db, 'schema_version')) return 0;
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_version').get() as { version: number | null };
  return row.version ?? 0;
}

/**
 * Brings `db` up to the last migration in `migrations`. Throws StoreError (terminal) for a newer database and
 * StoreCorruptError for a file that holds tables but no `schema_version` (not ours, or damaged).
 */
export function migrate(
  db: Database,
  nowMs: number,
  migrations: readonly Migration[] = MIGRATIONS,
  logger: Logger = silentLogger,
): MigrationResult {
  assertContiguous(migrations);
  const latest = migrations.length;
  if (!hasTable(db, 'schema_version')) {
    const other = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all();
    if (other.length > 0) {
      throw new StoreCorruptError('database has tables but no schema_version table; it is not an ecsd store', {
        context: { tables: (other as Array<{ name: string }>).map((row) => row.name) },
      });
    }
    db.exec(SCHEMA_VERSION_DDL);
  }
  const fromVersion = currentSchemaVersion(db);
  if (fromVersion > latest) {
    throw new StoreError(
      `database schema version ${fromVersion} is newer than this ecsd understands (${latest}); refusing to open it`,
      { errorClass: 'terminal', context: { schemaVersion: fromVersion, supportedVersion: latest } },
    );
  }
  const pending = migrations.slice(fromVersion);
  if (fromVersion === 0) {
    logger.info('store: creating the database schema', { toVersion: latest });
  } else if (pending.length > 0) {
    // An existing store changes shape: worth a line an operator sees, with what changes and why.
    logger.warn('store: migrating the database schema', {
      fromVersion,
      toVersion: latest,
      reason: `this ecsd needs schema version ${latest}: ${pending.map((m) => `${m.version} ${m.description}`).join('; ')}`,
    });
  }
  const record = db.prepare('INSERT INTO schema_version (version, description, applied_at_ms) VALUES (?, ?, ?)');
  for (const migration of pending) {
    try {
      db.transaction(() => {
        db.exec(migration.sql);
        record.run(migration.version, migration.description, nowMs);
      })();
    } catch (error) {
      // Damage found while migrating is still damage: let the opener quarantine it.
      if (isCorruptionError(error)) throw error;
      throw new StoreError(`schema migration ${migration.version} (${migration.description}) failed`, {
        cause: error,
        errorClass: 'terminal',
        context: { fromVersion, migration: migration.version },
      });
    }
  }
  return { fromVersion, toVersion: Math.max(fromVersion, latest) };
}
