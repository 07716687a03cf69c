/**
 * The client-go work-queue contract (k8s.io/client-go/util/workqueue), keyed by string, plus a bound:
 *
 * - `dirty` holds every key that needs work; a key is in `dirty` at most once, so duplicates collapse.
 * - `processing` holds keys handed out by `get()` and not yet `done()`. A key added while processing stays
 *   only in `dirty` and is queued again by `done()`: never worked by two workers at once, re-queued once.
 * - The ready queue holds at most `maxDepth` keys. Past that, `add` refuses (returns false, counted) and
 *   parks the key in an overflow set that drains into the queue as `get()` frees space, so nothing is lost
 *   and memory stays bounded by the number of distinct keys.
 * - `addAfter` keeps the earliest pending time per key; `addRateLimited` delays by the key's backoff.
 *
 * Non-blocking: `get()` returns undefined when nothing is ready and `onReady` says when to ask again; the
 * loop's bounded executor supplies the workers. Time comes from the injected clock only.
 */
import type { Clock } from '../../src/clock.js';
import { noopWorkQueueMetrics, type WorkQueueInFlight, type WorkQueueMetrics } from '../../src/metrics/workqueue.js';
import type { ItemBackoff } from './backoff.js';

export interface WorkQueueOptions {
  clock: Clock;
  /** Most keys waiting in the ready queue before adds push back. */
  maxDepth: number;
  backoff: ItemBackoff;
  metrics?: WorkQueueMetrics;
  /** Called (synchronously) when a key becomes ready; the caller should schedule a `get()`. */
  onReady?: () => void;
}

interface DelayedAdd {
  readyAtMs: number;
  timer: { cancel(): void };
}

export class WorkQueue {
  readonly #clock: Clock;
  readonly #maxDepth: number;
  readonly #backoff: ItemBackoff;
  readonly #metrics: WorkQueueMetrics;
  readonly #onReady: () => void;
  /** Ready keys in FIFO order (a Set iterates in insertion order). */
  readonly #queue = new Set<string>();
  /** Dirty keys refused by a full queue, FIFO. Non-empty only while the queue is full. */
  readonly #overflow = new Set<string>();
  readonly #dirty = new Set<string>();
  /** key → when `get()` handed it out. */
  readonly #processing = new Map<string, number>();
  /** key → when it became dirty, for the queue-duration histogram. */
  readonly #addedAtMs = new Map<string, number>();
  readonly #delayed = new Map<string, DelayedAdd>();
  #shuttingDown = false;

  constructor(options: WorkQueueOptions) {
    if (!(options.maxDepth >= 1)) throw new RangeError(`maxDepth must be >= 1 (got ${options.maxDepth})`);
    this.#clock = options.clock;
    this.#maxDepth = options.maxDepth;
    this.#backoff = options.backoff;
    this.#metrics = options.metrics ?? noopWorkQueueMetrics;
    this.#onReady = options.onReady ?? (() => {});
    this.#metrics.setInFlightProvider(() => this.inFlight());
  }

