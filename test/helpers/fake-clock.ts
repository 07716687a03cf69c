/**
 * A manual clock for tests of timing behaviour (backoff, requeueAfter, polling, resync, shutdown deadlines).
 * Time moves only through `advance`/`advanceAsync`/`runNext`; timers fire in due order (ties in creation
 * order), each seeing `nowMs()` equal to its due time.
 */
import type { Clock } from '../../src/clock.js';

interface FakeTimer {
  seq: number;
  dueMs: number;
  fn: () => void;
}

/** Let pending promise callbacks and microtasks run (several macrotask turns, for chains of awaits). */
export async function flushAsync(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  #nowMs: number;
  #seq = 0;
  readonly #timers = new Map<number, FakeTimer>();

  constructor(startMs = 1_700_000_000_000) {
    this.#nowMs = startMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  setTimeout(fn: () => void, ms: number): { cancel(): void } {
    const seq = this.#seq++;
    this.#timers.set(seq, { seq, dueMs: this.#nowMs + Math.max(0, ms), fn });
    return { cancel: () => this.#timers.delete(seq) };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        timer.cancel();
        reject(signal?.reason);
      };
      const timer = this.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Timers not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Due time of the earliest pending timer, if any. */
  nextDueMs(): number | undefined {
    return this.#next()?.dueMs;
  }

  /** Move time forward by `ms`, firing due timers synchronously in order. */
  advance(ms: number): void {
    const targetMs = this.#nowMs + ms;
    for (let timer = this.#next(); timer !== undefined && timer.dueMs <= targetMs; timer = this.#next()) {
      this.#fire(timer);
    }
    this.#nowMs = targetMs;
  }

  /** Like `advance`, but lets promises settle after each timer so async work started by one timer runs. */
  async advanceAsync(ms: number): Promise<void> {
    const targetMs = this.#nowMs + ms;
    await flushAsync();
    for (let timer = this.#next(); timer !== undefined && timer.dueMs <= targetMs; timer = this.#next()) {
      this.#fire(timer);
      await flushAsync();
    }
    this.#nowMs = targetMs;
    await flushAsync();
  }

  /** Jump to the earliest pending timer, fire it and let promises settle. Returns false if none is pending. */
  async runNext(): Promise<boolean> {
    const timer = this.#next();
    if (timer === undefined) return false;
    this.#fire(timer);
    await flushAsync();
    return true;
  }

  #fire(timer: FakeTimer): void {
    this.#timers.delete(timer.seq);
    if (timer.dueMs > this.#nowMs) this.#nowMs = timer.dueMs;
    timer.fn();
  }

  #next(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const timer of this.#timers.values()) {
      if (best === undefined || timer.dueMs < best.dueMs || (timer.dueMs === best.dueMs && timer.seq < best.seq)) {
        best = timer;
      }
    }
    return best;
  }
}
