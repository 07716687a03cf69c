/**
 * Outbox entries: SubmitTaskStateChange payloads (fact sheet 1.6) produced in the same record action as the
 * status change they report, so a change is written and queued for reporting atomically, exactly once.
 *
 * Batching (fact sheet 1.10): upstream never sends a container change alone; it rides on the next task event,
 * or on a periodic (10–30 s) synthetic task event carrying the task's current status. Here an entry is built
 * in the plan where a reportable change happens: when the task reaches RUNNING or STOPPED, a `task` entry
 * carries every container with an unsent RUNNING/STOPPED change; when only containers changed (a non-essential
 * container exited while the task runs, the first of two essential containers stopped), a `container` entry
 * with the task's current status, which the reporter holds back and merges into the task's next `task` entry,
 * or sends as the synthetic event once the hold is over (src/ecs/reporter.ts). So a task whose containers stop
 * a moment apart is reported once, STOPPED with all of them, as upstream does. A re-plan of unchanged state
 * builds nothing, so each transition is queued once.
 * `cluster` is added by the reporter.
 */
import { type BackendStatus, toBackendContainerStatus, toBackendTaskStatus } from '../../src/model/status.js';
import type { NewOutboxEntry, PortBinding } from '../../src/store/records.js';
import { MAX_REASON_CHARS, MAX_RUNTIME_ID_CHARS, truncate } from './plan-reasons.js';
import type { PlanState, WorkContainer } from './plan-state.js';

export interface NetworkBindingPayload {
  bindIP: string;
  containerPort: number;
  hostPort: number;
  protocol: string;
}

export interface ContainerChangePayload {
  containerName: string;
  runtimeId?: string;
  status: BackendStatus;
  exitCode?: number;
  reason?: string;
  networkBindings: NetworkBindingPayload[];
}

export interface TaskChangePayload {
  task: string;
  status: BackendStatus;
  reason?: string;
  containers: ContainerChangePayload[];
  pullStartedAt?: number;
  pullStoppedAt?: number;
  executionStoppedAt?: number;
}

function isReportable(status: BackendStatus): boolean {
  return status === 'RUNNING' || status === 'STOPPED';
}

/** Whether this plan moved the container to a status the backend hears about. */
function changedInThisPlan(c: WorkContainer): boolean {
  const after = toBackendContainerStatus(c.rec.knownStatus);
  return isReportable(after) && after !== toBackendContainerStatus(c.before.knownStatus);
}

/** Whether the backend has not yet acknowledged the container's current reportable status. */
function unsent(c: WorkContainer): boolean {
  const after = toBackendContainerStatus(c.rec.knownStatus);
  return isReportable(after) && after !== toBackendContainerStatus(c.rec.sentStatus);
}

/**
 * Bindings as upstream reports them: `::` bindings are dropped (ECS_EXCLUDE_IPV6_PORTBINDING, default true,
 * fact sheet 1.6), and an empty host IP is Docker's "all interfaces".
 */
export function networkBindingsFor(bindings: readonly PortBinding[]): NetworkBindingPayload[] {
  return bindings
    .filter((b) => b.bindIp !== '::')
    .map((b) => ({
      bindIP: b.bindIp === '' ? '0.0.0.0' : b.bindIp,
      containerPort: b.containerPort,
      hostPort: b.hostPort,
      protocol: b.protocol,
    }));
}

export function containerChangePayload(c: WorkContainer): ContainerChangePayload {
  // Key order as on the wire, for readable logs; optional keys are omitted when empty (fact sheet 1.6).
  return {
    containerName: c.name,
    ...(c.rec.dockerId ? { runtimeId: truncate(c.rec.dockerId, MAX_RUNTIME_ID_CHARS) } : {}),
    status: toBackendContainerStatus(c.rec.knownStatus),
    ...(c.rec.exitCode === undefined ? {} : { exitCode: c.rec.exitCode }),
    ...(c.rec.reason ? { reason: truncate(c.rec.reason, MAX_REASON_CHARS) } : {}),
    networkBindings: networkBindingsFor(c.rec.portBindings),
  };
}

const toEpochSec = (ms: number): number => ms / 1000;

/** The outbox entry this plan must queue, if any (see the batching note at the top of this file). */
export function buildStateChangeEntry(state: PlanState): NewOutboxEntry | undefined {
  const taskAfter = toBackendTaskStatus(state.task.knownStatus);
  const taskChanged = isReportable(taskAfter) && taskAfter !== toBackendTaskStatus(state.taskBefore.knownStatus);
  const containersChanged = state.containers.some(changedInThisPlan);
  if (!taskChanged && !containersChanged) return undefined;

  const payload: TaskChangePayload = {
    task: state.task.arn,
    status: taskAfter,
    containers: state.containers.filter((c) => changedInThisPlan(c) || unsent(c)).map(containerChangePayload),
  };
  // A task reason is only ever set on the way to STOPPED (4.7); it belongs on that report.
  if (taskAfter === 'STOPPED' && state.task.reason) payload.reason = truncate(state.task.reason, MAX_REASON_CHARS);
  if (state.task.pullStartedAtMs !== undefined) payload.pullStartedAt = toEpochSec(state.task.pullStartedAtMs);
  if (state.task.pullStoppedAtMs !== undefined) payload.pullStoppedAt = toEpochSec(state.task.pullStoppedAtMs);
  if (state.task.executionStoppedAtMs !== undefined) {
    payload.executionStoppedAt = toEpochSec(state.task.executionStoppedAtMs);
  }
  return {
    taskArn: state.task.arn,
    kind: taskChanged ? 'task' : 'container',
    payload: {
      task: payload.task,
      status: payload.status,
      ...(payload.reason === undefined ? {} : { reason: payload.reason }),
      containers: payload.containers,
      ...(payload.pullStartedAt === undefined ? {} : { pullStartedAt: payload.pullStartedAt }),
      ...(payload.pullStoppedAt === undefined ? {} : { pullStoppedAt: payload.pullStoppedAt }),
      ...(payload.executionStoppedAt === undefined ? {} : { executionStoppedAt: payload.executionStoppedAt }),
    },
  };
}
