/**
 * Test fixtures for the loop runtime: an in-memory change feed with the DesiredStateStore change-detection
 * contract, and a small loop over a key → number "world" whose observe/apply can be gated or made to fail.
 */
import type { LoopChange, LoopDefinition, LoopDeps, LoopPlan } from '../../reconcilers/runtime/types.js';
import { systemClock } from '../../src/clock.js';
import { silentLogger } from '../../src/logging/types.js';
import { createMetricsRegistry, type MetricsRegistry } from '../../src/metrics/registry.js';
import { ChangeFeed } from '../../src/store/change-feed.js';
import {
  type ChangesSince,
  type StoreChange,
  type StoreTable,
  TASK_KEYED_TABLES,
  type WriteOrigin,
} from '../../src/store/records.js';
import { FakeClock } from './fake-clock.js';

export interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * The store's change-detection surface, in memory: the real ChangeFeed ring (so the semantics are the
 * store's) plus the write origin the real store keeps in an AsyncLocalStorage.
 */
type ChangeFeedStore = LoopDeps['store'];

export class FakeChangeFeed implements ChangeFeedStore {
  readonly #feed: ChangeFeed;
  #origin: WriteOrigin | undefined;
  readonly #listeners = new Set<(change: StoreChange) => void>();
  changesSinceCalls = 0;
  /** The `tables` argument of each changesSince call (undefined: all tables). */
  readonly changesSinceTables: Array<readonly StoreTable[] | undefined> = [];
  /** When false, writes do not call onChange listeners (exercises the timer-driven poll alone). */
  notifyListeners = true;

  constructor(ringSize = 64) {
    this.#feed = new ChangeFeed(ringSize);
  }

  generation(): number {
    return this.#feed.generation;
  }

  changesSince(generation: number, tables?: readonly StoreTable[], ownLoop?: string): ChangesSince {
    this.changesSinceCalls += 1;
    this.changesSinceTables.push(tables);
    return this.#feed.changesSince(generation, tables, ownLoop);
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #withOrigin<T>(origin: WriteOrigin | undefined, fn: () => T): T {
    const outer = this.#origin;
    this.#origin = origin;
    try {
      return fn();
    } finally {
      this.#origin = outer;
    }
  }

  /** Writes made through the returned writer carry `origin`, as the real store's `writerFor`. */
  writerFor(origin: WriteOrigin): Pick<FakeChangeFeed, 'write' | 'writeTo'> {
    return {
      write: (...taskArns) => this.#withOrigin(origin, () => this.write(...taskArns)),
      writeTo: (table, ...keys) => this.#withOrigin(origin, () => this.writeTo(table, ...keys)),
    };
  }

  /** Commit a write to `tasks` touching `taskArns`; listeners are called synchronously, as the real store does. */
  write(...taskArns: string[]): void {
    this.writeTo('tasks', ...taskArns);
  }

  /**
   * Commit a write to `table` touching the rows known by `keys` (task ARNs for task-keyed tables, which also
   * own them; image IDs, volume names… otherwise, owned by no task).
   */
  writeTo(table: StoreTable, ...keys: string[]): void {
    const owners = TASK_KEYED_TABLES.has(table) ? new Set(keys) : new Set<string>();
    const change = this.#feed.record(new Map([[table, { keys: new Set(keys), taskArns: owners }]]), this.#origin);
    if (this.notifyListeners) {
      for (const listener of this.#listeners) this.#withOrigin(undefined, () => listener(change));
    }
  }
}

export type WorldAction = { kind: 'set'; to: number; reason: string } | { kind: 'remove'; reason: string };

export interface WorldOptions {
  /** Called at the start of each observe; may block or throw. */
  beforeObserve?: (key: string, attempt: number) => Promise<void> | void;
  /** Called at the start of each apply; may block or throw. */
  beforeApply?: (key: string, action: WorldAction, signal: AbortSignal) => Promise<void> | void;
  /** Extra fields merged into every plan (e.g. requeueAfterMs). */
  planExtras?: () => Partial<LoopPlan<WorldAction>>;
}

/** A key → number world: desired and actual maps, plus a log of what the loop did and when. */
export class World {
  readonly desired = new Map<string, number>();
  readonly actual = new Map<string, number>();
  readonly observed: Array<{ key: string; atMs: number }> = [];
  readonly applied: Array<{ key: string; kind: string; atMs: number }> = [];
  activeTotal = 0;
  maxActiveTotal = 0;
  readonly #activeByKey = new Map<string, number>();
  maxActivePerKey = 0;

  constructor(
    readonly clock: FakeClock,
    readonly options: WorldOptions = {},
  ) {}

