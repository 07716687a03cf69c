/**
 * The informer's indexed store for one object kind (client-go's `Indexer`): objects by key, secondary
 * indexes, and a change notification only when an observation really differs from the cached one.
 *
 * Ordering without clocks: every engine call the informer sends takes the next number of one counter (an
 * "op"), and each entry remembers the op of the call that observed it. An observation older than the cached
 * one (a list sent before an inspect that already answered) is ignored, a removal likewise, and a relist
 * drops only entries observed by calls sent before its own list call.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../logging/types.js';
import type { DockerEngine, DockerObjectKind, InformerChange } from './types.js';

/** What every kind's part of the informer shares. */
export interface PartContext {
  engine: DockerEngine;
  clock: Clock;
  logger: Logger;
  /** Event hints for one key within this window collapse into one inspect. */
  coalesceMs: number;
  /** Aborted when the informer stops: every engine call of the informer carries it. */
  signal: AbortSignal;
  /** Numbers the informer's engine calls in the order they are sent (see KindStore). */
  nextOp(): number;
  isStopped(): boolean;
  /** Delivers a change to the informer's subscribers. */
  notify(change: InformerChange): void;
}

export type ChangeKeys = Pick<InformerChange, 'taskArn' | 'imageRefs' | 'volumeName'>;

export interface KindStoreOptions<T> {
  kind: DockerObjectKind;
  keyOf(object: T): string;
  /** True when two observations describe the same state (stamps ignored). */
  same(a: T, b: T): boolean;
  /** The keys a change carries; for an update, the old version's and the new version's are merged. */
  changeKeys(object: T): ChangeKeys;
  /** Secondary indexes: index name → the values an object is found under. */
  indexes?: Record<string, (object: T) => readonly string[]>;
  notify(change: InformerChange): void;
}

interface Entry<T> {
  object: T;
  op: number;
}

export class KindStore<T> {
  readonly #options: KindStoreOptions<T>;
  readonly #entries = new Map<string, Entry<T>>();
  readonly #indexes = new Map<string, Map<string, Set<string>>>();
  /** Removed keys with the op that removed them, so an older observation cannot bring them back. */
  readonly #removedAtOp = new Map<string, number>();

  constructor(options: KindStoreOptions<T>) {
    this.#options = options;
    for (const name of Object.keys(options.indexes ?? {})) this.#indexes.set(name, new Map());
  }

  get(key: string): T | undefined {
    return this.#entries.get(key)?.object;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  all(): T[] {
    return [...this.#entries.values()].map((entry) => entry.object);
  }

  byIndex(index: string, value: string): T[] {
    const keys = this.#indexes.get(index)?.get(value);
    if (keys === undefined) return [];
    return [...keys].map((key) => this.#entries.get(key)?.object).filter((object) => object !== undefined);
  }

  /**
   * Stores an observation made by the call numbered `op`. Ignored (returns false) when the cache already
   * holds a newer observation or a newer removal of the key; notifies when the object is new or changed.
   */
  put(object: T, op: number): boolean {
    const key = this.#options.keyOf(object);
    const previous = this.#entries.get(key);
    if ((previous !== undefined && previous.op > op) || (this.#removedAtOp.get(key) ?? -1) > op) return false;
    this.#removedAtOp.delete(key);
    if (previous !== undefined) this.#unindex(key, previous.object);
    this.#entries.set(key, { object, op });
    this.#index(key, object);
    if (previous === undefined) this.#notify('added', key, object);
    else if (!this.#options.same(previous.object, object)) this.#notify('updated', key, object, previous.object);
    return true;
  }

  /** Removes `key` as observed gone by the call numbered `op`, unless a newer observation is cached. */
  remove(key: string, op: number): boolean {
    const previous = this.#entries.get(key);
    if (previous === undefined || previous.op > op) return false;
    this.#entries.delete(key);
    this.#unindex(key, previous.object);
    this.#removedAtOp.set(key, op);
    this.#notify('deleted', key, previous.object);
    return true;
  }

  /**
   * After a list call numbered `listOp` returned `listed`: removes every entry it did not list, except those
   * observed by a later call (they may be newer than the list) and those `keep` vouches for.
   */
  prune(listed: ReadonlySet<string>, listOp: number, keep: (key: string) => boolean = () => false): void {
    for (const [key, entry] of [...this.#entries]) {
      if (!listed.has(key) && entry.op < listOp && !keep(key)) this.remove(key, listOp);
    }
    // Removals older than this list are superseded by it: a later observation of the key is newer anyway.
    for (const [key, op] of this.#removedAtOp) if (op < listOp) this.#removedAtOp.delete(key);
  }

  #index(key: string, object: T): void {
    for (const [name, valuesOf] of Object.entries(this.#options.indexes ?? {})) {
      const index = this.#indexes.get(name)!;
      for (const value of valuesOf(object)) {
        let keys = index.get(value);
        if (keys === undefined) {
          keys = new Set();
          index.set(value, keys);
        }
        keys.add(key);
      }
    }
  }

  #unindex(key: string, object: T): void {
    for (const [name, valuesOf] of Object.entries(this.#options.indexes ?? {})) {
      const index = this.#indexes.get(name)!;
      for (const value of valuesOf(object)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }

  #notify(type: InformerChange['type'], id: string, object: T, previous?: T): void {
    const keys = this.#options.changeKeys(object);
    const before = previous === undefined ? {} : this.#options.changeKeys(previous);
    const change: InformerChange = { kind: this.#options.kind, type, id };
    const taskArn = keys.taskArn ?? before.taskArn;
    if (taskArn !== undefined) change.taskArn = taskArn;
    // A reference an update moved away is a change for that reference too.
    const imageRefs = [...new Set([...(keys.imageRefs ?? []), ...(before.imageRefs ?? [])])];
    if (imageRefs.length > 0) change.imageRefs = imageRefs;
    const volumeName = keys.volumeName ?? before.volumeName;
    if (volumeName !== undefined) change.volumeName = volumeName;
    this.#options.notify(change);
  }
}
