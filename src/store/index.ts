/**
 * Opening the desired-state store: `<dataDir>/ecsd.db` in WAL mode when checkpointing (ECS_CHECKPOINT), a
 * private in-memory database otherwise (upstream: nothing persisted, a new instance every start, fact sheet 10).
 *
 * A damaged or unreadable database file does not stop the agent: it is moved aside with a timestamp (never
 * deleted), an error names it, and the agent starts empty — keeping its container instance identity from the
 * side file so it re-registers as the same instance. A database from a newer ecsd is not damage: that is a
 * StoreError and nothing is moved.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { errorMessage, StoreCorruptError, StoreError } from '../errors.js';
import type { Logger } from '../logging/types.js';
import { InstanceIdentityFile } from './instance-identity-file.js';
import { DATABASE_FILE_NAME, openDatabaseFile, openMemoryDatabase } from './open-database.js';
import { quarantineDatabaseFiles } from './quarantine.js';
import type { DesiredStateStore } from './records.js';
import { SqliteStore } from './sqlite-store.js';

export { DEFAULT_CHANGE_FEED_CAPACITY } from './change-feed.js';
export { INSTANCE_IDENTITY_FILE_NAME } from './instance-identity-file.js';
export { LATEST_SCHEMA_VERSION } from './migrations.js';
export { DATABASE_FILE_NAME } from './open-database.js';
export { openStoreReadOnly, type ReadOnlyStore } from './read-only.js';
export type { DesiredStateStore } from './records.js';

export interface OpenStoreOptions {
  dataDir: string;
  /** ECS_CHECKPOINT: on disk when true, in memory when false. */
  checkpoint: boolean;
  logger: Logger;
  clock?: { nowMs(): number };
  /** Entries kept by the change feed; default DEFAULT_CHANGE_FEED_CAPACITY (4096). */
  changeFeedCapacity?: number;
  /** False when something else writes the file while this store is open (see SqliteStoreOptions). */
  soleWriter?: boolean;
}

export interface OpenedStore {
  store: DesiredStateStore;
  /** Where a damaged database was moved this start, if one was. */
  quarantinedPath?: string;
  /** The database file; absent in memory mode. */
  path?: string;
}

const systemNow = { nowMs: () => Date.now() };

export function openStore(options: OpenStoreOptions): OpenedStore {
  const clock = options.clock ?? systemNow;
  const logger = options.logger.child({ module: 'store' });
  if (!options.checkpoint) {
    const db = openMemoryDatabase(clock.nowMs());
    logger.debug('store: in memory (checkpointing off)');
    const store = new SqliteStore({ db, durable: false, logger, clock, ...tuning(options) });
    return { store };
  }

  ensureDataDir(options.dataDir);
  const path = join(options.dataDir, DATABASE_FILE_NAME);
  const { db, quarantinedPath } = openOrQuarantine(path, clock, logger);
  const identityFile = new InstanceIdentityFile(options.dataDir, logger);
  const store = new SqliteStore({ db, durable: true, logger, clock, identityFile, ...tuning(options) });
  try {
    syncIdentity(store, identityFile, logger);
  } catch (error) {
    store.close();
    throw error;
  }
  logger.info('store: opened', { path });
  return quarantinedPath === undefined ? { store, path } : { store, path, quarantinedPath };
}

function tuning(options: OpenStoreOptions): { changeFeedCapacity?: number; soleWriter?: boolean } {
  return {
    ...(options.changeFeedCapacity === undefined ? {} : { changeFeedCapacity: options.changeFeedCapacity }),
    ...(options.soleWriter === undefined ? {} : { soleWriter: options.soleWriter }),
  };
}

function ensureDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StoreError(`cannot create the data directory ${dataDir}`, {
      cause: error,
      errorClass: 'terminal',
      context: { path: dataDir },
    });
  }
}

function openOrQuarantine(
  path: string,
  clock: { nowMs(): number },
  logger: Logger,
): { db: Database; quarantinedPath?: string } {
  try {
    return { db: openDatabaseFile(path, clock.nowMs(), logger) };
  } catch (error) {
    if (!(error instanceof StoreCorruptError)) throw error;
    const quarantinedPath = quarantineDatabaseFiles(path, clock.nowMs());
    logger.error('store: database is damaged or unreadable; moved it aside and starting with an empty store', {
      path,
      quarantinedPath,
      cause: errorMessage(error),
      ...error.context,
    });
    // A second failure on a brand-new file is not the old file's fault: let it surface as it is.
    return { db: openDatabaseFile(path, clock.nowMs(), logger), quarantinedPath };
  }
}

/**
 * Keeps the database and the identity side file in step: a database without an instance row takes the
 * identity from the file (the quarantine case, or a database removed by hand); one with a row refreshes the
 * file (written by an older build, or lost).
 */
function syncIdentity(store: DesiredStateStore, identityFile: InstanceIdentityFile, logger: Logger): void {
  const current = store.getInstance();
  if (current !== undefined) {
    try {
      identityFile.write(current);
    } catch (error) {
      // The database holds the identity; a missing mirror only matters after a future quarantine.
      logger.warn('store: cannot refresh the instance identity file', {
        path: identityFile.path,
        error: errorMessage(error),
      });
    }
    return;
  }
  const saved = identityFile.read();
  if (saved === undefined) return;
  store.saveInstance(saved);
  // Only a store that lost its state (quarantined, or the file removed) has no instance but a side file.
  logger.warn('store: restored the container instance identity from the side file', {
    reason: 'the database holds no instance: it was quarantined or removed, and its tasks are gone',
    path: identityFile.path,
    cluster: saved.cluster,
    containerInstanceArn: saved.containerInstanceArn,
  });
}
