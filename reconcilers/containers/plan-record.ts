/**
 * The `record` action: everything this plan learned or decided that the store must hold — the task patch,
 * container patches and the outbox entry reporting it — written in one transaction before any Docker action.
 */
import type { TaskObservation } from '../../src/store/records.js';
import { buildStateChangeEntry } from './plan-report.js';
import { containerPatch, type PlanState, taskPatch } from './plan-state.js';
import type { ContainerAction } from './types.js';

export function buildRecordAction(state: PlanState): ContainerAction | undefined {
  const observation: TaskObservation = { taskArn: state.task.arn };
  const task = taskPatch(state);
  if (task) observation.task = task;
  const containers = state.containers.flatMap((c) => {
    const patch = containerPatch(c);
    return patch ? [{ name: c.name, patch }] : [];
  });
  if (containers.length > 0) observation.containers = containers;
  const entry = buildStateChangeEntry(state);
  if (entry) observation.outbox = [entry];
  if (!task && containers.length === 0 && !entry) return undefined;

  const notes = [...state.notes];
  if (notes.length === 0) notes.push('observed details changed');
  if (entry) notes.push(`report ${String(entry.payload['status'])}`);
  return { kind: 'record', observation, reason: notes.join('; ') };
}
