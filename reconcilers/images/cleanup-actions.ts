/**
 * The image-cleanup loop's plan: one cycle's deletions (plan-cleanup.ts) as the loop's actions, each with the
 * reason an operator (or dry-run) reads — the trigger and cycle, where the deletion stands against the
 * per-cycle numbers, and the planner's own why (age, disk use and watermarks, untracked). Pure.
 *
 * A cycle's plan, applied in order: `start-cycle` (takes the cycle, so planning it again gives nothing: the
 * per-cycle count cannot be spent twice), one `remove-image` / `remove-container` per deletion, then
 * `finish-cycle` (the closing summary). A deletion that fails is recorded by its action and does not fail
 * it (cleanup.ts), so the next deletion of the cycle still runs.
 */
import type { LoopAction, LoopPlan } from '../runtime/types.js';
import type { CleanupCycleRequest } from './cleanup-cycles.js';
import {
  type CleanupDeletion,
  type ImageCleanupInput,
  planImageCleanup,
  type RemoveContainerDeletion,
  type RemoveImageDeletion,
} from './plan-cleanup.js';

export const CLEANUP_ACTION_KINDS = ['start-cycle', 'remove-image', 'remove-container', 'finish-cycle'] as const;
export type CleanupActionKind = (typeof CLEANUP_ACTION_KINDS)[number];
/** Kinds that touch only the loop's own cycle record, never Docker. */
export const CLEANUP_BOOKKEEPING_KINDS: readonly CleanupActionKind[] = ['start-cycle', 'finish-cycle'];

/** While the sources are not ready, a due cycle is looked at again this often (it waits, it is not dropped). */
export const SOURCES_READY_RECHECK_MS = 5_000;

interface CycleAction extends LoopAction {
  request: CleanupCycleRequest;
}
export interface StartCycleAction extends CycleAction {
  kind: 'start-cycle';
  planned: number;
}
export interface RemoveImageAction extends CycleAction {
  kind: 'remove-image';
  deletion: RemoveImageDeletion;
}
export interface RemoveContainerAction extends CycleAction {
  kind: 'remove-container';
  deletion: RemoveContainerDeletion;
}
export interface FinishCycleAction extends CycleAction {
  kind: 'finish-cycle';
}
export type CleanupAction = StartCycleAction | RemoveImageAction | RemoveContainerAction | FinishCycleAction;

/** The cycle due, or undefined when none was asked for. */
export type CleanupDesired = CleanupCycleRequest;

export type CleanupActual =
  /** No cycle due that is not taken already: nothing was read. */
  | { state: 'nothing-due'; startedCycle: number }
  /** Sources-ready gate closed (kubelet's rule: an image no stored task names may be a task's not yet written). */
  | { state: 'sources-not-ready'; startedCycle: number }
  | { state: 'observed'; startedCycle: number; input: ImageCleanupInput };

export function planCleanupCycle(
  desired: CleanupDesired | undefined,
  actual: CleanupActual,
  nowMs: number,
): LoopPlan<CleanupAction> {
  if (desired === undefined || desired.cycle <= actual.startedCycle) return { actions: [] };
  if (actual.state === 'nothing-due') return { actions: [] };
  if (actual.state === 'sources-not-ready') return { actions: [], requeueAfterMs: SOURCES_READY_RECHECK_MS };
  const input: ImageCleanupInput = { ...actual.input, trigger: desired.trigger, nowMs };
  const plan = planImageCleanup(input);
  const name = `${desired.trigger} cycle ${desired.cycle}`;
  const disk =
    plan.diskUsedPercent === undefined
      ? 'disk use unknown'
      : `disk ${plan.diskUsedPercent.toFixed(1)} % used, projected ${plan.projectedUsedPercent?.toFixed(1)} %`;
  const counters = { tracked: 0, untrackedImage: 0, untrackedContainer: 0, diskPressure: 0 };
  const deletions = plan.deletions.map((deletion): RemoveImageAction | RemoveContainerAction =>
    deletion.kind === 'remove-image'
      ? {
          kind: 'remove-image',
          request: desired,
          deletion,
          reason: `${name}, ${standing(deletion, input, counters)}: ${deletion.reason}`,
        }
      : {
          kind: 'remove-container',
          request: desired,
          deletion,
          reason: `${name}, ${standing(deletion, input, counters)}: ${deletion.reason}`,
        },
  );
  return {
    actions: [
      {
        kind: 'start-cycle',
        request: desired,
        planned: deletions.length,
        reason: `${name}: ${deletions.length} deletion(s) planned (${disk})`,
      },
      ...deletions,
      { kind: 'finish-cycle', request: desired, reason: `${name}: done after its ${deletions.length} deletion(s)` },
    ],
  };
}

/** Where a deletion stands against the cycle's numbers: which rule chose it and how many of the allowed. */
function standing(
  deletion: CleanupDeletion,
  input: ImageCleanupInput,
  counters: { tracked: number; untrackedImage: number; untrackedContainer: number; diskPressure: number },
): string {
  const perCycle = Math.max(1, input.config.numImagesDeletePerCycle);
  if (deletion.kind === 'remove-container') {
    counters.untrackedContainer += 1;
    return `untracked container ${counters.untrackedContainer} of at most ${input.config.numNonEcsContainersDeletePerCycle} per cycle (NONECS_NUM_CONTAINERS_DELETE_PER_CYCLE)`;
  }
  switch (deletion.step) {
    case 'tracked':
      counters.tracked += 1;
      return `image ${counters.tracked} of at most ${perCycle} per cycle (ECS_NUM_IMAGES_DELETE_PER_CYCLE)`;
    case 'untracked':
      counters.untrackedImage += 1;
      return `untracked image ${counters.untrackedImage} (ECS_ENABLE_UNTRACKED_IMAGE_CLEANUP), within ECS_NUM_IMAGES_DELETE_PER_CYCLE (${perCycle}) less the tracked removals`;
    case 'disk-pressure':
      counters.diskPressure += 1;
      return `disk-pressure removal ${counters.diskPressure}, beyond the per-cycle number`;
  }
}
