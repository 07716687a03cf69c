/**
 * The informer's containers: the labelled containers, indexed by id and by task ARN, kept current by the
 * informer's relist (one list call, inspects only for containers that are new or whose listed state
 * differs) and by event hints (one coalesced inspect per container). Exposed to loops as a ContainerView.
 */
import { errorMessage } from '../errors.js';
import type { ContainerView } from './container-view.js';
import { KindStore, type PartContext } from './informer-cache.js';
import { createInspectQueue } from './informer-inspect.js';
import { matchesLabelFilter, sameObservation } from './inspect-map.js';
import type { DockerEventHint, ObservedContainer } from './types.js';

export interface ContainersPartOptions extends PartContext {
  labelFilter: readonly string[];
  /** Inspects in flight at once during a relist. */
  inspectConcurrency: number;
  /** The informer's lifecycle, which the view's start/stop/synced/relist stand for. */
  informer: { start(): Promise<void>; stop(): void; synced(): boolean; relist(): Promise<void> };
}

export interface ContainersPart {
  view: ContainerView;
  onEvent(event: DockerEventHint): void;
  /** This kind's share of a relist pass. */
  relist(): Promise<void>;
  stop(): void;
}

const TASK_INDEX = 'taskArn';

/**
 * Whether the cached inspect already shows what a lifecycle event says happened: a start of a running
 * container, a die or stop of an exited one. Such a hint is dropped when no inspect of the container is on its
 * way, or, if one was, once it has answered (checked again when the hint's timer ends; every event collapsed
 * into that timer must be shown). Events arrive in the daemon's order, so a change after the cached inspect
 * (a restart and another exit) would have come as an earlier event that does not match the cache, whose own
 * inspect is then pending or in flight. This is what the agent's own calls cost otherwise: their events often
 * arrive just after the inspect that follows the call was sent, and each cost one more inspect that found
 * nothing new.
 */
function alreadyShown(cached: ObservedContainer | undefined, action: string): boolean {
  if (cached === undefined) return false;
  if (action === 'start') return cached.state === 'running';
  if (action === 'die' || action === 'stop') return cached.state === 'exited' || cached.state === 'dead';
  return false;
}

export function createContainersPart(options: ContainersPartOptions): ContainersPart {
  const { engine, labelFilter, clock, logger, signal } = options;
  const listeners = new Set<(taskArn: string | undefined, id: string) => void>();

  const store = new KindStore<ObservedContainer>({
    kind: 'container',
    keyOf: (container) => container.id,
    same: sameObservation,
    changeKeys: (container) => ({
      ...(container.taskArn === undefined ? {} : { taskArn: container.taskArn }),
      ...(container.image === '' ? {} : { imageRefs: [container.image] }),
    }),
    indexes: { [TASK_INDEX]: (container) => (container.taskArn === undefined ? [] : [container.taskArn]) },
    notify: (change) => {
      for (const listener of listeners) {
        try {
          listener(change.taskArn, change.id);
        } catch (error) {
          logger.warn('container view listener threw', { error: errorMessage(error), id: change.id });
        }
      }
      options.notify(change);
    },
  });

  /** Inspects `key` (callers may pass a name; the cache is keyed by the id Docker returns). */
  const inspect = async (key: string): Promise<ObservedContainer | undefined> => {
    const op = options.nextOp();
    const observed = await engine.inspectContainer(key, { signal });
    if (options.isStopped()) return observed;
    if (observed === undefined) {
      store.remove(key, op);
      return undefined;
    }
    const stamped = { ...observed, observedAtMs: clock.nowMs() };
    // Not ours (e.g. refreshed by name): answered, but the cache stays the labelled set.
    if (matchesLabelFilter(stamped.labels, labelFilter)) store.put(stamped, op);
    return stamped;
  };

  const queue = createInspectQueue({ clock, coalesceMs: options.coalesceMs, inspect, logger });

  const inspectAll = async (ids: string[]): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length && !options.isStopped()) {
        const id = ids[next++]!;
        try {
          await queue.refresh(id);
        } catch (error) {
          if (!options.isStopped()) {
            logger.warn('inspect during relist failed; the next relist retries', { id, error: errorMessage(error) });
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.inspectConcurrency, ids.length) }, worker));
  };

  const view: ContainerView = {
    start: () => options.informer.start(),
    stop: () => options.informer.stop(),
    synced: () => options.informer.synced(),
    relist: () => options.informer.relist(),
    get: (id) => store.get(id),
    byTask: (taskArn) => store.byIndex(TASK_INDEX, taskArn),
    all: () => store.all(),
    refresh: (id) => queue.refresh(id),
    withMutation: (id, mutate) => queue.withMutation(id, mutate),
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };

  return {
    view,
    onEvent(event) {
      if (event.id === '') return;
      // exec_* and signals change nothing an inspect shows (a signal's effect, if any, comes as a die).
      if (event.action.startsWith('exec_') || event.action === 'kill') return;
      const shown = (): boolean => alreadyShown(store.get(event.id), event.action);
      if (shown() && !queue.inspecting(event.id)) return;
      if (store.has(event.id) || matchesLabelFilter(event.labels, labelFilter)) queue.hint(event.id, shown);
    },
    async relist() {
      const listOp = options.nextOp();
      const rows = await engine.listContainers([...labelFilter], { signal });
      if (options.isStopped()) return;
      const listed = new Set<string>();
      const stale: string[] = [];
      for (const row of rows) {
        listed.add(row.id);
        const cached = store.get(row.id);
        if (cached === undefined || cached.state !== row.state) stale.push(row.id);
      }
      store.prune(listed, listOp);
      await inspectAll(stale);
    },
    stop: () => queue.stop(),
  };
}
