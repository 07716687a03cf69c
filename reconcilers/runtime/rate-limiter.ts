/**
 * client-go's `DefaultControllerRateLimiter`: a `MaxOfRateLimiter` of the per-key exponential backoff
 * (backoff.ts) and an overall token bucket (`BucketRateLimiter`, golang.org/x/time/rate semantics). The
 * delay of a retry is the larger of the two, so one failing key backs off on its own while a burst of
 * failures across many keys is held to the bucket's rate and cannot hammer the engine.
 */
import type { Clock } from '../../src/clock.js';
import { createItemExponentialBackoff, type ItemBackoff, type ItemBackoffOptions } from './backoff.js';

/** client-go's default overall retry rate: 10 per second… */
export const DEFAULT_RETRY_QPS = 10;
/** …with bursts of up to 100. */
export const DEFAULT_RETRY_BURST = 100;

export interface BucketOptions {
  clock: Pick<Clock, 'nowMs'>;
  /** Tokens added per second. Default 10. */
  qps?: number;
  /** Bucket size (and initial fill). Default 100. */
  burst?: number;
}

/**
 * One shared token bucket: every `when` takes a token (reserving one in the future when the bucket is
 * empty, like rate.Limiter.Reserve) and returns how long until that token exists. Keys do not matter.
 */
export function createBucketRateLimiter(options: BucketOptions): ItemBackoff {
  const qps = options.qps ?? DEFAULT_RETRY_QPS;
  const burst = options.burst ?? DEFAULT_RETRY_BURST;
  if (!(qps > 0) || !(Number.isInteger(burst) && burst >= 1)) {
    throw new RangeError(`token bucket needs qps > 0 and an integer burst >= 1 (got ${qps}, ${burst})`);
  }
  const { clock } = options;
  let tokens = burst;
  let lastMs = clock.nowMs();
  return {
    when() {
      const nowMs = clock.nowMs();
      tokens = Math.min(burst, tokens + (Math.max(0, nowMs - lastMs) * qps) / 1000);
      lastMs = nowMs;
      tokens -= 1;
      return tokens >= 0 ? 0 : (-tokens / qps) * 1000;
    },
    forget() {},
    numRequeues() {
      return 0;
    },
  };
}

/** client-go's MaxOfRateLimiter: the longest delay of all; forget and requeue counts go to each. */
export function createMaxOfRateLimiter(...limiters: ItemBackoff[]): ItemBackoff {
  if (limiters.length === 0) throw new RangeError('max-of rate limiter needs at least one limiter');
  return {
    when(key) {
      let delayMs = 0;
      for (const limiter of limiters) delayMs = Math.max(delayMs, limiter.when(key));
      return delayMs;
    },
    forget(key) {
      for (const limiter of limiters) limiter.forget(key);
    },
    numRequeues(key) {
      let n = 0;
      for (const limiter of limiters) n = Math.max(n, limiter.numRequeues(key));
      return n;
    },
  };
}

export interface ControllerRateLimiterOptions extends ItemBackoffOptions {
  clock: Pick<Clock, 'nowMs'>;
  /** Overall retries per second. Default 10 (client-go). */
  qps?: number;
  /** Overall burst. Default 100 (client-go). */
  burst?: number;
}

/** Per-key exponential backoff (5 ms × 2^n, capped) AND the overall bucket: client-go's default. */
export function createControllerRateLimiter(options: ControllerRateLimiterOptions): ItemBackoff {
  const { clock, qps, burst, ...backoff } = options;
  return createMaxOfRateLimiter(
    createItemExponentialBackoff(backoff),
    createBucketRateLimiter({
      clock,
      ...(qps === undefined ? {} : { qps }),
      ...(burst === undefined ? {} : { burst }),
    }),
  );
}
