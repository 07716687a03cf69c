/**
 * A read-only view of the store file for tools (`ecsd tasks`) that run beside — or instead of — the agent.
 * WAL lets it read while the agent writes. It never creates, migrates or quarantines anything: a missing
 * file is "no store", a schema this build does not match is a StoreError.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { StoreError } from '../errors.js';
import { type Logger, silentLogger } from '../logging/types.js';
import { currentSchemaVersion, LATEST_SCHEMA_VERSION } from './migrations.js';
import { DATABASE_FILE_NAME } from './open-database.js';
import type { DesiredStateStore } from './records.js';
import { fromSqliteError } from './sqlite-errors.js';
import { SqliteStore } from './sqlite-store.js';

export type ReadOnlyStore = Pick<
  DesiredStateStore,
  | 'durable'
  | 'getInstance'
  | 'getSequenceNumber'
  | 'getTask'
  | 'listTasks'
  | 'listContainers'
  | 'listAllContainers'
  | 'getImage'
  | 'listImages'
  | 'getImagePull'
  | 'listImagePulls'
  | 'listVolumes'
  | 'listEniAttachments'
  | 'peekOutbox'
  | 'outboxDepth'
  | 'close'
>;

/** Opens `<dataDir>/ecsd.db` read-only; undefined when there is no store there (never written). */
export function openStoreReadOnly(options: { dataDir: string; logger?: Logger }): ReadOnlyStore | undefined {
  const path = join(options.dataDir, DATABASE_FILE_NAME);
  if (!existsSync(path)) return undefined;
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const version = currentSchemaVersion(db);
    if (version === 0) {
      db.close();
      return undefined;
    }
    if (version !== LATEST_SCHEMA_VERSION) {
      throw new StoreError(
        `store schema version ${version} does not match this build (${LATEST_SCHEMA_VERSION}); start the agent to migrate it, or use a matching build`,
        { errorClass: 'terminal', context: { path, schemaVersion: version } },
      );
    }
    return new SqliteStore({
      db,
      durable: true,
      logger: options.logger ?? silentLogger,
      clock: { nowMs: Date.now },
      // The agent writes beside it: every read must see the file.
      soleWriter: false,
    });
  } catch (error) {
    db?.close();
    throw fromSqliteError(error, { path });
  }
}
