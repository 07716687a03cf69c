/**
 * Turning better-sqlite3's SqliteError into the agent's typed errors, so callers above the store see a
 * StoreError (transient: retried by the loop runtime) or a StoreCorruptError (terminal), never a driver type.
 */
import BetterSqlite3 from 'better-sqlite3';
import { errorMessage, StoreCorruptError, StoreError } from '../errors.js';

/** SQLITE_NOTADB ("file is not a database") and every SQLITE_CORRUPT* extended code. */
export function isCorruptionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'));
}

/** A typed error for a SqliteError; anything else (a caller's own error in a transaction) is returned as is. */
export function fromSqliteError(error: unknown, context: Record<string, unknown> = {}): unknown {
  if (!(error instanceof BetterSqlite3.SqliteError)) return error;
  const options = { cause: error, context: { ...context, sqliteCode: error.code } };
  return isCorruptionError(error)
    ? new StoreCorruptError(`database is damaged: ${errorMessage(error)}`, options)
    : new StoreError(`database operation failed: ${errorMessage(error)}`, options);
}
