/**
 * Status vocabularies of the ECS task model (fact sheet 4.1). Order matters: known status only ever
 * moves up the ladder, so each union has an explicit rank.
 */

export const CONTAINER_STATUSES = [
  'NONE',
  'MANIFEST_PULLED',
  'PULLED',
  'CREATED',
  'RUNNING',
  'RESOURCES_PROVISIONED',
  'STOPPED',
  'ZOMBIE',
] as const;
export type ContainerStatus = (typeof CONTAINER_STATUSES)[number];

export const TASK_STATUSES = ['NONE', 'MANIFEST_PULLED', 'PULLED', 'CREATED', 'RUNNING', 'STOPPED', 'ZOMBIE'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const HEALTH_STATUSES = ['UNKNOWN', 'HEALTHY', 'UNHEALTHY'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

/** What the ECS backend understands: everything that is not RUNNING or STOPPED is PENDING (fact sheet 1.6). */
export const BACKEND_STATUSES = ['PENDING', 'RUNNING', 'STOPPED'] as const;
export type BackendStatus = (typeof BACKEND_STATUSES)[number];

export function containerStatusRank(status: ContainerStatus): number {
  return CONTAINER_STATUSES.indexOf(status);
}

export function taskStatusRank(status: TaskStatus): number {
  return TASK_STATUSES.indexOf(status);
}

export function isContainerStatus(value: unknown): value is ContainerStatus {
  return typeof value === 'string' && (CONTAINER_STATUSES as readonly string[]).includes(value);
}

export function isTaskStatus(value: unknown): value is TaskStatus {
  return typeof value === 'string' && (TASK_STATUSES as readonly string[]).includes(value);
}

/** Wire names that upstream accepts as aliases: `DEAD` is STOPPED, `UNKNOWN`/missing is NONE (fact sheet 3.2, 4.1). */
export function parseTaskDesiredStatus(value: string | null | undefined): TaskStatus {
  if (value === 'DEAD') return 'STOPPED';
  if (value === undefined || value === null || value === 'UNKNOWN') return 'NONE';
  return isTaskStatus(value) ? value : 'NONE';
}

export function toBackendTaskStatus(status: TaskStatus): BackendStatus {
  if (status === 'RUNNING') return 'RUNNING';
  if (status === 'STOPPED' || status === 'ZOMBIE') return 'STOPPED';
  return 'PENDING';
}

export function toBackendContainerStatus(status: ContainerStatus): BackendStatus {
  if (status === 'RUNNING' || status === 'RESOURCES_PROVISIONED') return 'RUNNING';
  if (status === 'STOPPED' || status === 'ZOMBIE') return 'STOPPED';
  return 'PENDING';
}
