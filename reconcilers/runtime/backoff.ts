/**
 * Per-key exponential backoff, client-go's `ItemExponentialFailureRateLimiter`: the n-th consecutive failure
 * of a key waits baseDelayMs × 2^n (5 ms, 10 ms, 20 ms, …) capped at maxDelayMs; `forget` resets the key
 * after a success. Memory is bounded by the number of keys currently failing.
 */

/** client-go's DefaultControllerRateLimiter base delay. */
export const DEFAULT_BASE_BACKOFF_MS = 5;
/** client-go's cap (1000 s); the loops pass ~30 s so a recovered engine is noticed quickly. */
export const DEFAULT_MAX_BACKOFF_MS = 1_000_000;

export interface ItemBackoff {
  /** The delay before the next retry of `key`, counting this call as one more failure. */
  when(key: string): number;
  /** Reset `key` (it succeeded, or it is no longer worth retrying). */
  forget(key: string): void;
  /** Consecutive failures recorded for `key`. */
  numRequeues(key: string): number;
}

export interface ItemBackoffOptions {
  /** Default 5 ms. */
  baseDelayMs?: number;
  /** Default 1 000 000 ms (1000 s). */
  maxDelayMs?: number;
}

export function createItemExponentialBackoff(options: ItemBackoffOptions = {}): ItemBackoff {
  const baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_BACKOFF_MS;
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_BACKOFF_MS;
  if (!(baseDelayMs > 0) || !(maxDelayMs >= baseDelayMs)) {
    throw new RangeError(`backoff needs 0 < baseDelayMs <= maxDelayMs (got ${baseDelayMs}, ${maxDelayMs})`);
  }
  const failures = new Map<string, number>();
  return {
    when(key) {
      const exponent = failures.get(key) ?? 0;
      failures.set(key, exponent + 1);
      const delayMs = baseDelayMs * 2 ** exponent;
      // 2^exponent overflows to Infinity after ~1024 failures; the cap handles that too.
      return Math.min(delayMs, maxDelayMs);
    },
    forget(key) {
      failures.delete(key);
    },
    numRequeues(key) {
      return failures.get(key) ?? 0;
    },
  };
}
