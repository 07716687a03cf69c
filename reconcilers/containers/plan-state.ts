/**
 * The planner's working copy of one task: the records as read, a mutable copy the rules raise step by step,
 * and the diff between the two that becomes the `record` action. Every rule goes through the helpers here,
 * so statuses only ever rise (fact sheet 4.2) and each change leaves a human-readable note.
 */

import type { ObservedContainer } from '../../src/docker/types.js';
import { type ContainerStatus, containerStatusRank, type TaskStatus, taskStatusRank } from '../../src/model/status.js';
import type { ContainerSpec } from '../../src/model/task.js';
import type { ContainerPatch, ContainerRecord, TaskPatch, TaskRecord } from '../../src/store/records.js';
import type { ExitVerdict } from './plan-late-oom.js';
import { isEngineWaitReason } from './plan-reasons.js';
import type { ContainersActual, ContainersDesired } from './types.js';

export interface WorkContainer {
  readonly name: string;
  readonly spec: ContainerSpec;
  readonly before: Readonly<ContainerRecord>;
  /** Mutable copy; change it only through the helpers below. */
  readonly rec: ContainerRecord;
  readonly observed: ObservedContainer | undefined;
  /**
   * Set by observe when Docker shows the container exited but the exit cannot be recorded yet (a late OOM
   * report may still come, plan-late-oom.ts): the record keeps its status and no step is planned for it.
   */
  exitHeld: Exclude<ExitVerdict, { kind: 'settled' }> | undefined;
}

export interface PlanState {
  readonly taskBefore: Readonly<TaskRecord>;
  readonly task: TaskRecord;
  /** In task-definition order, so actions and reports come out in a stable order. */
  readonly containers: WorkContainer[];
  readonly byName: ReadonlyMap<string, WorkContainer>;
  readonly nowMs: number;
  /** What changed and why, in order; joined into the record action's reason. */
  readonly notes: string[];
  /** Containers waiting on an image pull, and what `ecsd tasks` shows for each (plan-pulls.ts). */
  readonly pullWaits: Map<string, string>;
}

const STOPPED_RANK = containerStatusRank('STOPPED');
const RUNNING_RANK = containerStatusRank('RUNNING');
const CREATED_RANK = containerStatusRank('CREATED');
const PULLED_RANK = containerStatusRank('PULLED');

/**
 * Joins container specs with their records by name. A spec without a record (the store writes one per spec,
 * so this means a torn write) is skipped: the planner cannot patch a row that does not exist.
 */
export function createPlanState(desired: ContainersDesired, actual: ContainersActual): PlanState {
  const records = new Map(desired.containers.map((r) => [r.name, r] as const));
  const containers: WorkContainer[] = [];
  for (const spec of desired.task.spec.containers) {
    const record = records.get(spec.name);
    if (!record) continue;
    containers.push({
      name: spec.name,
      spec,
      before: record,
      rec: { ...record, portBindings: [...record.portBindings] },
      observed: actual.containers.get(spec.name),
      exitHeld: undefined,
    });
  }
  return {
    taskBefore: desired.task,
    task: { ...desired.task },
    containers,
    byName: new Map(containers.map((c) => [c.name, c] as const)),
    nowMs: actual.nowMs,
    notes: [],
    pullWaits: new Map(),
  };
}

export function isStopped(status: ContainerStatus): boolean {
  return containerStatusRank(status) >= STOPPED_RANK;
}

/** Steady state: RUNNING, or RESOURCES_PROVISIONED for a pause container (fact sheet 4.2). */
export function isSteady(status: ContainerStatus): boolean {
  return status === 'RUNNING' || status === 'RESOURCES_PROVISIONED';
}

export function isBelowCreated(status: ContainerStatus): boolean {
  return containerStatusRank(status) < CREATED_RANK;
}

export function isBelowPulled(status: ContainerStatus): boolean {
  return containerStatusRank(status) < PULLED_RANK;
}

export function isBelowRunning(status: ContainerStatus): boolean {
  return containerStatusRank(status) < RUNNING_RANK;
}

/** Whether the container ever ran: Docker saw a start, or it is (or was last seen) running. */
export function everStarted(c: WorkContainer): boolean {
  return c.rec.startedAtMs !== undefined || isSteady(c.rec.knownStatus);
}

