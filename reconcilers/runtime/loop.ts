/**
 * The loop runtime shared by every reconcile loop (design.md "Data flow" 3): level-triggered reconciles of
 * keys through a client-go style work queue. The work queue decides *which* key runs (dedupe, per-key
 * exclusivity, backoff, push-back); the worker bound (`maxConcurrentReconciles`) decides *how many* keys
 * read, observe, plan and write the store at once.
 *
 * A worker is held only for work that uses the CPU or the store: it is released as soon as a reconcile
 * starts its first action that is not store-only (a Docker call), so a `docker stop` waiting out its grace
 * period, or a create waiting for the agent-wide Docker mutation bound (mutation-limiter.ts), never delays
 * another key's reconcile — in particular the recording of a status the informer just reported. The key
 * stays "processing" in the work queue until its actions settle, so it is still never worked twice at once.
 *
 * Outcome rules (controller-runtime's, see notes/style.md anchors):
 * - converged (empty plan): forget the backoff; result `success`.
 * - applied ≥ 1 action: queue the key again to verify the effect; result `requeue`. Not when every action is
 *   store-only (`storeOnlyActionKinds`): the plan already saw the state it wrote, so another look would
 *   plan nothing — it is handled as converged (or `requeue_after`). Nor for detached actions
 *   (`detachedActionKinds`): the operation queues the key when it settles.
 * - empty plan with requeueAfterMs: addAfter; result `requeue_after`.
 * - transient / throttled error: addRateLimited — the max of the key's backoff (5 ms × 2^n, capped) and the
 *   loop-wide token bucket (10 qps, burst 100; rate-limiter.ts); result `error`.
 * - terminal error: record, count by code, forget, hold until the key changes; result `error`.
 */
import { classifyError, type ErrorCode, errorMessage, InternalError, isEcsdError } from '../../src/errors.js';
import type { ReconcileResult } from '../../src/metrics/reconcile.js';
import { runSoon } from '../../src/util/microtask.js';
import { createControllerRateLimiter } from './rate-limiter.js';
import { type ReconcileOutcome, reconcileKey } from './reconcile.js';
import { Triggers } from './triggers.js';
import type { Loop, LoopAction, LoopDefinition, LoopDeps, LoopPlan, LoopState, TerminalErrorRecord } from './types.js';
import { WorkQueue } from './work-queue.js';

/** Independent actions of one key applied at once (e.g. stops of a task's unordered containers). */
export const DEFAULT_MAX_PARALLEL_ACTIONS_PER_KEY = 8;

