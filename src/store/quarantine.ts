/**
 * Moving a damaged database aside. The files are renamed, never deleted: the operator may want to recover
 * from them, and an agent that deletes its own state on a hiccup is worse than one that stops. The WAL and
 * shared-memory files move with the main file (same suffix) because a WAL replayed against a different main
 * file would corrupt the fresh one.
 */
import { existsSync, renameSync } from 'node:fs';
import { StoreError } from '../errors.js';

const COMPANION_SUFFIXES = ['-wal', '-shm', '-journal'] as const;

/** `YYYYMMDDTHHMMSSZ` (UTC), sortable and free of characters that need quoting in a shell. */
export function quarantineTimestamp(nowMs: number): string {
  return new Date(nowMs)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll('-', '')
    .replaceAll(':', '');
}

/** The suffix to use: `.corrupt-<stamp>`, or `.corrupt-<stamp>-<n>` when that name is already taken. */
function freeSuffix(dbPath: string, stamp: string): string {
  const taken = (suffix: string) =>
    existsSync(`${dbPath}${suffix}`) ||
    COMPANION_SUFFIXES.some((companion) => existsSync(`${dbPath}${companion}${suffix}`));
  let suffix = `.corrupt-${stamp}`;
  for (let attempt = 1; taken(suffix); attempt++) suffix = `.corrupt-${stamp}-${attempt}`;
  return suffix;
}

/**
 * Renames `dbPath` (and its -wal/-shm/-journal companions, when present) to `<name>.corrupt-<stamp>`.
 * Returns the new path of the main file. Throws StoreError (terminal) when the main file cannot be moved.
 */
export function quarantineDatabaseFiles(dbPath: string, nowMs: number): string {
  const suffix = freeSuffix(dbPath, quarantineTimestamp(nowMs));
  const target = `${dbPath}${suffix}`;
  try {
    renameSync(dbPath, target);
  } catch (error) {
    throw new StoreError(`cannot move the damaged database ${dbPath} aside`, {
      cause: error,
      errorClass: 'terminal',
      context: { path: dbPath, target },
    });
  }
  for (const companion of COMPANION_SUFFIXES) {
    const path = `${dbPath}${companion}`;
    if (!existsSync(path)) continue;
    try {
      renameSync(path, `${path}${suffix}`);
    } catch (error) {
      throw new StoreError(`cannot move ${path} aside`, {
        cause: error,
        errorClass: 'terminal',
        context: { path, target: `${path}${suffix}` },
      });
    }
  }
  return target;
}
