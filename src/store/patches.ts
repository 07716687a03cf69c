/**
 * Building new task/container records from a spec, and applying observation patches to existing ones.
 * Pure functions: the store reads a row, applies one of these, and writes the row back only if it changed.
 *
 * Patch semantics: a field that is absent or `undefined` is left unchanged (a patch cannot clear a field).
 * A desired status in a patch is applied only if it is higher (desired status never moves backwards, fact
 * sheet 2.6); known status is set as given — the loops own its ladder, including upstream's error rollback
 * (fact sheet 4.6) — and a change of it stamps `knownAtMs`, which drives cleanup (4.2, 8).
 */
import type { TaskSpec } from '../model/task.js';
import { containerDesiredForTask, raisedContainerStatus, raisedTaskStatus } from './desired-status.js';
import type { ContainerPatch, ContainerRecord, TaskPatch, TaskRecord } from './records.js';

export function newTaskRecord(spec: TaskSpec, nowMs: number): TaskRecord {
  return {
    arn: spec.arn,
    family: spec.family,
    version: spec.version,
    source: spec.source,
    spec,
    desiredStatus: spec.desiredStatus,
    knownStatus: 'NONE',
    sentStatus: 'NONE',
    createdAtMs: nowMs,
    knownAtMs: nowMs,
  };
}

/** One row per container spec, in spec order, desired status taken from the task's. */
export function newContainerRecords(spec: TaskSpec): ContainerRecord[] {
  const desiredStatus = containerDesiredForTask(spec.desiredStatus);
  return spec.containers.map((container) => ({
    taskArn: spec.arn,
    name: container.name,
    desiredStatus,
    knownStatus: 'NONE',
    sentStatus: 'NONE',
    health: 'UNKNOWN',
    portBindings: [],
  }));
}

/** Copies the defined fields of `patch` onto a copy of `target`, except the keys in `skip` (identity, rules). */
function assignDefined<T extends object>(target: T, patch: Partial<T>, skip: ReadonlyArray<keyof T>): T {
  const next = { ...target };
  for (const key of Object.keys(patch) as Array<keyof T>) {
    const value = patch[key];
    if (value === undefined || skip.includes(key)) continue;
    next[key] = value as T[keyof T];
  }
  return next;
}

export function applyTaskPatch(task: TaskRecord, patch: TaskPatch, nowMs: number): TaskRecord {
  const next = assignDefined<TaskRecord>(task, patch, ['arn', 'desiredStatus', 'knownStatus', 'knownAtMs']);
  next.desiredStatus = raisedTaskStatus(task.desiredStatus, patch.desiredStatus);
  if (patch.knownStatus !== undefined && patch.knownStatus !== task.knownStatus) {
    next.knownStatus = patch.knownStatus;
    next.knownAtMs = nowMs;
  }
  return next;
}

export function applyContainerPatch(container: ContainerRecord, patch: ContainerPatch): ContainerRecord {
  const next = assignDefined<ContainerRecord>(container, patch, ['taskArn', 'name', 'desiredStatus']);
  next.desiredStatus = raisedContainerStatus(container.desiredStatus, patch.desiredStatus);
  return next;
}
