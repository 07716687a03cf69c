/**
 * Transactions and change notification. Every store write runs inside `run()`, which wraps better-sqlite3's
 * transaction function: an outer call is BEGIN IMMEDIATE…COMMIT, a nested call a SAVEPOINT that joins the
 * outer transaction (and rolls back alone if it throws and the caller catches). Writes record what they
 * touched in the innermost frame; a frame that commits merges into its parent, one that throws is dropped.
 * Only when the outermost frame commits is the change recorded in the feed (one generation) and announced to
 * listeners — so nothing fires on rollback, and a listener never sees an uncommitted state.
 *
 * Each committed change carries its origin: the loop and key whose reconcile made it. Writes are synchronous
 * (better-sqlite3), so the origin is a plain field set for the duration of one synchronous call
 * (`withOrigin`); the loop runtime hands each action a store view that wraps every call that way
 * (`SqliteStore.writerFor`), so the attribution does not depend on where a write falls inside an action.
 * Not an AsyncLocalStorage: on Node 20 one turns on promise hooks for every promise of the process, which
 * cost ~11 % of the agent's CPU in the 50-task benchmark. Listeners run outside any origin, so work they
 * start is never attributed to the writer.
 */
import type { Database, Transaction } from 'better-sqlite3';
import { errorMessage, InternalError } from '../errors.js';
import type { Logger } from '../logging/types.js';
import type { ChangeFeed } from './change-feed.js';
import { type StoreChange, type StoreTable, TASK_KEYED_TABLES, type WriteOrigin } from './records.js';
import { fromSqliteError } from './sqlite-errors.js';

interface Touched {
  keys: Set<string>;
  taskArns: Set<string>;
}

interface Frame {
  /** Per table written, the row keys and owning tasks touched (empty sets for a write with no key). */
  touched: Map<StoreTable, Touched>;
  afterCommit: Array<() => void>;
}

export type ChangeListener = (change: StoreChange) => void;

export class WriteTracker {
  readonly #feed: ChangeFeed;
  readonly #logger: Logger;
  readonly #transaction: Transaction<(fn: () => unknown) => unknown>;
  readonly #frames: Frame[] = [];
  readonly #listeners = new Set<ChangeListener>();
  #origin: WriteOrigin | undefined;

  readonly #onTouch: ((table: StoreTable, taskArn: string | null | undefined) => void) | undefined;

  /** `onTouch` hears every `touch` as it happens, inside the transaction (the store's row cache forgets). */
  constructor(
    db: Database,
    feed: ChangeFeed,
    logger: Logger,
    onTouch?: (table: StoreTable, taskArn: string | null | undefined) => void,
  ) {
    this.#feed = feed;
    this.#logger = logger;
    this.#onTouch = onTouch;
    this.#transaction = db.transaction((fn: () => unknown) => fn());
  }

  run<T>(fn: () => T): T {
    const frame: Frame = { touched: new Map(), afterCommit: [] };
    this.#frames.push(frame);
    let result: T;
    try {
      // IMMEDIATE takes the write lock up front, so a read-then-write never fails half way with SQLITE_BUSY.
      result = this.#transaction.immediate(fn) as T;
    } catch (error) {
      throw fromSqliteError(error);
    } finally {
      this.#frames.pop();
    }
    const parent = this.#frames[this.#frames.length - 1];
    if (parent !== undefined) {
      for (const [table, touched] of frame.touched) {
        const into = parent.touched.get(table);
        if (into === undefined) {
          parent.touched.set(table, touched);
          continue;
        }
        for (const key of touched.keys) into.keys.add(key);
        for (const arn of touched.taskArns) into.taskArns.add(arn);
      }
      parent.afterCommit.push(...frame.afterCommit);
    } else {
      this.#committed(frame);
    }
    return result;
  }

  /**
   * Notes that the current write changed the row of `table` known by `key` (see TASK_KEYED_TABLES), owned by
   * task `taskArn` where it belongs to one. For task-keyed tables the key is the task ARN and the owner too.
   */
  touch(table: StoreTable, key?: string | null, taskArn?: string | null): void {
    const frame = this.#frames[this.#frames.length - 1];
    if (frame === undefined) throw new InternalError('store write outside a transaction');
    const owner = TASK_KEYED_TABLES.has(table) ? key : taskArn;
    this.#onTouch?.(table, owner);
    let touched = frame.touched.get(table);
    if (touched === undefined) {
      touched = { keys: new Set(), taskArns: new Set() };
      frame.touched.set(table, touched);
    }
    if (key !== undefined && key !== null && key !== '') touched.keys.add(key);
    if (owner !== undefined && owner !== null && owner !== '') touched.taskArns.add(owner);
  }

  /**
   * Runs `fn` with every write it commits attributed to `origin`. Store calls are synchronous (and
   * better-sqlite3 refuses a transaction function that returns a promise), so the origin cannot outlive them.
   */
  withOrigin<T>(origin: WriteOrigin | undefined, fn: () => T): T {
    const outer = this.#origin;
    this.#origin = origin;
    try {
      return fn();
    } finally {
      this.#origin = outer;
    }
  }

  /** Runs `hook` once the outermost transaction has committed (never on rollback). */
  afterCommit(hook: () => void): void {
    const frame = this.#frames[this.#frames.length - 1];
    if (frame === undefined) throw new InternalError('afterCommit outside a transaction');
    frame.afterCommit.push(hook);
  }

  onChange(listener: ChangeListener): () => void {
    // Wrap so the same function can subscribe twice and unsubscribe each independently.
    const entry: ChangeListener = (change) => listener(change);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  #committed(frame: Frame): void {
    for (const hook of frame.afterCommit) {
      try {
        hook();
      } catch (error) {
        this.#logger.error('store: post-commit step failed', { error: errorMessage(error) });
      }
    }
    if (frame.touched.size === 0) return;
    const change = this.#feed.record(frame.touched, this.#origin);
    // Outside the writer's origin: whatever a listener starts (a poll, a reporter wake) is not its write.
    this.withOrigin(undefined, () => this.#notify(change));
  }

  #notify(change: StoreChange): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (error) {
        // A broken listener must not break the write that already committed, nor the other listeners.
        this.#logger.error('store: change listener threw', {
          error: errorMessage(error),
          generation: change.generation,
        });
      }
    }
  }
}
