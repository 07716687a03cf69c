/**
 * Opening a SQLite connection ready for the store: file modes, pragmas, an integrity check and migrations.
 * Failures are sorted into two kinds, because the caller treats them differently:
 *  - StoreCorruptError: the file is damaged, not a database, not ours, or unreadable — quarantine it;
 *  - StoreError: anything else (a newer schema, a directory we cannot write) — a clear error, nothing moved.
 * Nothing here resets state without a log line: an empty (truncated) file is damage like any other and is
 * quarantined by the caller, which logs it; a migration and a tightened mode log at warn.
 */
import { accessSync, chmodSync, closeSync, constants, existsSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import BetterSqlite3 from 'better-sqlite3';
import { errorMessage, isEcsdError, StoreCorruptError, StoreError } from '../errors.js';
import { type Logger, silentLogger } from '../logging/types.js';
import { migrate } from './migrations.js';
import { isCorruptionError } from './sqlite-errors.js';

/** The store file inside ECS_DATADIR (upstream's is agent.db; a different name so the two never collide). */
export const DATABASE_FILE_NAME = 'ecsd.db';

/** The store's files hold task environments and instance identity: owner-only, as upstream's agent.db (10). */
const FILE_MODE = 0o600;
/**
 * The data directory: owner-only. Upstream's /var/lib/ecs/data is root-only; whoever can write here can
 * swap the database and so choose what the agent runs, and whoever can read it reads task environments.
 */
export const DATA_DIR_MODE = 0o700;
/** A second connection (an operator's sqlite3 shell) may hold a lock briefly; wait rather than fail. */
const BUSY_TIMEOUT_MS = 5000;

function configure(db: Database, durable: boolean): void {
  if (durable) {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new StoreError(`cannot switch the database to WAL mode (got ${String(mode)})`);
    // NORMAL in WAL mode: a commit survives the agent crashing or being SIGKILLed (the failure an agent
    // actually meets); only a power cut can lose the last commits, and then every container is gone too —
    // on restart the agent re-observes Docker and reports those containers STOPPED, so no change is lost
    // in effect. FULL fsynced every commit and blocked the event loop ~5 ms per write: in the 50-task
    // benchmark it was the single largest CPU/latency cost of the agent.
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
}

function checkIntegrity(db: Database): void {
  const result = db.pragma('quick_check', { simple: true });
  if (result !== 'ok') {
    throw new StoreCorruptError(`database integrity check failed: ${String(result)}`);
  }
}

/**
 * Makes sure `path` exists with mode 0600; returns whether it existed before. An existing file of 0 bytes
 * with no WAL to replay holds nothing SQLite could read: it was truncated (or its creation was cut short),
 * and opening it would silently start an empty store — so it is damage, quarantined with a logged reason.
 */
function prepareFile(path: string): boolean {
  if (existsSync(path)) {
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch (error) {
      throw new StoreCorruptError(`database file is not readable and writable: ${errorMessage(error)}`, {
        cause: error,
        context: { path },
      });
    }
    // Tighten a mode loosened by hand; SQLite then creates -wal/-shm with the same mode.
    chmodSync(path, FILE_MODE);
    if (statSync(path).size === 0 && sizeOf(`${path}-wal`) === 0) {
      throw new StoreCorruptError('database file is empty (0 bytes) and there is no WAL: it was truncated', {
        context: { path },
      });
    }
    return true;
  }
  closeSync(openSync(path, 'a', FILE_MODE));
  chmodSync(path, FILE_MODE);
  return false;
}

function sizeOf(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/** An existing data directory looser than 0700 is tightened, and the change logged (README: data directory). */
function tightenDataDir(dir: string, logger: Logger): void {
  const previous = statSync(dir).mode & 0o777;
  if ((previous & ~DATA_DIR_MODE) === 0) return;
  chmodSync(dir, DATA_DIR_MODE);
  logger.warn('store: the data directory was readable or writable by others; tightened it to owner-only', {
    path: dir,
    previousMode: previous.toString(8),
    mode: DATA_DIR_MODE.toString(8),
  });
}

function tightenCompanions(path: string): void {
  for (const companion of [`${path}-wal`, `${path}-shm`]) {
    if (existsSync(companion)) chmodSync(companion, FILE_MODE);
  }
}

function classify(error: unknown, path: string): Error {
  if (isEcsdError(error)) {
    if (error.context.path === undefined) error.context.path = path;
    return error;
  }
  if (isCorruptionError(error)) {
    return new StoreCorruptError(`database file is damaged: ${errorMessage(error)}`, {
      cause: error,
      context: { path },
    });
  }
  return new StoreError(`cannot open the database: ${errorMessage(error)}`, {
    cause: error,
    errorClass: 'terminal',
    context: { path },
  });
}

function openAndPrepare(location: string, durable: boolean, nowMs: number, logger: Logger): Database {
  let db: Database | undefined;
  try {
    db = new BetterSqlite3(location);
    configure(db, durable);
    migrate(db, nowMs, undefined, logger);
    return db;
  } catch (error) {
    db?.close();
    throw classify(error, location);
  }
}

/**
 * The integrity check runs on a read-only connection first: closing a read-write connection to a WAL database
 * checkpoints the WAL into the main file and deletes it, which would change a damaged file before it is moved
 * aside. A read-only connection leaves every file exactly as found.
 */
function probe(path: string): void {
  let db: Database | undefined;
  try {
    db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    checkIntegrity(db);
  } catch (error) {
    throw classify(error, path);
  } finally {
    db?.close();
  }
}

/**
 * Opens (creating if missing) the store file at `path` in WAL mode, checked and migrated. Its directory is
 * tightened to 0700 and the files to 0600 on the way, each change logged on `logger`.
 */
export function openDatabaseFile(path: string, nowMs: number, logger: Logger = silentLogger): Database {
  let existing: boolean;
  try {
    tightenDataDir(dirname(path), logger);
    existing = prepareFile(path);
  } catch (error) {
    throw classify(error, path);
  }
  if (existing) probe(path);
  const db = openAndPrepare(path, true, nowMs, logger.child({ path }));
  tightenCompanions(path);
  return db;
}

/** A private in-memory database (ECS_CHECKPOINT=false): nothing touches the disk. */
export function openMemoryDatabase(nowMs: number): Database {
  return openAndPrepare(':memory:', false, nowMs, silentLogger);
}
