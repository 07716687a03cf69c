/**
 * The reporter's view of the outbox heads (each task's oldest entry), kept in memory: one scan of the whole
 * outbox when the reporter starts, then, on each look, one indexed lookup per task whose entries the store's
 * change feed says were written since. Scanning the outbox on every wake cost a walk of every pending entry
 * per store commit that touched it — quadratic in a burst's size.
 *
 * The store stays the truth: every outbox write touches the `outbox` table with the entry's task ARN as the
 * key, and a change without keys, or a scan that hit its window (more pending tasks than it returns), falls
 * back to scanning again on the next look.
 */
import type { DesiredStateStore, OutboxHead, StoreChange } from '../store/records.js';

export class OutboxHeadIndex {
  private readonly heads = new Map<string, OutboxHead>();
  private readonly dirty = new Set<string>();
  private rescan = true;

  constructor(
    private readonly store: Pick<DesiredStateStore, 'outboxHeads' | 'outboxHeadOf'>,
    /** At most this many heads are read by a scan (see `current`). */
    private readonly scanWindow: number,
  ) {}

  /** Notes which tasks' heads a committed change may have moved. */
  noteChange(change: StoreChange): void {
    if (!change.tables.has('outbox')) return;
    const keys = change.keysByTable.get('outbox');
    if (keys === undefined || keys.size === 0) {
      this.rescan = true;
      return;
    }
    for (const taskArn of keys) this.dirty.add(taskArn);
  }

  /** Every known head, oldest first. */
  current(): OutboxHead[] {
    if (this.rescan) {
      const scanned = this.store.outboxHeads(this.scanWindow);
      this.heads.clear();
      this.dirty.clear();
      for (const head of scanned) this.heads.set(head.taskArn, head);
      // A full window may have left tasks out: look again next time, until a scan sees every pending task.
      this.rescan = scanned.length >= this.scanWindow;
      return scanned;
    }
    for (const taskArn of this.dirty) {
      const head = this.store.outboxHeadOf(taskArn);
      if (head === undefined) this.heads.delete(taskArn);
      else this.heads.set(taskArn, head);
    }
    this.dirty.clear();
    return [...this.heads.values()].sort((a, b) => a.seq - b.seq);
  }
}
