/**
 * The store's cheap change signal: a generation counter bumped once per committed write (or outermost
 * transaction) and a bounded ring of what each generation touched. Loops remember the generation they last
 * reconciled at and ask `changesSince(g)`: the answer costs O(changes since g), never a table scan. When the
 * ring no longer reaches back to `g` the answer is 'all' and the caller falls back to a full relist — the
 * level-triggered loops are correct either way, the feed only saves work.
 */
import type { ChangeSkip, ChangesSince, StoreChange, StoreTable } from './records.js';

/** 4096 changes: minutes of a busy agent's writes, far more than one poll interval, for ~a few hundred KiB. */
export const DEFAULT_CHANGE_FEED_CAPACITY = 4096;

export class ChangeFeed {
  readonly #capacity: number;
  /** Circular buffer; the entry for generation g lives at index (g - 1) % capacity. */
  readonly #ring: Array<StoreChange | undefined>;
  #generation = 0;

  constructor(capacity: number = DEFAULT_CHANGE_FEED_CAPACITY) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`change feed capacity must be a positive integer, got ${capacity}`);
    }
    this.#capacity = capacity;
    this.#ring = new Array<StoreChange | undefined>(capacity);
  }

  get generation(): number {
    return this.#generation;
  }

  /** Records one committed change — per table, the tasks it touched — and returns it with its new generation. */
  record(taskArnsByTable: ReadonlyMap<StoreTable, ReadonlySet<string>>): StoreChange {
    this.#generation += 1;
    const tables = new Set(taskArnsByTable.keys());
    const taskArns = new Set<string>();
    for (const arns of taskArnsByTable.values()) for (const arn of arns) taskArns.add(arn);
    const change: StoreChange = { generation: this.#generation, tables, taskArns, taskArnsByTable };
    this.#ring[(this.#generation - 1) % this.#capacity] = change;
    return change;
  }

  /**
   * What changed after `generation` (exclusive) up to the current generation; with `only`, counting writes to
   * those tables alone; with `skip`, leaving out a task ARN where `skip(generation, arn)` says so (a loop's
   * own writes, see reconcilers/runtime/triggers.ts). A table counts when some ARN of it is left in, or when
   * its change names no task at all.
   */
  changesSince(generation: number, only?: readonly StoreTable[], skip?: ChangeSkip): ChangesSince {
    const current = this.#generation;
    if (generation === current) return { generation: current, taskArns: [], tables: [] };
    // A generation from the future (e.g. remembered across a restart, when the counter starts again at 0) or
    // one older than the ring's oldest entry cannot be answered exactly.
    const oldestKept = Math.max(1, current - this.#capacity + 1);
    if (!Number.isInteger(generation) || generation > current || generation + 1 < oldestKept) {
      return { generation: current, taskArns: 'all', tables: 'all' };
    }
    const tables = new Set<StoreTable>();
    const taskArns = new Set<string>();
    for (let g = generation + 1; g <= current; g++) {
      const change = this.#ring[(g - 1) % this.#capacity];
      if (change === undefined || change.generation !== g) {
        return { generation: current, taskArns: 'all', tables: 'all' };
      }
      for (const [table, arns] of change.taskArnsByTable) {
        if (only !== undefined && !only.includes(table)) continue;
        let counted = arns.size === 0;
        for (const arn of arns) {
          if (skip?.(g, arn)) continue;
          taskArns.add(arn);
          counted = true;
        }
        if (counted) tables.add(table);
      }
    }
    return { generation: current, taskArns: [...taskArns], tables: [...tables] };
  }
}
