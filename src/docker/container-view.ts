/**
 * The shared observation cache every loop reads (kubelet's PLEG + pod cache, in one): one periodic
 * relist, Docker events as hints to re-inspect single containers, and change notifications only when an
 * observed state really changed. Loops never list or poll containers themselves.
 *
 * Idle cost: one list call per resync period (±10 % jitter, so many agents do not relist in lockstep),
 * plus one inspect per container that an event or the list says changed. Nothing polls per container.
 */
import { type Clock, systemClock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging/types.js';
import { matchesLabelFilter, sameObservation } from './inspect-map.js';
import type { DockerEngine, DockerEventHint, ObservedContainer } from './types.js';

export interface ContainerView {
  /** Subscribes to events, then lists and inspects every labelled container; resolves once synced. */
  start(): Promise<void>;
  /** Unsubscribes and cancels every timer; in-flight inspects finish but no longer touch the cache. */
  stop(): void;
  /** True once the first full list + inspect has completed (kubelet: nothing is deleted before sync). */
  synced(): boolean;
  get(id: string): ObservedContainer | undefined;
  byTask(taskArn: string): ObservedContainer[];
  all(): ObservedContainer[];
  /** Inspects now and updates the cache; removes the entry (and notifies) if the container is gone. */
  refresh(id: string): Promise<ObservedContainer | undefined>;
  /** One list call; inspects only containers that are new or whose state differs; drops vanished ones. */
  relist(): Promise<void>;
  /** Called with (taskArn, id) after a container appeared, changed or vanished. Returns an unsubscribe. */
  onChange(listener: (taskArn: string | undefined, id: string) => void): () => void;
  /**
   * Run a mutating Docker call on container `id`, then refresh it. Event hints for `id` that arrive while
   * the call runs are not inspected separately: the refresh after the call is sent after every event the
   * call caused, so it already reflects them (a stop emits kill, die and stop while it runs).
   */
  withMutation<T>(id: string, mutate: () => Promise<T>): Promise<T>;
}

export interface ContainerViewOptions {
  engine: DockerEngine;
  /** Docker label selectors (`key` or `key=value`), e.g. `['com.amazonaws.ecs.task-arn']`. */
  labelFilter: string[];
  /** Period of the insurance relist; events are the trigger. */
  resyncIntervalMs: number;
  logger: Logger;
  clock?: Clock;
  onRelist?: (durationMs: number) => void;
  /** Events for one id within this window collapse into one inspect. Default 10 ms. */
  coalesceMs?: number;
  /** Inspects in flight at once during a relist. Default 8. */
  inspectConcurrency?: number;
  /** Wall clock in ms (sub-ms precision) comparable with Docker event times; default performance-based. */
  wallClockMs?: () => number;
}

type ViewState = 'idle' | 'starting' | 'running' | 'stopped';

export function createContainerView(options: ContainerViewOptions): ContainerView {
  const { engine, labelFilter, resyncIntervalMs } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger.child({ module: 'container-view' });
  const coalesceMs = options.coalesceMs ?? 10;
  const inspectConcurrency = Math.max(1, options.inspectConcurrency ?? 8);
  // Compared with Docker's event timestamps (the daemon's wall clock, ns precision), so not the injected clock.
  const wallClockMs = options.wallClockMs ?? (() => performance.timeOrigin + performance.now());

  let state: ViewState = 'idle';
  let isSynced = false;
  const cache = new Map<string, ObservedContainer>();
  const taskIndex = new Map<string, Set<string>>();
  const listeners = new Set<(taskArn: string | undefined, id: string) => void>();
  /** Per-id chain of inspects, so results land in the order they were asked for. */
  const chains = new Map<string, Promise<ObservedContainer | undefined>>();
  /** Ids with an inspect queued on the chain but not yet sent: a further hint needs no further inspect. */
  const queued = new Set<string>();
  const coalesceTimers = new Map<string, { cancel(): void }>();
  /**
   * When the last inspect of each id was sent, and the newest event time seen for ids with a pending hint.
   * An inspect sent after an event already reflects it, so the hint is dropped: the executor refreshes a
   * container right after each create/start/stop, and without this every such call would cost a second,
   * event-driven inspect of the same state.
   */
  const inspectSentAtMs = new Map<string, number>();
  const pendingEventAtMs = new Map<string, number>();
  /** Ids with a mutating call in flight (count, as calls may overlap); their hints wait for the refresh. */
  const mutating = new Map<string, number>();
  let unsubscribeEvents: (() => void) | undefined;
  let resyncTimer: { cancel(): void } | undefined;
  let relistInFlight: Promise<void> | undefined;

  const notify = (taskArn: string | undefined, id: string): void => {
    for (const listener of listeners) {
      try {
        listener(taskArn, id);
      } catch (error) {
        logger.warn('container view listener threw', { error: errorMessage(error), id });
      }
    }
  };

  const indexAdd = (observed: ObservedContainer): void => {
    if (observed.taskArn === undefined) return;
    let ids = taskIndex.get(observed.taskArn);
    if (ids === undefined) {
      ids = new Set();
      taskIndex.set(observed.taskArn, ids);
    }
    ids.add(observed.id);
  };

  const drop = (id: string): void => {
    const previous = cache.get(id);
    if (previous === undefined) return;
    cache.delete(id);
    inspectSentAtMs.delete(id);
    if (previous.taskArn !== undefined) {
      const ids = taskIndex.get(previous.taskArn);
      ids?.delete(id);
      if (ids?.size === 0) taskIndex.delete(previous.taskArn);
    }
    notify(previous.taskArn, id);
  };

  const store = (observed: ObservedContainer): void => {
    const previous = cache.get(observed.id);
    const changed = previous === undefined || !sameObservation(previous, observed);
    cache.set(observed.id, observed);
    indexAdd(observed);
    if (changed) notify(observed.taskArn, observed.id);
  };

  /** Inspects `id` (callers may pass a name; the cache is keyed by the id Docker returns). */
  const inspectInto = async (key: string): Promise<ObservedContainer | undefined> => {
    queued.delete(key);
    inspectSentAtMs.set(key, wallClockMs());
    const observed = await engine.inspectContainer(key);
    if (state === 'stopped') return observed;
    if (observed === undefined) {
      drop(key);
      return undefined;
    }
    if (labelFilter.length > 0 && !matchesLabelFilter(observed.labels, labelFilter)) {
      // Not ours (e.g. refreshed by name); keep the cache to the labelled set.
      return { ...observed, observedAtMs: clock.nowMs() };
    }
    const stamped = { ...observed, observedAtMs: clock.nowMs() };
    store(stamped);
    return stamped;
  };

  const refresh = (id: string): Promise<ObservedContainer | undefined> => {
    const previous = chains.get(id) ?? Promise.resolve(undefined);
    queued.add(id);
    const next = previous.catch(() => undefined).then(() => inspectInto(id));
    chains.set(id, next);
    const clear = (): void => {
      if (chains.get(id) === next) chains.delete(id);
    };
    next.then(clear, clear);
    return next;
  };

  /**
   * Whether an inspect not yet sent, or sent after `eventAtMs`, already covers an event. A mutation in
   * flight counts: withMutation inspects once it is done.
   */
  const covered = (id: string, eventAtMs: number): boolean =>
    queued.has(id) || mutating.has(id) || (inspectSentAtMs.get(id) ?? Number.NEGATIVE_INFINITY) > eventAtMs;

  /** Event path: coalesce bursts, skip if an inspect for this id is already waiting to be sent. */
  const hint = (id: string, eventAtMs: number): void => {
    // Most events answer the agent's own create/start/stop, whose inspect is pending or done: no timer then.
    if (state === 'stopped' || (!coalesceTimers.has(id) && covered(id, eventAtMs))) return;
    pendingEventAtMs.set(id, Math.max(eventAtMs, pendingEventAtMs.get(id) ?? 0));
    if (coalesceTimers.has(id)) return;
    coalesceTimers.set(
      id,
      clock.setTimeout(() => {
        coalesceTimers.delete(id);
        const newestEventAtMs = pendingEventAtMs.get(id) ?? Number.POSITIVE_INFINITY;
        pendingEventAtMs.delete(id);
        if (state === 'stopped' || covered(id, newestEventAtMs)) return;
        refresh(id).catch((error: unknown) => {
          logger.warn('event-driven inspect failed; the next relist will retry', { id, error: errorMessage(error) });
        });
      }, coalesceMs),
    );
  };

  const onEvent = (event: DockerEventHint): void => {
    if (event.type !== 'container' || event.id === '') return;
    // exec_* and similar actions do not change the container's own state.
    if (event.action.startsWith('exec_')) return;
    if (cache.has(event.id) || matchesLabelFilter(event.labels, labelFilter)) hint(event.id, event.timeMs);
  };

  const inspectAll = async (ids: string[]): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length && state !== 'stopped') {
        const id = ids[next++]!;
        try {
          await refresh(id);
        } catch (error) {
          logger.warn('inspect during relist failed; will retry next relist', { id, error: errorMessage(error) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(inspectConcurrency, ids.length) }, worker));
  };

  const relistOnce = async (): Promise<void> => {
    const startedMs = clock.nowMs();
    const rows = await engine.listContainers(labelFilter);
    const listed = new Set<string>();
    const stale: string[] = [];
    for (const row of rows) {
      listed.add(row.id);
      const cached = cache.get(row.id);
      if (cached === undefined || cached.state !== row.state) stale.push(row.id);
    }
    for (const [id, cached] of cache) {
      // Entries observed after the list was taken may be newer than the list itself; keep them.
      if (!listed.has(id) && cached.observedAtMs < startedMs) drop(id);
    }
    await inspectAll(stale);
    options.onRelist?.(clock.nowMs() - startedMs);
  };

  const relist = (): Promise<void> => {
    // Concurrent relists (timer + caller) share one list call.
    relistInFlight ??= relistOnce().finally(() => {
      relistInFlight = undefined;
    });
    return relistInFlight;
  };

  const scheduleResync = (): void => {
    if (state !== 'running') return;
    const jitter = 0.9 + Math.random() * 0.2;
    resyncTimer = clock.setTimeout(
      () => {
        resyncTimer = undefined;
        relist()
          .catch((error: unknown) => logger.warn('container relist failed', { error: errorMessage(error) }))
          .finally(scheduleResync);
      },
      Math.round(resyncIntervalMs * jitter),
    );
  };

  const stop = (): void => {
    if (state === 'stopped') return;
    state = 'stopped';
    unsubscribeEvents?.();
    unsubscribeEvents = undefined;
    resyncTimer?.cancel();
    resyncTimer = undefined;
    for (const timer of coalesceTimers.values()) timer.cancel();
    coalesceTimers.clear();
    pendingEventAtMs.clear();
  };

  return {
    async start() {
      if (state !== 'idle') throw new Error(`container view cannot start from state ${state}`);
      state = 'starting';
      // Events first, so nothing that happens during the initial list is missed (kubelet PLEG order).
      unsubscribeEvents = engine.subscribeEvents({
        onEvent,
        onError: (error) => logger.warn('docker event stream error', { error: errorMessage(error) }),
      });
      try {
        await relist();
      } catch (error) {
        stop();
        throw error;
      }
      if (state !== 'starting') return;
      state = 'running';
      isSynced = true;
      scheduleResync();
    },
    stop,
    synced: () => isSynced,
    get: (id) => cache.get(id),
    byTask: (taskArn) => {
      const ids = taskIndex.get(taskArn);
      return ids === undefined ? [] : [...ids].map((id) => cache.get(id)).filter((c) => c !== undefined);
    },
    all: () => [...cache.values()],
    refresh,
    relist,
    async withMutation(id, mutate) {
      mutating.set(id, (mutating.get(id) ?? 0) + 1);
      try {
        return await mutate();
      } finally {
        const left = (mutating.get(id) ?? 1) - 1;
        if (left > 0) mutating.set(id, left);
        else mutating.delete(id);
        await refresh(id).catch((error: unknown) => {
          logger.warn('inspect after a mutation failed; the next event or relist will retry', {
            id,
            error: errorMessage(error),
          });
        });
      }
    },
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
