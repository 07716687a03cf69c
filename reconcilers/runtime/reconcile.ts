/**
 * One reconcile of one key: readDesired → observe → plan → apply the plan's action graph (action-graph.ts).
 * Never throws: every failure comes back as an outcome for the loop to classify and count. Knows nothing
 * about queues or metrics.
 */
import { classifyError, type ErrorClass, InternalError } from '../../src/errors.js';
import type { WriteOrigin } from '../../src/store/records.js';
import { actionPrerequisites, runActionGraph } from './action-graph.js';
import type { LoopAction, LoopDefinition, LoopPlan } from './types.js';

export type ReconcileOutcome<Action extends LoopAction> =
  | {
      ok: true;
      plan: LoopPlan<Action>;
      /** Actions applied (0 in dry-run). */
      appliedCount: number;
      /** readDesired said the object is gone. */
      desiredAbsent: boolean;
    }
  | {
      ok: false;
      error: unknown;
      errorClass: ErrorClass;
      /** The plan, if the failure came while applying it. */
      plan?: LoopPlan<Action>;
      appliedCount: number;
      /** The action that failed first, if any. */
      failedAction?: Action;
    };

export interface ReconcileContext<Action extends LoopAction> {
  /** This reconcile's (loop, key), handed to every action so its store writes carry it. */
  origin: WriteOrigin;
  nowMs(): number;
  dryRun: boolean;
  signal: AbortSignal;
  /** Most actions of this key applied at once. */
  maxParallelActions: number;
  isStoreOnly(action: Action): boolean;
  isDetached(action: Action): boolean;
  /** Start a detached operation (see LoopDefinition.detachedActionKinds); the runtime tracks and settles it. */
  startDetached(action: Action, run: (signal: AbortSignal) => Promise<void>): void;
  /** The key's detached operations in flight, for observe. */
  inFlight(): ReadonlyMap<string, Action>;
  /** After a plan of store-only actions, plan again and fail if anything is left (see LoopDeps). */
  checkStoreOnlyFixedPoint: boolean;
  /** Called once the plan is known and validated, before any action is applied. */
  onPlanned(plan: LoopPlan<Action>): void;
  /** Called as each action starts. */
  onApplying(action: Action): void;
}

export async function reconcileKey<Desired, Actual, Action extends LoopAction>(
  definition: LoopDefinition<Desired, Actual, Action>,
  allowedKinds: ReadonlySet<string>,
  key: string,
  context: ReconcileContext<Action>,
): Promise<ReconcileOutcome<Action>> {
  let plan: LoopPlan<Action> | undefined;
  let appliedCount = 0;
  try {
    const desired = definition.readDesired(key);
    const actual = await definition.observe(key, desired, context.inFlight());
    plan = definition.plan(desired, actual, context.nowMs());
    const prerequisites = validatePlan(definition.name, plan, allowedKinds, (action) => context.isDetached(action));
    context.onPlanned(plan);
    if (!context.dryRun && plan.actions.length > 0) {
      context.signal.throwIfAborted();
      const result = await runActionGraph(plan.actions, prerequisites, {
        maxParallel: context.maxParallelActions,
        signal: context.signal,
        onStart: (action) => context.onApplying(action),
        apply: async (action) => {
          if (!context.isDetached(action))
            return definition.apply(key, action, context.signal, desired, context.origin);
          context.startDetached(action, (signal) => definition.apply(key, action, signal, desired, context.origin));
        },
      });
      appliedCount = result.appliedCount;
      if (result.failure !== undefined) {
        const { error, action } = result.failure;
        return { ok: false, error, errorClass: classifyError(error), plan, appliedCount, failedAction: action };
      }
      if (context.checkStoreOnlyFixedPoint && plan.actions.every((action) => context.isStoreOnly(action))) {
        await checkFixedPoint(definition, key, context);
      }
    }
    return { ok: true, plan, appliedCount, desiredAbsent: desired === undefined };
  } catch (error) {
    return { ok: false, error, errorClass: classifyError(error), plan, appliedCount };
  }
}

/**
 * The rule the runtime relies on to skip verifying store-only plans (loop.ts outcome rules): planning again
 * from the state they wrote gives nothing (docs/runtime.md).
 */
async function checkFixedPoint<Desired, Actual, Action extends LoopAction>(
  definition: LoopDefinition<Desired, Actual, Action>,
  key: string,
  context: ReconcileContext<Action>,
): Promise<void> {
  const desired = definition.readDesired(key);
  const again = definition.plan(desired, await definition.observe(key, desired, context.inFlight()), context.nowMs());
  if (again.actions.length === 0) return;
  throw new InternalError(
    `store-only plan of loop "${definition.name}" for ${key} is not a fixed point: planning again gave ${again.actions
      .map((action) => `${action.kind}: ${action.reason}`)
      .join('; ')}`,
    { errorClass: 'terminal', context: { loop: definition.name, key } },
  );
}

/**
 * A plan outside the loop's declared vocabulary, or whose graph names unknown actions, is a programming
 * error: retrying will not fix it. Returns each action's prerequisites.
 */
function validatePlan<Action extends LoopAction>(
  loop: string,
  plan: LoopPlan<Action>,
  allowedKinds: ReadonlySet<string>,
  isDetached: (action: Action) => boolean,
): number[][] {
  for (const action of plan.actions) {
    if (!allowedKinds.has(action.kind)) {
      throw new InternalError(`plan of loop "${loop}" returned undeclared action kind "${action.kind}"`, {
        errorClass: 'terminal',
        context: { loop, kind: action.kind, declared: [...allowedKinds] },
      });
    }
  }
  const after = plan.requeueAfterMs;
  if (after !== undefined && !(Number.isFinite(after) && after >= 0)) {
    throw new InternalError(`plan of loop "${loop}" returned invalid requeueAfterMs ${after}`, {
      errorClass: 'terminal',
      context: { loop, requeueAfterMs: after },
    });
  }
  const prerequisites = actionPrerequisites(loop, plan.actions);
  // A detached action counts as applied once started: nothing could wait for its effect.
  prerequisites.forEach((waits, index) => {
    const detached = waits.map((j) => plan.actions[j]!).find((action) => isDetached(action));
    if (detached === undefined) return;
    throw new InternalError(
      `plan of loop "${loop}": action ${plan.actions[index]?.kind} waits for detached action ${detached.kind}`,
      { errorClass: 'terminal', context: { loop, kind: plan.actions[index]?.kind, detached: detached.kind } },
    );
  });
  return prerequisites;
}
