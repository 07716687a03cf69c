/**
 * Task-level rules of the state machine (fact sheet 4.3, 4.4): the essential-container rule, pushing the
 * task's desired status down to containers, marking containers that will never run as STOPPED, and the
 * task's known status as the minimum over its containers.
 */
import { type ContainerStatus, containerStatusRank, type TaskStatus, taskStatusRank } from '../../src/model/status.js';
import { isEngineWaitReason } from './plan-reasons.js';
import {
  isBelowRunning,
  isSteady,
  isStopped,
  type PlanState,
  raiseContainerDesired,
  raiseContainerKnown,
  raiseTaskDesired,
  raiseTaskKnown,
} from './plan-state.js';

/**
 * The executor's "Docker engine unavailable" note on a task (plan-reasons.ts) is cleared once the engine
 * answered — a container reached RUNNING — or the task is stopping, so it is never reported as a STOPPED
 * reason. Cleared to '' (a patch cannot unset a field); an empty reason is never reported.
 */
export function clearEngineWaitReason(state: PlanState): boolean {
  if (!isEngineWaitReason(state.task.reason)) return false;
  const running = state.containers.some((c) => c.rec.startedAtMs !== undefined || isSteady(c.rec.knownStatus));
  if (!running && state.task.desiredStatus !== 'STOPPED') return false;
  state.task.reason = '';
  state.notes.push('task: Docker answers again; waiting note cleared');
  return true;
}

/** Any essential container known-or-desired STOPPED stops the task (fact sheet 4.4). */
export function applyEssentialRule(state: PlanState): boolean {
  if (state.task.desiredStatus === 'STOPPED') return false;
  for (const c of state.containers) {
    if (!c.spec.essential) continue;
    if (isStopped(c.rec.knownStatus)) {
      return raiseTaskDesired(state, 'STOPPED', `essential container ${c.name} stopped`);
    }
    if (isStopped(c.rec.desiredStatus)) {
      return raiseTaskDesired(state, 'STOPPED', `essential container ${c.name} is desired STOPPED`);
    }
  }
  // Every container stopped (only possible when none is essential, which ECS itself forbids): nothing can
  // ever run again, so the goal follows the fact.
  if (state.task.knownStatus === 'STOPPED') return raiseTaskDesired(state, 'STOPPED', 'every container stopped');
  return false;
}

/**
 * The task's desired status is pushed to every container (fact sheet 4.4): STOPPED → STOPPED, RUNNING → the
 * steady state. Desired status only rises, so a container that already failed stays desired STOPPED.
 */
export function pushTaskDesired(state: PlanState): boolean {
  const target: ContainerStatus | undefined =
    state.task.desiredStatus === 'STOPPED' ? 'STOPPED' : state.task.desiredStatus === 'RUNNING' ? 'RUNNING' : undefined;
  if (target === undefined) return false;
  let changed = false;
  for (const c of state.containers) {
    const why = target === 'STOPPED' ? 'task is stopping' : 'task is desired RUNNING';
    changed = raiseContainerDesired(state, c, target, why) || changed;
  }
  return changed;
}

/**
 * A container desired STOPPED that is not running is simply marked STOPPED, without a Docker call (fact
 * sheet 4.3). A container that exists in Docker is only judged once the view has synced: before that, a
 * recorded CREATED container might in fact be running.
 */
export function markNeverRanStopped(state: PlanState, viewSynced: boolean): boolean {
  let changed = false;
  for (const c of state.containers) {
    if (!isStopped(c.rec.desiredStatus) || !isBelowRunning(c.rec.knownStatus)) continue;
    if (c.rec.dockerId !== undefined && !viewSynced) continue;
    if (c.observed?.running) continue;
    changed = raiseContainerKnown(state, c, 'STOPPED', 'desired STOPPED and never started') || changed;
  }
  return changed;
}

/** Container status → the task status it allows (fact sheet 4.4). */
export function taskStatusForContainer(status: ContainerStatus): TaskStatus {
  switch (status) {
    case 'NONE':
      return 'NONE';
    case 'MANIFEST_PULLED':
    case 'PULLED':
      return 'MANIFEST_PULLED';
    case 'CREATED':
      return 'CREATED';
    case 'RUNNING':
    case 'RESOURCES_PROVISIONED':
      return 'RUNNING';
    case 'STOPPED':
    case 'ZOMBIE':
      return 'STOPPED';
  }
}

/**
 * Task known status = the minimum over its containers, never lowered. While an essential container is
 * STOPPED and the earliest container is still at steady state the task is not advanced: it stays where it
 * is until every container has stopped (fact sheet 4.4, upstream updateTaskKnownStatus).
 */
export function updateTaskKnown(state: PlanState): boolean {
  if (state.containers.length === 0) return false;
  let earliest = state.containers[0]!;
  let minimum: TaskStatus = 'ZOMBIE';
  let essentialStopped = false;
  for (const c of state.containers) {
    if (containerStatusRank(c.rec.knownStatus) < containerStatusRank(earliest.rec.knownStatus)) earliest = c;
    const mapped = taskStatusForContainer(c.rec.knownStatus);
    if (taskStatusRank(mapped) < taskStatusRank(minimum)) minimum = mapped;
    if (c.spec.essential && isStopped(c.rec.knownStatus)) essentialStopped = true;
  }
  if (essentialStopped && isSteady(earliest.rec.knownStatus)) return false;
  const why =
    minimum === 'STOPPED'
      ? 'every container stopped'
      : minimum === 'RUNNING'
        ? 'every container running'
        : `earliest container ${earliest.name} is ${earliest.rec.knownStatus}`;
  return raiseTaskKnown(state, minimum, why);
}

/** executionStoppedAt = the first time an essential container reached STOPPED (fact sheet 1.6). */
export function updateExecutionStoppedAt(state: PlanState): void {
  if (state.task.executionStoppedAtMs !== undefined) return;
  const stopped = state.containers.find((c) => c.spec.essential && isStopped(c.rec.knownStatus));
  if (!stopped) return;
  state.task.executionStoppedAtMs = state.nowMs;
  state.notes.push(`task: execution stopped (essential container ${stopped.name} stopped)`);
}
