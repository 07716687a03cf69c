/**
 * Opening a SQLite connection ready for the store: file modes, pragmas, an integrity check and migrations.
 * Failures are sorted into two kinds, because the caller treats them differently:
 *  - StoreCorruptError: the file is damaged, not a database, not ours, or unreadable — quarantine it;
 *  - StoreError: anything else (a newer schema, a directory we cannot write) — a clear error, nothing moved.
 */
import { accessSync, chmodSync, closeSync, constants, existsSync, openSync, statSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import BetterSqlite3 from 'better-sqlite3';
import { errorMessage, isEcsdError, StoreCorruptError, StoreError } from '../errors.js';
import { migrate } from './migrations.js';
import { isCorruptionError } from './sqlite-errors.js';

/** The store file inside ECS_DATADIR (upstream's is agent.db; a different name so the two never collide). */
export const DATABASE_FILE_NAME = 'ecsd.db';

/** The store's files hold task environments and instance identity: owner-only, as upstream's agent.db (10). */
const FILE_MODE = 0o600;
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

/** Makes sure `path` exists with mode 0600; returns whether it existed with content before. */
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
    return statSync(path).size > 0;
  }
  closeSync(openSync(path, 'a', FILE_MODE));
  chmodSync(path, FILE_MODE);
  return false;
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

function openAndPrepare(location: string, durable: boolean, nowMs: number): Database {
  let db: Database | undefined;
  try {
    db = new BetterSqlite3(location);
    configure(db, durable);
    migrate(db, nowMs);
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

/** Opens (creating if missing) the store file at `path` in WAL mode, checked and migrated. */
export function openDatabaseFile(path: string, nowMs: number): Database {
  let existing: boolean;
  try {
    existing = prepareFile(path);
  } catch (error) {
    throw classify(error, path);
  }
  if (existing) probe(path);
  const db = openAndPrepare(path, true, nowMs);
  tightenCompanions(path);
  return db;
}

/** A private in-memory database (ECS_CHECKPOINT=false): nothing touches the disk. */
export function openMemoryDatabase(nowMs: number): Database {
  return openAndPrepare(':memory:', false, nowMs);
}
