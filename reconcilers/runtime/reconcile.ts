/**
 * One reconcile of one key: readDesired → observe → plan → apply each action in order, stopping at the first
 * failure. Never throws: every failure comes back as an outcome for the loop to classify and count. Knows
 * nothing about queues or metrics.
 */
import { classifyError, type ErrorClass, InternalError } from '../../src/errors.js';
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
      /** The action that failed, if any. */
      failedAction?: Action;
    };

export interface ReconcileContext<Action extends LoopAction> {
  nowMs(): number;
  dryRun: boolean;
  signal: AbortSignal;
  /** Called once the plan is known and validated, before any action is applied. */
  onPlanned(plan: LoopPlan<Action>): void;
  /** Called before each action is applied. */
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
  let current: Action | undefined;
  try {
    const desired = definition.readDesired(key);
    const actual = await definition.observe(key, desired);
    plan = definition.plan(desired, actual, context.nowMs());
    validatePlan(definition.name, plan, allowedKinds);
    context.onPlanned(plan);
    if (!context.dryRun) {
      for (const action of plan.actions) {
        current = action;
        context.signal.throwIfAborted();
        context.onApplying(action);
        await definition.apply(key, action, context.signal, desired);
        appliedCount += 1;
      }
      current = undefined;
    }
    return { ok: true, plan, appliedCount, desiredAbsent: desired === undefined };
  } catch (error) {
    return { ok: false, error, errorClass: classifyError(error), plan, appliedCount, failedAction: current };
  }
}

/** A plan outside the loop's declared vocabulary is a programming error: retrying will not fix it. */
function validatePlan(loop: string, plan: LoopPlan<LoopAction>, allowedKinds: ReadonlySet<string>): void {
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
}
