/**
 * What makes a loop look at a key: the store's change feed (polled on a short interval and right after
 * every store write), and a periodic full resync with ±10 % jitter so loops started together do not resync
 * together. The feed is level-triggered input: it says which keys may differ, never what to do.
 *
 * Keys held after a terminal error ("parked") are skipped by the resync and released only by a change
 * made after they failed; a write the failing reconcile made itself does not count (see `#changedAfter`).
 *
 * A loop's own writes: the feed answers them apart, per the key whose reconcile made them (the write origin
 * the runtime sets around each reconcile). They wake every key they map to except that one — the reconcile
 * that made them decides itself whether its key needs another look (see loop.ts outcome rules).
 *
 * A loop that declares `watchedTables` sees only writes to those tables: others do not schedule a poll, and
 * the feed is asked for the watched tables' changes alone — so e.g. the reporter's sent-status acks (the
 * logical table `sent`) cost the containers loop nothing.
 */
import type { Clock } from '../../src/clock.js';
import { errorMessage } from '../../src/errors.js';
import type { Logger } from '../../src/logging/types.js';
import type { ChangesSince, StoreChange, StoreTable } from '../../src/store/records.js';
import { runSoon } from '../../src/util/microtask.js';
import { type ScheduledJob, scheduleJob } from './schedule.js';
import type { LoopChange, LoopDeps } from './types.js';

/** Resync periods vary by ±10 % (client-go's informers jitter resyncs similarly). */
export const RESYNC_JITTER_FRACTION = 0.1;

export interface TriggerOptions {
  store: LoopDeps['store'];
  clock: Clock;
  logger: Logger;
  pollIntervalMs: number;
  resyncIntervalMs: number;
  random: () => number;
  /** The loop's name: writes whose origin is this loop are answered apart by the feed. */
  loop: string;
  /** Only writes to these tables wake the loop and reach keysForChange; absent: every table. */
  watchedTables?: readonly StoreTable[] | undefined;
  keys(): Iterable<string>;
  keysForChange(change: LoopChange): Iterable<string>;
  enqueue(key: string): void;
}

export class Triggers {
  readonly #options: TriggerOptions;
  /** key → store generation when its terminal error was recorded. */
  readonly #parked = new Map<string, number>();
  #lastGeneration = 0;
  #pollTimer: { cancel(): void } | undefined;
  #resyncJob: ScheduledJob | undefined;
  #unsubscribe: (() => void) | undefined;
  #pollSoonPending = false;
  #running = false;

  constructor(options: TriggerOptions) {
    this.#options = options;
  }

  /** Begin: remember the feed position, resync everything, then poll and resync on timers. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#lastGeneration = this.#options.store.generation();
    this.resync();
    this.#unsubscribe = this.#options.store.onChange((change) => {
      if (this.#watches(change)) this.#pollSoon();
    });
    this.#schedulePoll();
    // An interval, not a wall-clock time: a timer job (schedule.ts), jittered so loops started together
    // do not resync together.
    const { resyncIntervalMs, clock, logger, random } = this.#options;
    this.#resyncJob = scheduleJob(
      'resync',
      { everyMs: resyncIntervalMs, jitterFraction: RESYNC_JITTER_FRACTION },
      () => this.resync(),
      { clock, logger, random },
    );
    this.#resyncJob.start();
  }

  stop(): void {
    this.#running = false;
    this.#pollTimer?.cancel();
    void this.#resyncJob?.stop();
    this.#unsubscribe?.();
    this.#pollTimer = undefined;
    this.#resyncJob = undefined;
    this.#unsubscribe = undefined;
  }

  /** Hold `key` after a terminal error until something changes it. */
  park(key: string): void {
    this.#parked.set(key, this.#options.store.generation());
  }

  unpark(key: string): void {
    this.#parked.delete(key);
  }

  isParked(key: string): boolean {
    return this.#parked.has(key);
  }

  /** Enqueue every key that is not parked. */
  resync(): void {
    try {
      for (const key of this.#options.keys()) {
        if (!this.#parked.has(key)) this.#options.enqueue(key);
      }
    } catch (error) {
      this.#options.logger.error('listing keys for resync failed', { error: errorMessage(error) });
    }
  }

  /** Read the change feed once and enqueue the keys it names. Returns how many keys were enqueued. */
  poll(): number {
    const { store, logger } = this.#options;
    try {
      if (store.generation() === this.#lastGeneration) return 0;
      const windowStart = this.#lastGeneration;
      const changes = this.#changesSince(windowStart);
      if (changes.tables !== 'all' && changes.tables.length === 0 && (changes.own?.size ?? 0) === 0) {
        // Only tables this loop does not watch: move past them without asking for keys.
        this.#advanceTo(changes.generation);
        return 0;
      }
      const changedAfterCache = new Map<number, ReadonlySet<string>>();
      let enqueued = 0;
      for (const key of this.#keysOf(changes)) {
        const parkedAt = this.#parked.get(key);
        if (parkedAt !== undefined) {
          if (parkedAt > windowStart && !this.#changedAfter(parkedAt, changedAfterCache).has(key)) continue;
          this.#parked.delete(key);
        }
        this.#options.enqueue(key);
        enqueued += 1;
      }
      // Advance only after every key was handed over, so a failure re-reads the same window next time.
      this.#advanceTo(changes.generation);
      return enqueued;
    } catch (error) {
      logger.error('reading the store change feed failed', { error: errorMessage(error) });
      return 0;
    }
  }

  #advanceTo(generation: number): void {
    this.#lastGeneration = generation;
  }

  /** The loop's keys a feed answer names: others' writes, and its own writes except for their origin key. */
  #keysOf(changes: ChangesSince): Set<string> {
    const { keysForChange } = this.#options;
    const keys = new Set<string>();
    const others = changes.tables === 'all' || changes.tables.length > 0;
    if (others) {
      for (const key of keysForChange({
        keysByTable: changes.keysByTable,
        taskArns: changes.taskArns,
        tables: changes.tables,
      })) {
        keys.add(key);
      }
    }
    for (const [originKey, own] of changes.own ?? []) {
      for (const key of keysForChange(own)) if (key !== originKey) keys.add(key);
    }
    return keys;
  }

  /**
   * Keys changed after generation `since`. A key parked at generation P appears in a window that started
   * before P only because of writes up to P (possibly its own failing reconcile's); ask the feed again from P.
   */
  #changedAfter(since: number, cache: Map<number, ReadonlySet<string>>): ReadonlySet<string> {
    let keys = cache.get(since);
    if (keys === undefined) {
      keys = this.#keysOf(this.#changesSince(since));
      cache.set(since, keys);
    }
    return keys;
  }

  #changesSince(generation: number): ChangesSince {
    const { store, watchedTables } = this.#options;
    return store.changesSince(generation, watchedTables, this.#options.loop);
  }

  /** Whether a committed write touched a watched table (every write does when the loop watches all). */
  #watches(change: StoreChange): boolean {
    const { watchedTables } = this.#options;
    return watchedTables === undefined || watchedTables.some((table) => change.tables.has(table));
  }

  /** Store writes call back synchronously (maybe mid-transaction): poll once the writer's turn is over. */
  #pollSoon(): void {
    if (this.#pollSoonPending || !this.#running) return;
    this.#pollSoonPending = true;
    runSoon(() => {
      this.#pollSoonPending = false;
      if (this.#running) this.poll();
    });
  }

  #schedulePoll(): void {
    this.#pollTimer = this.#options.clock.setTimeout(() => {
      if (!this.#running) return;
      this.poll();
      this.#schedulePoll();
    }, this.#options.pollIntervalMs);
  }
}