  /** Desired and actual equal: reconciles converge with an empty plan. */
  converged(...keys: string[]): this {
    for (const key of keys) {
      this.desired.set(key, 1);
      this.actual.set(key, 1);
    }
    return this;
  }

  observeCount(key: string): number {
    return this.observed.filter((o) => o.key === key).length;
  }

  definition(name = 'world'): LoopDefinition<number, number | undefined, WorldAction> {
    const enter = (key: string): void => {
      const n = (this.#activeByKey.get(key) ?? 0) + 1;
      this.#activeByKey.set(key, n);
      this.maxActivePerKey = Math.max(this.maxActivePerKey, n);
      this.activeTotal += 1;
      this.maxActiveTotal = Math.max(this.maxActiveTotal, this.activeTotal);
    };
    const leave = (key: string): void => {
      this.#activeByKey.set(key, (this.#activeByKey.get(key) ?? 1) - 1);
      this.activeTotal -= 1;
    };
    return {
      name,
      actionKinds: ['set', 'remove'],
      keys: () => new Set([...this.desired.keys(), ...this.actual.keys()]),
      keysForChange: (change: LoopChange) =>
        change.taskArns === 'all' ? new Set([...this.desired.keys(), ...this.actual.keys()]) : change.taskArns,
      readDesired: (key) => this.desired.get(key),
      observe: async (key) => {
        enter(key);
        try {
          const attempt = this.observeCount(key);
          this.observed.push({ key, atMs: this.clock.nowMs() });
          await this.options.beforeObserve?.(key, attempt);
          return this.actual.get(key);
        } finally {
          leave(key);
        }
      },
      plan: (desired, actual) => {
        const actions: WorldAction[] = [];
        if (desired === undefined && actual !== undefined) actions.push({ kind: 'remove', reason: 'not desired' });
        if (desired !== undefined && desired !== actual) actions.push({ kind: 'set', to: desired, reason: 'drift' });
        return { actions, ...this.options.planExtras?.() };
      },
      apply: async (key, action, signal) => {
        await this.options.beforeApply?.(key, action, signal);
        this.applied.push({ key, kind: action.kind, atMs: this.clock.nowMs() });
        if (action.kind === 'set') this.actual.set(key, action.to);
        else this.actual.delete(key);
      },
    };
  }
}

export interface HarnessOptions extends WorldOptions {
  maxConcurrentReconciles?: number;
  maxQueueDepth?: number;
  maxBackoffMs?: number;
  pollIntervalMs?: number;
  resyncIntervalMs?: number;
  dryRun?: boolean;
  onPlan?: LoopDeps<WorldAction>['onPlan'];
  random?: () => number;
}

export interface Harness {
  clock: FakeClock;
  store: FakeChangeFeed;
  metrics: MetricsRegistry;
  world: World;
  deps: LoopDeps<WorldAction>;
  /** The same deps without the World-typed onPlan, for loops with other action types. */
  baseDeps: Omit<LoopDeps, 'onPlan'>;
}

export function harness(options: HarnessOptions = {}): Harness {
  const clock = new FakeClock();
  const store = new FakeChangeFeed();
  const metrics = createMetricsRegistry();
  const world = new World(clock, options);
  const deps: LoopDeps<WorldAction> = {
    store,
    clock,
    logger: silentLogger,
    metrics,
    pollIntervalMs: options.pollIntervalMs ?? 100,
    resyncIntervalMs: options.resyncIntervalMs ?? 600_000,
    maxConcurrentReconciles: options.maxConcurrentReconciles ?? 4,
    maxQueueDepth: options.maxQueueDepth ?? 1000,
    maxBackoffMs: options.maxBackoffMs,
    dryRun: options.dryRun,
    onPlan: options.onPlan,
    random: options.random ?? (() => 0.5),
    // The rule "a store-only plan is a fixed point" is checked in every runtime test (docs/runtime.md).
    checkStoreOnlyFixedPoint: true,
  };
  const { onPlan: _worldOnPlan, ...baseDeps } = deps;
  return { clock, store, metrics, world, deps, baseDeps };
}

/**
 * Runtime settings for a loop under test on the real clock: a 10 ms poll (tests wait on outcomes, not
 * timers), no resync inside a test, and `maxConcurrentReconciles` keys at once.
 */
export function fastLoopRuntime(
  metrics: MetricsRegistry,
  maxConcurrentReconciles: number,
): Omit<LoopDeps, 'store' | 'informer'> {
  return {
    clock: systemClock,
    logger: silentLogger,
    metrics,
    pollIntervalMs: 10,
    resyncIntervalMs: 60_000,
    maxConcurrentReconciles,
    maxQueueDepth: 100,
  };
}
