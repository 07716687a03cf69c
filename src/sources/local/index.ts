/** The local task-definition directory source (`--tasks-dir`): public surface. */
export { containerDockerConfig, dockerHealthcheck, ECS_HEALTH_CHECK_DEFAULTS } from './container-docker-config.js';
export {
  canonicalJson,
  contentDigest,
  fileIdPrefix,
  localRevision,
  localTaskArn,
  localTaskId,
  localTaskIdParts,
} from './local-task-identity.js';
export { type FileRead, planSync, type SyncPlan } from './local-task-plan.js';
export {
  type InvalidTaskFile,
  isTaskFileName,
  type LocalSourceStore,
  LocalTaskSource,
  type LocalTaskSourceOptions,
  type LocalTaskSourceState,
  type SyncReport,
} from './local-task-source.js';
export { formatIssues, parseTaskDefinitionFile } from './parse-task-definition.js';
export {
  STORE_RETRY_BASE_MS,
  STORE_RETRY_MAX_MS,
  storeRetryDelayMs,
  storeWriteErrorReason,
} from './store-write-retry.js';
export { checkTaskDefinition } from './task-definition-checks.js';
export {
  createTaskDefinitionValidator,
  type DefinitionIssue,
  defaultTaskDefinitionValidator,
  findSchemaFile,
  type TaskDefinitionValidator,
} from './task-definition-schema.js';
export { type LocalTaskIds, taskDefinitionToTaskSpec } from './task-definition-to-spec.js';
export type { ContainerDefinition, TaskDefinition, VolumeDefinition } from './task-definition-types.js';
export { parsePortRange, parseTaskCpuUnits, parseTaskMemoryMiB } from './task-definition-units.js';
export { directoryProblem, readTaskFile, TASK_FILE_MAX_BYTES, type TaskFileRead } from './task-files.js';
