/**
 * The containers as the containers loop and its executor read them: the informer's container cache
 * (informer.ts) behind the interface they were written against. `informer.containers` implements it; its
 * start/stop/synced/relist stand for the whole informer's.
 */
import { createInformer, type InformerOptions } from './informer.js';
import type { ObservedContainer } from './types.js';

export interface ContainerView {
  /** Subscribes to events, then lists and inspects every labelled container; resolves once synced. */
  start(): Promise<void>;
  /** Unsubscribes, cancels every timer and aborts the calls in flight; nothing touches the cache after. */
  stop(): void;
  /** True once the first full list + inspect has completed (kubelet: nothing is deleted before sync). */
  synced(): boolean;
  get(id: string): ObservedContainer | undefined;
  byTask(taskArn: string): ObservedContainer[];
  all(): ObservedContainer[];
  /** Inspects now and updates the cache; removes the entry (and notifies) if the container is gone. */
  refresh(id: string): Promise<ObservedContainer | undefined>;
  /**
   * One list call; inspects only containers that are new or whose state differs; drops vanished ones.
   * A call made while a relist runs waits for the next one (which lists after the call was made).
   */
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

export type ContainerViewOptions = Omit<InformerOptions, 'kinds'>;

/**
 * A containers-only informer, for callers that need nothing else (tests, tools). The agent builds the full
 * informer with createInformer and hands `informer.containers` to the containers loop.
 */
export function createContainerView(options: ContainerViewOptions): ContainerView {
  return createInformer({ ...options, kinds: ['container'] }).containers;
}
