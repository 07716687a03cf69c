/**
 * The contract between the loop runtime and each loop (containers, images, volumes, ENIs, cleanup).
 * A loop supplies how to enumerate keys, read desired state, observe actual state, a pure planner and
 * action handlers; the runtime owns triggering, queueing, concurrency, retries, metrics and dry-run.
 */
import type { Clock } from '../../src/clock.js';
import type { DockerObjectKind, InformerChange, InformerEvents } from '../../src/docker/types.js';
import type { ErrorCode } from '../../src/errors.js';
import type { Logger } from '../../src/logging/types.js';
import type { MetricsRegistry } from '../../src/metrics/registry.js';
import type { DesiredStateStore, StoreTable, WriteOrigin } from '../../src/store/records.js';

/** A Docker object kind a loop watches, and how a change of such an object maps to the loop's keys. */
export interface LoopWatch {
  kind: DockerObjectKind;
  keysFor(change: InformerChange): Iterable<string>;
}

export const LOOP_STATES = ['idle', 'running', 'stopping', 'stopped'] as const;
/**
 * idle: created; `syncOnce`/`nudge` work but nothing triggers on its own. running: polling the change feed
 * and resyncing. stopping: takes no new work, waits for in-flight reconciles. stopped: final.
 */
export type LoopState = (typeof LOOP_STATES)[number];

/**
 * Every action names its kind (from the loop's closed list, used as a metric label) and why it is needed.
 * A plan is a small graph (action-graph.ts): `id` names an action so later ones can wait for it in `after`.
 */
export interface LoopAction {
  kind: string;
  reason: string;
  id?: string;
  /**
   * Ids of earlier actions this one waits for. Absent: it waits for the action listed just before it (so a
   * plain list runs in order); `[]`: it waits for nothing and runs alongside the others.
   */
  after?: readonly string[];
}

export interface LoopPlan<Action extends LoopAction> {
  /**
   * Applied as a graph (see LoopAction.after): ready actions concurrently, a failed action's dependents not
   * at all, the first failure reported. Empty means converged.
   */
  actions: Action[];
  /** Plan this key again after this many ms even if nothing changes (e.g. a timeout will expire). */
  requeueAfterMs?: number;
}

/**
 * What the store change feed reported, as given to `keysForChange` (limited to the loop's `watchedTables`).
 * `'all'` everywhere means the feed lost track and every key may have changed.
 */
export interface LoopChange {
  /** Per table, the keys of the rows written (task ARN, image ID, volume name, ENI attachment ARN…). */
  keysByTable: Partial<Record<StoreTable, readonly string[]>> | 'all';
  /** Convenience for loops keyed by task: the tasks owning any row written (all tables together). */
  taskArns: readonly string[] | 'all';
  /** Tables written. */
  tables: readonly StoreTable[] | 'all';
}

export interface LoopDefinition<Desired, Actual, Action extends LoopAction> {
  /** Loop name: the `loop`/`name` metric label and log module. Unique per metrics registry. */
  name: string;
  /** The closed list of action kinds `plan` may return; a kind outside it is a bug (terminal error). */
  actionKinds: readonly string[];
  /**
   * Kinds whose apply only writes the store, from what the plan already knew (e.g. recording observed
   * statuses). A plan made of these alone is not verified by another reconcile, so the planner must be a
   * fixed point through them: planning again from the state they wrote must give no action.
   */
  storeOnlyActionKinds?: readonly string[];
  /**
   * Kinds that wait long on Docker (a stop waits out its grace period; later pulls and health waits): they
   * are *started* and then *observed*. The runtime runs them detached from the reconcile — outside the
   * worker bound, tracked per key by the action's `id` (or kind), their signal aborted on shutdown — and
   * queues the key again when one settles; an error goes through the same classification and backoff as
   * any action. `observe` receives the key's operations in flight, so the planner does not start a second
   * one. Nothing in a plan may wait (`after`) for a detached action.
   */
  detachedActionKinds?: readonly string[];
  /** All keys, for a full resync. */
  keys(): Iterable<string>;
  /**
   * The store tables whose writes can change this loop's plans — those `readDesired` reads. Writes to other
   * tables neither wake the loop nor reach `keysForChange`. Absent: every table (a loop that does not say
   * is woken by every write). A loop that starts reading a table must add it here in the same change.
   */
  watchedTables?: readonly StoreTable[];
  /**
   * The Docker object kinds whose changes (from the shared informer, `LoopDeps.informer`) wake this loop,
   * each with the keys a change maps to. The runtime subscribes on start and unsubscribes on stop.
   */
  watches?: readonly LoopWatch[];
  /** Keys affected by a store change; `'all'` means the feed lost track and every key may have changed. */
  keysForChange(change: LoopChange): Iterable<string>;
  /** Desired state of `key` from the store; undefined when the key is no longer desired (e.g. deleted). */
  readDesired(key: string): Desired | undefined;
  /** `inFlight`: the key's detached operations still running, by action id (or kind). */
  observe(key: string, desired: Desired | undefined, inFlight: ReadonlyMap<string, LoopAction>): Promise<Actual>;
  /** Pure: no I/O, no clock reads (time is passed in). */
  plan(desired: Desired | undefined, actual: Actual, nowMs: number): LoopPlan<Action>;
  /**
   * Perform one action. Throw typed errors (src/errors.ts); honour `signal` (aborted on shutdown deadline).
   * `desired` is what this reconcile's plan was made from; an action may read from it what cannot have
   * changed since (anything the key's own earlier actions may have written must be read again).
   * `origin` is this reconcile's (loop, key): every store write the action makes goes through
   * `store.writerFor(origin)`, so the change feed knows it as the key's own write (it does not wake the key
   * again) however the action's awaits fall.
   */
  apply(
    key: string,
    action: Action,
    signal: AbortSignal,
    desired: Desired | undefined,
    origin: WriteOrigin,
  ): Promise<void>;
}