  /**
   * Mark `key` as needing work. Returns false when the queue is full and the key was parked in the overflow
   * set (it will still be worked), or when the queue is shutting down (it will not).
   */
  add(key: string): boolean {
    if (this.#shuttingDown) return false;
    if (this.#dirty.has(key)) {
      if (!this.#overflow.has(key)) return true;
      this.#metrics.incRejectedAdds();
      return false;
    }
    this.#dirty.add(key);
    this.#addedAtMs.set(key, this.#clock.nowMs());
    this.#metrics.incAdds();
    let accepted = true;
    if (this.#processing.has(key)) {
      // Re-queued by done(): the worker that holds it must finish first.
    } else if (this.#queue.size < this.#maxDepth) {
      this.#queue.add(key);
    } else {
      this.#overflow.add(key);
      this.#metrics.incRejectedAdds();
      accepted = false;
    }
    this.#publishDepth();
    if (accepted && this.#queue.has(key)) this.#onReady();
    return accepted;
  }

  /**
   * Add `key` after `delayMs`. A key already waiting keeps the earlier of the two times. Counted as a retry,
   * as client-go's delaying queue does for every AddAfter.
   */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    this.#metrics.incRetries();
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const readyAtMs = this.#clock.nowMs() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending !== undefined) {
      if (pending.readyAtMs <= readyAtMs) return;
      pending.timer.cancel();
    }
    const timer = this.#clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.#delayed.set(key, { readyAtMs, timer });
  }

  /** Add `key` after its exponential backoff; returns the delay chosen. */
  addRateLimited(key: string): number {
    const delayMs = this.#backoff.when(key);
    this.addAfter(key, delayMs);
    return delayMs;
  }

  /** Reset `key`'s backoff. */
  forget(key: string): void {
    this.#backoff.forget(key);
  }

  numRequeues(key: string): number {
    return this.#backoff.numRequeues(key);
  }

  /** The next ready key, now marked processing; undefined when none is ready. */
  get(): string | undefined {
    const next = this.#queue.values().next();
    if (next.done) return undefined;
    const key = next.value;
    const nowMs = this.#clock.nowMs();
    this.#queue.delete(key);
    this.#dirty.delete(key);
    this.#processing.set(key, nowMs);
    const addedAtMs = this.#addedAtMs.get(key);
    this.#addedAtMs.delete(key);
    if (addedAtMs !== undefined) this.#metrics.observeQueueSeconds((nowMs - addedAtMs) / 1000);
    this.#drainOverflow();
    this.#publishDepth();
    return key;
  }

  /** `key`'s worker finished. If it was added meanwhile, it is queued again (once). */
  done(key: string): void {
    const startedAtMs = this.#processing.get(key);
    if (startedAtMs === undefined) return;
    this.#processing.delete(key);
    this.#metrics.observeWorkSeconds((this.#clock.nowMs() - startedAtMs) / 1000);
    if (!this.#dirty.has(key)) return;
    if (this.#queue.size < this.#maxDepth) {
      this.#queue.add(key);
      this.#publishDepth();
      this.#onReady();
    } else {
      this.#overflow.add(key);
      this.#publishDepth();
    }
  }

  /** Refuse further adds and cancel pending delayed adds. Keys already queued stay (the owner stops asking). */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const pending of this.#delayed.values()) pending.timer.cancel();
    this.#delayed.clear();
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Keys that need work and are not being worked (ready + overflow + re-queued while processing). */
  get depth(): number {
    return this.#dirty.size;
  }

  get readyCount(): number {
    return this.#queue.size;
  }

  get overflowCount(): number {
    return this.#overflow.size;
  }

  get processingCount(): number {
    return this.#processing.size;
  }

  get delayedCount(): number {
    return this.#delayed.size;
  }

  isProcessing(key: string): boolean {
    return this.#processing.has(key);
  }

  /** Nothing needs work and nothing is being worked (delayed adds are not counted: they are future work). */
  isIdle(): boolean {
    return this.#dirty.size === 0 && this.#processing.size === 0;
  }

  inFlight(): WorkQueueInFlight {
    const nowMs = this.#clock.nowMs();
    let unfinishedMs = 0;
    let longestMs = 0;
    for (const startedAtMs of this.#processing.values()) {
      const runningMs = Math.max(0, nowMs - startedAtMs);
      unfinishedMs += runningMs;
      if (runningMs > longestMs) longestMs = runningMs;
    }
    return { unfinishedWorkSeconds: unfinishedMs / 1000, longestRunningProcessorSeconds: longestMs / 1000 };
  }

  #drainOverflow(): void {
    for (const key of this.#overflow) {
      if (this.#queue.size >= this.#maxDepth) break;
      this.#overflow.delete(key);
      this.#queue.add(key);
    }
  }

  #publishDepth(): void {
    // client-go's depth counts every dirty key, including ones re-queued while processing.
    this.#metrics.setDepth(this.#dirty.size);
    this.#metrics.setOverflowKeys(this.#overflow.size);
  }
}
