/**
 * One bound on concurrent Docker mutations (container create/start/remove, volume create/remove) shared by
 * every loop and executor, so a launch storm of 200 tasks queues here instead of handing dockerd 200
 * creates at once. Stops are not bounded: `docker stop` mostly waits out a grace period and upstream
 * stops every container at once. Waiting for a slot never holds a loop worker (the runtime releases its
 * worker before a Docker action, loop.ts), and a wait ends at once when its signal aborts.
 */
import type { DockerMutationMetrics } from '../../src/metrics/reconcile.js';

/** Default bound (ECSD_MAX_CONCURRENT_DOCKER_MUTATIONS): the old worker count, which dockerd handled well. */
export const DEFAULT_MAX_CONCURRENT_DOCKER_MUTATIONS = 10;

export interface MutationLimiter {
  /** Run `fn` once a slot is free (FIFO). Rejects with the signal's reason if it aborts while waiting. */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  readonly limit: number;
  inFlight(): number;
  waiting(): number;
}

interface Waiter {
  grant(): void;
}

export function createMutationLimiter(options: { limit: number; metrics?: DockerMutationMetrics }): MutationLimiter {
  const { limit, metrics } = options;
  if (!(Number.isInteger(limit) && limit >= 1)) {
    throw new RangeError(`the Docker mutation limit must be a positive integer (got ${limit})`);
  }
  metrics?.setLimit(limit);
  let inFlight = 0;
  const waiters = new Set<Waiter>();
  const publish = (): void => {
    metrics?.setInFlight(inFlight);
    metrics?.setWaiting(waiters.size);
  };

  function acquire(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    if (inFlight < limit && waiters.size === 0) {
      inFlight += 1;
      publish();
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        waiters.delete(waiter);
        publish();
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      publish();
    });
  }

  function release(): void {
    const next = waiters.values().next();
    if (next.done) {
      inFlight -= 1;
    } else {
      // The slot passes straight to the oldest waiter: inFlight stays the same.
      waiters.delete(next.value);
      next.value.grant();
    }
    publish();
  }

  return {
    limit,
    async run(fn, signal) {
      await acquire(signal);
      try {
        return await fn();
      } finally {
        release();
      }
    },
    inFlight: () => inFlight,
    waiting: () => waiters.size,
  };
}