export interface LoopDeps<Action extends LoopAction = LoopAction> {
  /** Only the change-detection part of the store is used by the runtime. */
  store: Pick<DesiredStateStore, 'generation' | 'changesSince' | 'onChange'>;
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
  /** The shared Docker informer; the loop subscribes to the kinds its definition `watches`. */
  informer?: InformerEvents;
  /** How often the change feed's generation is checked (cheap when nothing changed). */
  pollIntervalMs: number;
  /** Full resync period (insurance, not the trigger); each period is jittered ±10 %. */
  resyncIntervalMs: number;
  /** Bounded executor size: keys reconciled at the same time. */
  maxConcurrentReconciles: number;
  /** Most keys waiting in the queue before adds push back into the overflow set. */
  maxQueueDepth: number;
  /** Backoff cap per key. Default 1 000 000 ms (client-go); loops use ~30 000. */
  maxBackoffMs?: number;
  /** First backoff delay. Default 5 ms (client-go). */
  baseBackoffMs?: number;
  /** Overall retry rate of the loop, all keys together (token bucket). Default 10 per second (client-go). */
  retryQps?: number;
  /** Token bucket size: retries allowed at once before the rate applies. Default 100 (client-go). */
  retryBurst?: number;
  /** Actions of one key applied at the same time (independent actions of a plan). Default 8. */
  maxParallelActionsPerKey?: number;
  /**
   * Check the rule that a plan made only of store-only actions is a fixed point: after applying one, plan
   * again and fail the reconcile (terminal InternalError) if anything is left. On in tests (the runtime
   * harness); off in production, where it would cost an observe per store-only plan.
   */
  checkStoreOnlyFixedPoint?: boolean;
  /** Observe and plan only: `apply` is never called. */
  dryRun?: boolean;
  /** Called with every plan (both modes), e.g. to print or serve dry-run output. */
  onPlan?: (key: string, plan: LoopPlan<Action>) => void;
  /** Source of jitter in [0, 1); default Math.random. */
  random?: () => number;
}

/** The last terminal error of a key: it is not retried until the key changes or is nudged. */
export interface TerminalErrorRecord {
  code: ErrorCode;
  /** Upstream reason form `<code>: <message>` (fact sheet 4.6). */
  reason: string;
  atMs: number;
  error: unknown;
}

export interface Loop<Action extends LoopAction = LoopAction> {
  readonly name: string;
  /** idle → running: full resync now, then poll every pollIntervalMs, resync with jitter, poll on store writes. */
  start(): void;
  /**
   * Queue `key` now (e.g. a Docker event). Clears a terminal-error hold. Returns false when the queue pushed
   * back (the key is kept and worked later) or the loop is stopping.
   */
  nudge(key: string): boolean;
  /** Stop taking work; after `deadlineMs` abort in-flight reconciles through their AbortSignal; wait for them. */
  stop(deadlineMs: number): Promise<void>;
  state(): LoopState;
  /** Queue every key and resolve once no key is queued or in flight (delayed retries are not waited for). */
  syncOnce(): Promise<void>;
  /** The latest plan per key (keys whose object is gone and converged are dropped). */
  lastPlans(): ReadonlyMap<string, LoopPlan<Action>>;
  lastTerminalError(key: string): TerminalErrorRecord | undefined;
}
