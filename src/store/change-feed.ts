/**
 * The store's cheap change signal: a generation counter bumped once per committed write (or outermost
 * transaction) and a bounded ring of what each generation touched. Loops remember the generation they last
 * reconciled at and ask `changesSince(g)`: the answer costs O(changes since g), never a table scan. When the
 * ring no longer reaches back to `g` the answer is 'all' and the caller falls back to a full relist — the
 * level-triggered loops are correct either way, the feed only saves work.
 */
import type { ChangeSet, ChangesSince, StoreChange, StoreTable, WriteOrigin } from './records.js';

/** 4096 changes: minutes of a busy agent's writes, far more than one poll interval, for ~a few hundred KiB. */
export const DEFAULT_CHANGE_FEED_CAPACITY = 4096;

/** What one write touched in one table: the keys of its rows and the tasks owning them. */
export interface TouchedTable {
  keys: ReadonlySet<string>;
  taskArns: ReadonlySet<string>;
}

/** Accumulates changes into a ChangeSet. */
class ChangeSetBuilder {
  readonly tables = new Set<StoreTable>();
  readonly taskArns = new Set<string>();
  readonly keys = new Map<StoreTable, Set<string>>();

  add(table: StoreTable, touched: TouchedTable): void {
    this.tables.add(table);
    for (const arn of touched.taskArns) this.taskArns.add(arn);
    let keys = this.keys.get(table);
    if (keys === undefined) {
      keys = new Set();
      this.keys.set(table, keys);
    }
    for (const key of touched.keys) keys.add(key);
  }

  build(): ChangeSet {
    const keysByTable: Partial<Record<StoreTable, string[]>> = {};
    for (const [table, keys] of this.keys) keysByTable[table] = [...keys];
    return { taskArns: [...this.taskArns], tables: [...this.tables], keysByTable };
  }
}

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

  /**
   * Records one committed change — per table, the keys of the rows it touched and the tasks owning them —
   * with the reconcile that made it, and returns it with its new generation.
   */
  record(touched: ReadonlyMap<StoreTable, TouchedTable>, origin?: WriteOrigin): StoreChange {
    this.#generation += 1;
    const tables = new Set(touched.keys());
    const taskArns = new Set<string>();
    const taskArnsByTable = new Map<StoreTable, ReadonlySet<string>>();
    const keysByTable = new Map<StoreTable, ReadonlySet<string>>();
    for (const [table, entry] of touched) {
      taskArnsByTable.set(table, entry.taskArns);
      keysByTable.set(table, entry.keys);
      for (const arn of entry.taskArns) taskArns.add(arn);
    }
    const change: StoreChange = {
      generation: this.#generation,
      tables,
      taskArns,
      taskArnsByTable,
      keysByTable,
      ...(origin === undefined ? {} : { origin }),
    };
    this.#ring[(this.#generation - 1) % this.#capacity] = change;
    return change;
  }

  /**
   * What changed after `generation` (exclusive) up to the current generation; with `only`, counting writes to
   * those tables alone; with `ownLoop`, that loop's own writes answered apart in `own`, per origin key.
   */
  changesSince(generation: number, only?: readonly StoreTable[], ownLoop?: string): ChangesSince {
    const current = this.#generation;
    const empty = { generation: current, taskArns: [], tables: [], keysByTable: {} };
    if (generation === current) return ownLoop === undefined ? empty : { ...empty, own: new Map() };
    // A generation from the future (e.g. remembered across a restart, when the counter starts again at 0) or
    // one older than the ring's oldest entry cannot be answered exactly.
    const all: ChangesSince = { generation: current, taskArns: 'all', tables: 'all', keysByTable: 'all' };
    const oldestKept = Math.max(1, current - this.#capacity + 1);
    if (!Number.isInteger(generation) || generation > current || generation + 1 < oldestKept) return all;
    const others = new ChangeSetBuilder();
    const own = new Map<string, ChangeSetBuilder>();
    for (let g = generation + 1; g <= current; g++) {
      const change = this.#ring[(g - 1) % this.#capacity];
      if (change === undefined || change.generation !== g) return all;
      let into = others;
      if (ownLoop !== undefined && change.origin?.loop === ownLoop) {
        const key = change.origin.key;
        let builder = own.get(key);
        if (builder === undefined) {
          builder = new ChangeSetBuilder();
          own.set(key, builder);
        }
        into = builder;
      }
      for (const table of change.tables) {
        if (only !== undefined && !only.includes(table)) continue;
        into.add(table, {
          keys: change.keysByTable.get(table) ?? new Set(),
          taskArns: change.taskArnsByTable.get(table) ?? new Set(),
        });
      }
    }
    const answer: ChangesSince = { generation: current, ...others.build() };
    if (ownLoop !== undefined) {
      const ownSets = new Map<string, ChangeSet>();
      for (const [key, builder] of own) if (builder.tables.size > 0) ownSets.set(key, builder.build());
      answer.own = ownSets;
    }
    return answer;
  }
}
