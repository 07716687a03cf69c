/**
 * A plan's actions as a small graph. Each action may name itself (`id`) and what it waits for (`after`);
 * an action without `after` waits for every action listed before it (a plain list stays sequential), and
 * `after: []` means it waits for nothing. Ready actions run concurrently, at most `maxParallel` at once;
 * when one fails, nothing that waits for it (directly or not) is started, actions already running finish,
 * and the first failure is reported. Only earlier actions may be waited for, so a graph has no cycle.
 */
import { InternalError } from '../../src/errors.js';
import type { LoopAction } from './types.js';

export interface GraphRunOptions<Action extends LoopAction> {
  maxParallel: number;
  signal: AbortSignal;
  /** Called as each action starts (the runtime logs it and releases the loop worker for Docker actions). */
  onStart(action: Action): void;
  apply(action: Action): Promise<void>;
}

export interface GraphRunResult<Action extends LoopAction> {
  appliedCount: number;
  /** The first failure, with its action. */
  failure?: { action: Action; error: unknown };
}

/** For each action, the indexes of the actions it waits for. Throws a terminal InternalError for a bad `after`. */
export function actionPrerequisites(loop: string, actions: readonly LoopAction[]): number[][] {
  const indexById = new Map<string, number>();
  return actions.map((action, index) => {
    let waitsFor: number[];
    if (action.after === undefined) {
      waitsFor = index === 0 ? [] : [index - 1];
    } else {
      waitsFor = action.after.map((id) => {
        const at = indexById.get(id);
        if (at === undefined) {
          throw new InternalError(`plan of loop "${loop}": action ${action.kind} waits for unknown or later "${id}"`, {
            errorClass: 'terminal',
            context: { loop, kind: action.kind, after: id },
          });
        }
        return at;
      });
    }
    if (action.id !== undefined) {
      if (indexById.has(action.id)) {
        throw new InternalError(`plan of loop "${loop}": duplicate action id "${action.id}"`, {
          errorClass: 'terminal',
          context: { loop, id: action.id },
        });
      }
      indexById.set(action.id, index);
    }
    return waitsFor;
  });
}

export function runActionGraph<Action extends LoopAction>(
  actions: readonly Action[],
  prerequisites: readonly number[][],
  options: GraphRunOptions<Action>,
): Promise<GraphRunResult<Action>> {
  const { maxParallel, signal } = options;
  const state: Array<'waiting' | 'running' | 'done' | 'failed' | 'skipped'> = actions.map(() => 'waiting');
  let running = 0;
  let appliedCount = 0;
  let failure: GraphRunResult<Action>['failure'];
  return new Promise((resolve) => {
    const finishIfIdle = (): void => {
      if (running > 0) return;
      resolve(failure === undefined ? { appliedCount } : { appliedCount, failure });
    };
    const schedule = (): void => {
      for (let i = 0; i < actions.length && running < maxParallel; i++) {
        if (state[i] !== 'waiting') continue;
        const waits = prerequisites[i] ?? [];
        if (waits.some((j) => state[j] === 'failed' || state[j] === 'skipped')) {
          state[i] = 'skipped';
          continue;
        }
        if (!waits.every((j) => state[j] === 'done')) continue;
        if (signal.aborted) {
          failure ??= { action: actions[i]!, error: signal.reason };
          state[i] = 'skipped';
          continue;
        }
        start(i);
      }
      // Skips can unblock the skipping of later actions, never the start of one: one more pass settles them.
      for (let i = 0; i < actions.length; i++) {
        if (state[i] !== 'waiting') continue;
        if ((prerequisites[i] ?? []).some((j) => state[j] === 'failed' || state[j] === 'skipped')) state[i] = 'skipped';
      }
      finishIfIdle();
    };
    const start = (i: number): void => {
      const action = actions[i]!;
      state[i] = 'running';
      running += 1;
      let applied: Promise<void>;
      try {
        options.onStart(action);
        applied = options.apply(action);
      } catch (error) {
        applied = Promise.reject(error);
      }
      applied.then(
        () => {
          state[i] = 'done';
          appliedCount += 1;
          running -= 1;
          schedule();
        },
        (error: unknown) => {
          state[i] = 'failed';
          failure ??= { action, error };
          running -= 1;
          schedule();
        },
      );
    };
    schedule();
  });
}
