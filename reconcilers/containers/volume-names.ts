/** Docker volume naming for task volumes (fact sheet 3.6): task-scoped `ecs-<family>-<version>-<volName>-<hex>`. */
import type { VolumeSpec } from '../../src/model/task.js';
import type { VolumeRecord } from '../../src/store/records.js';

export function taskVolumePrefix(task: { family: string; version: string }, volumeName: string): string {
  return `ecs-${task.family}-${task.version}-${volumeName}-`;
}

/** The Docker volume a task's volume spec resolved to, if the agent has created/recorded it. */
export function recordedVolumeFor(
  task: { arn: string; family: string; version: string },
  spec: VolumeSpec,
  volumes: readonly VolumeRecord[],
): VolumeRecord | undefined {
  if (spec.type === 'docker' && spec.scope === 'shared') return volumes.find((v) => v.name === spec.name);
  const prefix = taskVolumePrefix(task, spec.name);
  return volumes.find((v) => v.taskArn === task.arn && v.name.startsWith(prefix));
}