export function createLoop<Desired, Actual, Action extends LoopAction>(
  definition: LoopDefinition<Desired, Actual, Action>,
  deps: LoopDeps<Action>,
): Loop<Action> {
  const { clock, maxConcurrentReconciles } = deps;
  if (!(Number.isInteger(maxConcurrentReconciles) && maxConcurrentReconciles >= 1)) {
    throw new RangeError(`maxConcurrentReconciles must be a positive integer (got ${maxConcurrentReconciles})`);
  }
  const name = definition.name;
  const dryRun = deps.dryRun ?? false;
  const logger = deps.logger.child({ loop: name });
  const metrics = deps.metrics.registerLoop({ name, actionKinds: definition.actionKinds, maxConcurrentReconciles });
  const allowedKinds: ReadonlySet<string> = new Set(definition.actionKinds);

  let state: LoopState = 'idle';
  /** Workers held: reconciles reading, observing, planning or applying store-only actions. */
  let workersBusy = 0;
  /** Every reconcile not finished, holding a worker or not. */
  const running = new Set<Promise<void>>();
  const maxParallelActions = deps.maxParallelActionsPerKey ?? DEFAULT_MAX_PARALLEL_ACTIONS_PER_KEY;
  let pumpScheduled = false;
  let stopping: Promise<void> | undefined;
  let unsubscribeInformer: Array<() => void> = [];
  const controllers = new Set<AbortController>();
  const plans = new Map<string, LoopPlan<Action>>();
  const terminalErrors = new Map<string, TerminalErrorRecord>();
  let drainWaiters: Array<() => void> = [];

  const queue = new WorkQueue({
    clock,
    maxDepth: deps.maxQueueDepth,
    backoff: createControllerRateLimiter({
      clock,
      baseDelayMs: deps.baseBackoffMs,
      maxDelayMs: deps.maxBackoffMs,
      qps: deps.retryQps,
      burst: deps.retryBurst,
    }),
    metrics: metrics.queue,
    onReady: () => schedulePump(),
  });
  const triggers = new Triggers({
    store: deps.store,
    clock,
    logger,
    pollIntervalMs: deps.pollIntervalMs,
    resyncIntervalMs: deps.resyncIntervalMs,
    random: deps.random ?? Math.random,
    loop: name,
    watchedTables: definition.watchedTables,
    keys: () => definition.keys(),
    keysForChange: (change) => definition.keysForChange(change),
    enqueue: (key) => {
      queue.add(key);
    },
  });

  const storeOnlyKinds: ReadonlySet<string> = new Set(definition.storeOnlyActionKinds ?? []);
  const isStoreOnly = (action: Action): boolean => storeOnlyKinds.has(action.kind);
  const detachedKinds: ReadonlySet<string> = new Set(definition.detachedActionKinds ?? []);
  const isDetached = (action: Action): boolean => detachedKinds.has(action.kind);
  /** key → operation id → the detached action in flight. */
  const operations = new Map<string, Map<string, Action>>();
  const noOperations: ReadonlyMap<string, Action> = new Map();

  /**
   * Runs a detached action outside the reconcile that started it (and outside the worker bound), under the
   * same write origin; when it settles the key is queued again (success) or retried/held like any failure.
   */
  function startDetached(key: string, action: Action, run: (signal: AbortSignal) => Promise<void>): void {
    const id = action.id ?? action.kind;
    let ops = operations.get(key);
    if (ops === undefined) {
      ops = new Map();
      operations.set(key, ops);
    }
    ops.set(id, action);
    const controller = new AbortController();
    controllers.add(controller);
    const finish = (): void => {
      controllers.delete(controller);
      ops.delete(id);
      if (ops.size === 0 && operations.get(key) === ops) operations.delete(key);
    };
    const operation = run(controller.signal).then(
      () => {
        finish();
        if (accepting()) queue.add(key);
      },
      (error: unknown) => {
        finish();
        const errorClass = classifyError(error);
        metrics.reconcile.incErrors();
        metrics.reconcile.incResult('error');
        if (errorClass === 'terminal') holdTerminal(key, error, clock.nowMs());
        else retry(key, { ok: false, error, errorClass, appliedCount: 0, failedAction: action });
      },
    );
    running.add(operation);
    void operation.finally(() => {
      running.delete(operation);
      notifyIfDrained();
    });
  }
  const accepting = (): boolean => state === 'idle' || state === 'running';

  // Pumping on a microtask keeps reconciles from starting inside the caller of add() (a store write, a
  // timer, another key's outcome handling), so no code path re-enters the queue mid-update.
  function schedulePump(): void {
    if (pumpScheduled) return;
    pumpScheduled = true;
    runSoon(() => {
      pumpScheduled = false;
      pump();
    });
  }

  function pump(): void {
    while (accepting() && workersBusy < maxConcurrentReconciles) {
      const key = queue.get();
      if (key === undefined) break;
      workersBusy += 1;
      metrics.reconcile.setActiveWorkers(workersBusy);
      const reconcile = work(key).catch((error: unknown) => {
        logger.error('reconcile bookkeeping failed', { key, error: errorMessage(error) });
      });
      running.add(reconcile);
      void reconcile.finally(() => {
        running.delete(reconcile);
        notifyIfDrained();
      });
    }
    notifyIfDrained();
  }

  async function work(key: string): Promise<void> {
    const controller = new AbortController();
    controllers.add(controller);
    const startedMs = clock.nowMs();
    let holdsWorker = true;
    const releaseWorker = (): void => {
      if (!holdsWorker) return;
      holdsWorker = false;
      workersBusy -= 1;
      metrics.reconcile.setActiveWorkers(workersBusy);
      schedulePump();
    };
    try {
      // Every write this reconcile's actions make goes through store.writerFor(origin): the change feed then
      // does not wake the key for it (triggers.ts), while other keys it touches are woken.
      const outcome = await reconcileKey(definition, allowedKinds, key, {
        origin: { loop: name, key },
        nowMs: () => clock.nowMs(),
        dryRun,
        signal: controller.signal,
        maxParallelActions,
        isStoreOnly,
        isDetached,
        startDetached: (action, run) => startDetached(key, action, run),
        inFlight: () => operations.get(key) ?? noOperations,
        checkStoreOnlyFixedPoint: deps.checkStoreOnlyFixedPoint ?? false,
        onPlanned: (plan) => recordPlan(key, plan),
        onApplying: (action) => {
          logger.debug('applying action', { key, kind: action.kind, reason: action.reason });
          // From here the reconcile waits on Docker: give the worker to another key.
          if (!isStoreOnly(action)) releaseWorker();
        },
      });
      settle(key, outcome, startedMs);
    } catch (error) {
      // settle() is bookkeeping only; reaching here is a runtime bug. Retry rather than lose the key.
      logger.error('reconcile bookkeeping failed', { key, error: errorMessage(error) });
      queue.addRateLimited(key);
    } finally {
      controllers.delete(controller);
      queue.done(key);
      releaseWorker();
      schedulePump();
    }
  }

  function recordPlan(key: string, plan: LoopPlan<Action>): void {
    plans.set(key, plan);
    for (const action of plan.actions) metrics.reconcile.incPlannedActions(action.kind);
    // One info line per plan with actions an operator wants to see (the Docker side); store-only bookkeeping
    // is frequent and visible through its effects, so it stays at debug with each action.
    const shown = dryRun ? [] : plan.actions.filter((action) => !isStoreOnly(action));
    if (shown.length > 0) logger.info('applying actions', { key, actions: shown.map((a) => `${a.kind}: ${a.reason}`) });
    if (plan.actions.length > 0) {
      logger.debug('planned', { key, actions: plan.actions.map((a) => `${a.kind}: ${a.reason}`), dryRun });
    }
    try {
      deps.onPlan?.(key, plan);
    } catch (error) {
      logger.warn('onPlan callback failed', { key, error: errorMessage(error) });
    }
  }

  function settle(key: string, outcome: ReconcileOutcome<Action>, startedMs: number): void {
    const nowMs = clock.nowMs();
    metrics.reconcile.observeReconcileSeconds(Math.max(0, nowMs - startedMs) / 1000);
    let result: ReconcileResult;
    if (!outcome.ok) {
      result = 'error';
      metrics.reconcile.incErrors();
      if (outcome.errorClass === 'terminal') holdTerminal(key, outcome.error, nowMs);
      else retry(key, outcome);
    } else {
      queue.forget(key);
      terminalErrors.delete(key);
      triggers.unpark(key);
      metrics.reconcile.setLastSuccess(nowMs / 1000);
      const { plan } = outcome;
      // A detached operation queues the key itself when it settles: that is its verification.
      if (outcome.appliedCount > 0 && plan.actions.some((action) => !isStoreOnly(action) && !isDetached(action))) {
        // Level-triggered: the effect is verified by a fresh observe, through the queue (never recursion).
        result = 'requeue';
        queue.add(key);
      } else if (plan.requeueAfterMs !== undefined) {
        result = 'requeue_after';
        queue.addAfter(key, plan.requeueAfterMs);
      } else {
        result = 'success';
        // The object is gone and nothing is left to do: drop its plan so the map tracks live keys only.
        if (outcome.desiredAbsent && plan.actions.length === 0) plans.delete(key);
      }
    }
    metrics.reconcile.incResult(result);
  }

  function retry(key: string, outcome: Extract<ReconcileOutcome<Action>, { ok: false }>): void {
    if (!accepting()) {
      logger.debug('reconcile ended while stopping', { key, error: errorMessage(outcome.error) });
      return;
    }
    const delayMs = queue.addRateLimited(key);
    logger.warn('reconcile failed; retrying with backoff', {
      key,
      errorClass: outcome.errorClass,
      error: errorMessage(outcome.error),
      action: outcome.failedAction?.kind,
      attempt: queue.numRequeues(key),
      retryInMs: delayMs,
    });
  }

  function holdTerminal(key: string, error: unknown, nowMs: number): void {
    const code: ErrorCode = isEcsdError(error) ? error.code : 'InternalError';
    const reason = isEcsdError(error) ? error.toReason() : `${code}: ${errorMessage(error)}`;
    terminalErrors.set(key, { code, reason, atMs: nowMs, error });
    metrics.reconcile.incTerminalErrors(code);
    queue.forget(key);
    triggers.park(key);
    logger.error('reconcile failed terminally; not retried until the key changes', {
      key,
      code,
      reason,
      ...(isEcsdError(error) ? { context: error.context } : {}),
    });
  }

  function notifyIfDrained(): void {
    if (drainWaiters.length === 0) return;
    if (accepting() && !(queue.isIdle() && running.size === 0)) return;
    const waiters = drainWaiters;
    drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  function start(): void {
    if (state !== 'idle') {
      throw new InternalError(`loop "${name}" cannot start from state ${state}`, { errorClass: 'terminal' });
    }
    state = 'running';
    logger.info('loop started', {
      dryRun,
      pollIntervalMs: deps.pollIntervalMs,
      resyncIntervalMs: deps.resyncIntervalMs,
      maxConcurrentReconciles,
      maxQueueDepth: deps.maxQueueDepth,
    });
    triggers.start();
    subscribeInformer();
  }

  /** Docker changes of the watched kinds wake the keys they map to, like a nudge. */
  function subscribeInformer(): void {
    const { informer } = deps;
    const watches = definition.watches ?? [];
    if (informer === undefined || watches.length === 0) return;
    unsubscribeInformer = watches.map((watch) =>
      informer.subscribe(watch.kind, (change) => {
        try {
          for (const key of watch.keysFor(change)) nudge(key);
        } catch (error) {
          logger.error('mapping a Docker change to keys failed', { kind: change.kind, error: errorMessage(error) });
        }
      }),
    );
  }

  function nudge(key: string): boolean {
    if (!accepting()) return false;
    triggers.unpark(key);
    return queue.add(key);
  }

  async function syncOnce(): Promise<void> {
    if (!accepting()) {
      throw new InternalError(`loop "${name}" is ${state}; syncOnce needs an idle or running loop`, {
        errorClass: 'terminal',
      });
    }
    const drained = new Promise<void>((resolve) => drainWaiters.push(resolve));
    try {
      for (const key of definition.keys()) queue.add(key);
    } catch (error) {
      logger.error('listing keys for syncOnce failed', { error: errorMessage(error) });
    }
    schedulePump();
    await drained;
  }

  function stop(deadlineMs: number): Promise<void> {
    if (stopping !== undefined) return stopping;
    stopping = (async () => {
      state = 'stopping';
      triggers.stop();
      for (const unsubscribe of unsubscribeInformer) unsubscribe();
      unsubscribeInformer = [];
      queue.shutDown();
      notifyIfDrained();
      logger.info('loop stopping', { inFlight: running.size, deadlineMs });
      const deadline = clock.setTimeout(() => {
        if (controllers.size === 0) return;
        logger.warn('stop deadline passed; aborting in-flight reconciles', { inFlight: controllers.size });
        const reason = new InternalError(`loop "${name}" stopped before the reconcile finished`, {
          context: { loop: name, deadlineMs },
        });
        for (const controller of controllers) controller.abort(reason);
      }, deadlineMs);
      try {
        while (running.size > 0) await Promise.allSettled([...running]);
      } finally {
        deadline.cancel();
        state = 'stopped';
        logger.info('loop stopped');
      }
    })();
    return stopping;
  }

  return {
    name,
    start,
    nudge,
    stop,
    state: () => state,
    syncOnce,
    lastPlans: () => plans,
    lastTerminalError: (key) => terminalErrors.get(key),
  };
}