/** Whether a Docker container was ever made for it. */
export function everCreated(c: WorkContainer): boolean {
  return (
    c.rec.dockerId !== undefined ||
    c.rec.createdAtMs !== undefined ||
    (!isBelowCreated(c.rec.knownStatus) && !isStopped(c.rec.knownStatus))
  );
}

export function raiseContainerKnown(state: PlanState, c: WorkContainer, status: ContainerStatus, why: string): boolean {
  if (containerStatusRank(status) <= containerStatusRank(c.rec.knownStatus)) return false;
  state.notes.push(`container ${c.name}: ${c.rec.knownStatus} → ${status} (${why})`);
  c.rec.knownStatus = status;
  return true;
}

export function raiseContainerDesired(
  state: PlanState,
  c: WorkContainer,
  status: ContainerStatus,
  why: string,
): boolean {
  if (containerStatusRank(status) <= containerStatusRank(c.rec.desiredStatus)) return false;
  state.notes.push(`container ${c.name}: desired ${status} (${why})`);
  c.rec.desiredStatus = status;
  return true;
}

export function raiseTaskDesired(state: PlanState, status: TaskStatus, why: string): boolean {
  if (taskStatusRank(status) <= taskStatusRank(state.task.desiredStatus)) return false;
  state.notes.push(`task: desired ${status} (${why})`);
  state.task.desiredStatus = status;
  return true;
}

export function raiseTaskKnown(state: PlanState, status: TaskStatus, why: string): boolean {
  if (taskStatusRank(status) <= taskStatusRank(state.task.knownStatus)) return false;
  state.notes.push(`task: ${state.task.knownStatus} → ${status} (${why})`);
  state.task.knownStatus = status;
  return true;
}

/** The first failure explains the outcome (fact sheet 4.6: the first error is kept), so reasons are never replaced. */
export function setContainerReasonOnce(c: WorkContainer, reason: string): boolean {
  if (c.rec.reason !== undefined && c.rec.reason !== '') return false;
  c.rec.reason = reason;
  return true;
}

export function setTaskReasonOnce(state: PlanState, reason: string): boolean {
  // A note that the task waits for Docker (executor.ts) is not a failure: a real reason replaces it.
  const current = state.task.reason;
  if (current !== undefined && current !== '' && !isEngineWaitReason(current)) return false;
  state.task.reason = reason;
  return true;
}

const TASK_PATCH_KEYS = [
  'desiredStatus',
  'knownStatus',
  'reason',
  'pullStartedAtMs',
  'pullStoppedAtMs',
  'executionStoppedAtMs',
  'admittedAtMs',
  'waitingFor',
] as const;

export function taskPatch(state: PlanState): TaskPatch | undefined {
  const patch: TaskPatch = {};
  let changed = false;
  for (const key of TASK_PATCH_KEYS) {
    if (state.task[key] !== state.taskBefore[key]) {
      Object.assign(patch, { [key]: state.task[key] });
      changed = true;
    }
  }
  return changed ? patch : undefined;
}

const CONTAINER_PATCH_KEYS = [
  'desiredStatus',
  'knownStatus',
  'dockerId',
  'dockerName',
  'imageId',
  'exitCode',
  'reason',
  'health',
  'createdAtMs',
  'startedAtMs',
  'finishedAtMs',
] as const satisfies ReadonlyArray<keyof ContainerPatch>;

export function containerPatch(c: WorkContainer): ContainerPatch | undefined {
  const patch: ContainerPatch = {};
  let changed = false;
  for (const key of CONTAINER_PATCH_KEYS) {
    if (c.rec[key] !== c.before[key]) {
      Object.assign(patch, { [key]: c.rec[key] });
      changed = true;
    }
  }
  if (!samePortBindings(c.rec.portBindings, c.before.portBindings)) {
    patch.portBindings = c.rec.portBindings;
    changed = true;
  }
  return changed ? patch : undefined;
}

export function samePortBindings(a: ContainerRecord['portBindings'], b: ContainerRecord['portBindings']): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    return (
      y !== undefined &&
      x.containerPort === y.containerPort &&
      x.hostPort === y.hostPort &&
      x.bindIp === y.bindIp &&
      x.protocol === y.protocol
    );
  });
}
