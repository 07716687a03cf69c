/**
 * What the local source does when a store write fails (a full disk above all): the reason as a closed
 * metric label, and the delay before the next attempt. Nothing is marked handled until a write commits,
 * so a retry simply syncs the directory again.
 */
import { EcsdError } from '../../errors.js';
import type { StoreWriteErrorReason } from '../../metrics/registry.js';

/** First retry after 1 s, doubling to at most 60 s: no tight loop against a full disk, no long wait after it. */
export const STORE_RETRY_BASE_MS = 1_000;
export const STORE_RETRY_MAX_MS = 60_000;

/** The metric reason of a failed store write; undefined when the error did not come from the store. */
export function storeWriteErrorReason(error: unknown): StoreWriteErrorReason | undefined {
  if (!(error instanceof EcsdError)) return undefined;
  if (error.code === 'StoreCorruptError') return 'corrupt';
  if (error.code !== 'StoreError') return undefined;
  const sqliteCode = error.context['sqliteCode'];
  if (sqliteCode === 'SQLITE_FULL') return 'disk_full';
  if (typeof sqliteCode === 'string' && sqliteCode.startsWith('SQLITE_IOERR')) return 'io';
  return 'other';
}

/** Delay before retry number `attempt` (1 = the first retry). */
export function storeRetryDelayMs(attempt: number, baseMs = STORE_RETRY_BASE_MS, maxMs = STORE_RETRY_MAX_MS): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}
