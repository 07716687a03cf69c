/**
 * The pull step of the containers planner (fact sheet 4.3 PULLED, 4.6, 7.1): a container heading to RUNNING
 * passes PULLED before it is created. The images loop does the pulling; this step only reads where the pull
 * of the container's image stands (the store's pull record and the engine's images, in `actual`) and
 * decides through the shared policy (reconcilers/images/pull-policy.ts): go on (known PULLED), wait (the
 * task's `waitingFor` says so), or fail (the container reason `CannotPullContainerError: …`, and under
 * always/once the whole task stops).
 *
 * The images loop starts a pull for the containers `mayPull` names whose task has `pullStartedAtMs`, which
 * this step sets: so a pull is asked for by the task record, and both loops judge it by one rule.
 */
import { normalizeImageRef } from '../../src/docker/informer-images.js';
import type { ImagePullRecord } from '../../src/store/records.js';
import { type ImageFacts, isPullWait, type PullSettings, pullVerdict } from '../images/pull-policy.js';
import { type DependencyGraph, evaluateDependencies } from './plan-dependencies.js';
import { failContainer, isHeadingToRunning } from './plan-progress.js';
import {
  isBelowPulled,
  type PlanState,
  raiseContainerKnown,
  raiseTaskDesired,
  type WorkContainer,
} from './plan-state.js';
import type { ContainersActual } from './types.js';

export interface PullContext {
  settings: PullSettings;
  /** Whether the task may do work on the host yet (admission, fact sheet 4.8): no pull before that. */
  admitted: boolean;
}

/**
 * Whether the container's image may be pulled now: it is still to reach PULLED on its way to RUNNING, and
 * its dependencies are met — or not yet met but still possible, with ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT
 * (fact sheet 4.5: by default a pull waits for the dependency, upfront it does not).
 */
export function mayPull(state: PlanState, graph: DependencyGraph, c: WorkContainer, upfront: boolean): boolean {
  if (!isHeadingToRunning(state, c) || !isBelowPulled(c.rec.knownStatus) || c.exitHeld !== undefined) return false;
  if (graph.problem !== undefined) return false;
  const verdict = evaluateDependencies(state, graph, c);
  return verdict.kind === 'satisfied' || (upfront && verdict.kind === 'blocked');
}

export function imageFacts(
  image: string,
  imagesPresent: ReadonlySet<string>,
  pulls: ReadonlyMap<string, ImagePullRecord> | undefined,
): ImageFacts {
  return { present: imagesPresent.has(image), pull: pulls?.get(normalizeImageRef(image)) };
}

/** One round of the pull step over the task's containers. Returns whether anything changed. */
export function applyPullSteps(
  state: PlanState,
  graph: DependencyGraph,
  actual: ContainersActual,
  context: PullContext,
): boolean {
  if (!context.admitted) return false;
  let changed = false;
  for (const c of state.containers) {
    if (!mayPull(state, graph, c, context.settings.dependentContainersUpfront)) continue;
    const facts = imageFacts(c.spec.image, actual.imagesPresent, actual.pulls);
    // Not waiting yet: it would start waiting now, so a pull that ends from now on serves it. (The record
    // read was written before `nowMs`, so this plan and the one after its record agree: a fixed point.)
    const waitStartMs = state.task.pullStartedAtMs ?? state.nowMs;
    const verdict = pullVerdict(
      context.settings,
      { image: c.spec.image, essential: c.spec.essential },
      facts,
      waitStartMs,
    );
    switch (verdict.kind) {
      case 'ready': {
        const why =
          verdict.fallback !== undefined
            ? `pull failed, using the local image: ${verdict.fallback}`
            : verdict.pulled
              ? `image ${c.spec.image} pulled`
              : `image ${c.spec.image} is local and ${context.settings.behavior} needs no pull`;
        changed = raiseContainerKnown(state, c, 'PULLED', why) || changed;
        break;
      }
      case 'wait':
        state.pullWaits.set(c.name, verdict.waitingFor);
        break;
      case 'failed':
        changed = failContainer(state, c, verdict.reason, undefined) || changed;
        // always/once: a failed pull stops the task (fact sheet 4.6), whatever the container's essential flag
        // (with pulls upfront, only an essential container's does; 7.1).
        if (verdict.stopsTask) {
          changed = raiseTaskDesired(state, 'STOPPED', `container ${c.name}: ${verdict.reason}`) || changed;
        }
        break;
    }
  }
  return changed;
}

/**
 * After the rules: the task's pull times and waiting text. `pullStartedAtMs` is set when its first container
 * starts waiting (it is also the images loop's request), `pullStoppedAtMs` once none is left below PULLED;
 * the waiting text names the first waiting container's pull, and is cleared (to '') once none waits.
 */
export function recordPullWaits(state: PlanState): void {
  const waiting = state.containers.filter(
    (c) => state.pullWaits.has(c.name) && isHeadingToRunning(state, c) && isBelowPulled(c.rec.knownStatus),
  );
  const task = state.task;
  const first = waiting[0];
  if (first !== undefined) {
    if (task.pullStartedAtMs === undefined) task.pullStartedAtMs = state.nowMs;
    const text = state.pullWaits.get(first.name);
    if (text !== undefined && task.waitingFor !== text) {
      if (!isPullWait(state.taskBefore.waitingFor)) state.notes.push(`task: ${text}`);
      task.waitingFor = text;
    }
    return;
  }
  if (isPullWait(task.waitingFor)) task.waitingFor = '';
  if (task.pullStartedAtMs === undefined || task.pullStoppedAtMs !== undefined) return;
  const stillToPull = state.containers.some((c) => isHeadingToRunning(state, c) && isBelowPulled(c.rec.knownStatus));
  if (!stillToPull) task.pullStoppedAtMs = state.nowMs;
}
