/**
 * Per-key inspects for the informer: results land in the order they were asked for (one chain per key),
 * bursts of event hints collapse into one inspect, and a hint costs nothing when an inspect that will be
 * sent after it arrived is already on its way.
 *
 * The rule that decides whether a hint is covered uses only the order of things on the agent's side, never
 * a timestamp from the daemon (whose clock may be skewed): a hint is covered by an inspect that is sent
 * after the hint arrived. So sending an inspect cancels the hint timer of its key (every hint pending there
 * arrived before it), a hint that arrives while an inspect is queued but not yet sent, or while a mutating
 * call on the key runs (withMutation inspects once the call returns, and Docker publishes a call's events
 * before it answers), is dropped, and any other hint starts a short timer that ends in an inspect.
 */
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging/types.js';

export interface InspectQueueOptions<R> {
  clock: Clock;
  /** Hints for one key within this window collapse into one inspect. */
  coalesceMs: number;
  /** Sends the inspect of `key` and stores its result; called when the key's chain reaches it. */
  inspect(key: string): Promise<R>;
  logger: Logger;
}

export interface InspectQueue<R> {
  /** Inspects `key` after every inspect already asked for it; always sends a new call. */
  refresh(key: string): Promise<R>;
  /**
   * An event says `key` may have changed. `shown`, if given, tells whether the cache already shows what the
   * event says: a hint whose events all are shown once its timer ends, with no inspect on its way, is dropped
   * (the inspect that was on its way when it arrived answered it).
   */
  hint(key: string, shown?: () => boolean): void;
  /** Whether an inspect of `key` is queued or on its way (its answer may not be in the cache yet). */
  inspecting(key: string): boolean;
  /** Runs a mutating call on `key`, then refreshes it; hints arriving meanwhile cost no inspect of their own. */
  withMutation<T>(key: string, mutate: () => Promise<T>): Promise<T>;
  /** Cancels every hint timer; later hints are ignored. */
  stop(): void;
}

/** A hint timer, and for each event collapsed into it whether the cache shows it (undefined: unknown). */
interface PendingHint {
  cancel(): void;
  shown: Array<(() => boolean) | undefined>;
}

export function createInspectQueue<R>(options: InspectQueueOptions<R>): InspectQueue<R> {
  const { clock, coalesceMs, logger } = options;
  const chains = new Map<string, Promise<unknown>>();
  /** Inspects on a key's chain not yet sent (count: explicit refreshes may stack). */
  const queued = new Map<string, number>();
  const hintTimers = new Map<string, PendingHint>();
  /** Keys with a mutating call in flight (count, as calls may overlap). */
  const mutating = new Map<string, number>();
  let stopped = false;

  const bump = (counts: Map<string, number>, key: string, by: number): void => {
    const next = (counts.get(key) ?? 0) + by;
    if (next > 0) counts.set(key, next);
    else counts.delete(key);
  };

  const send = (key: string): Promise<R> => {
    bump(queued, key, -1);
    // Every hint still waiting for this key arrived before this call is sent, so the call covers it.
    hintTimers.get(key)?.cancel();
    hintTimers.delete(key);
    return options.inspect(key);
  };

  const refresh = (key: string): Promise<R> => {
    const previous = chains.get(key) ?? Promise.resolve();
    bump(queued, key, 1);
    const next = previous.catch(() => undefined).then(() => send(key));
    chains.set(key, next);
    const clear = (): void => {
      if (chains.get(key) === next) chains.delete(key);
    };
    next.then(clear, clear);
    return next;
  };

  const covered = (key: string): boolean => queued.has(key) || mutating.has(key);

  const hint = (key: string, shown?: () => boolean): void => {
    if (stopped || covered(key)) return;
    const pending = hintTimers.get(key);
    if (pending !== undefined) {
      pending.shown.push(shown);
      return;
    }
    const collapsed: PendingHint['shown'] = [shown];
    const timer = clock.setTimeout(() => {
      hintTimers.delete(key);
      if (stopped || covered(key)) return;
      if (!chains.has(key) && collapsed.every((isShown) => isShown?.() === true)) return;
      refresh(key).catch((error: unknown) => {
        if (!stopped)
          logger.warn('event-driven inspect failed; the next relist retries', { key, error: errorMessage(error) });
      });
    }, coalesceMs);
    hintTimers.set(key, { cancel: () => timer.cancel(), shown: collapsed });
  };

  return {
    refresh,
    hint,
    inspecting: (key) => chains.has(key),
    async withMutation(key, mutate) {
      bump(mutating, key, 1);
      try {
        return await mutate();
      } finally {
        bump(mutating, key, -1);
        await refresh(key).catch((error: unknown) => {
          if (stopped) return;
          logger.warn('inspect after a mutation failed; the next event or relist retries', {
            key,
            error: errorMessage(error),
          });
        });
      }
    },
    stop() {
      stopped = true;
      for (const timer of hintTimers.values()) timer.cancel();
      hintTimers.clear();
    },
  };
}
