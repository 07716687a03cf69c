/**
 * Row <-> record mapping. Rows use the column names (snake_case) so they bind directly as named parameters;
 * absent optional fields are NULL in SQL and absent (not `undefined`) in records, so a round trip is exact.
 * Values read back are checked against the closed vocabularies: a row that does not fit is damage, reported
 * as StoreCorruptError with the row's key rather than passed on as a wrong type.
 */
import { StoreCorruptError } from '../errors.js';
import { isImagePullState, isPullFailureKind } from '../model/image-pull.js';
import type { HealthStatus } from '../model/status.js';
import { HEALTH_STATUSES, isContainerStatus, isTaskStatus } from '../model/status.js';
import type { DesiredSource, TaskSpec } from '../model/task.js';
import type {
  ContainerRecord,
  EniAttachmentRecord,
  ImagePullRecord,
  ImageRecord,
  InstanceRecord,
  OutboxEntry,
  OutboxHead,
  PortBinding,
  TaskRecord,
  VolumeRecord,
} from './records.js';

type Nullable<T> = T | null;

export interface InstanceRow {
  id: 1;
  cluster: string;
  container_instance_arn: Nullable<string>;
  ec2_instance_id: Nullable<string>;
  availability_zone: Nullable<string>;
  agent_version: Nullable<string>;
  registration: Nullable<string>;
}

export interface TaskRow {
  arn: string;
  family: string;
  version: string;
  source: string;
  spec: string;
  desired_status: string;
  known_status: string;
  sent_status: string;
  reason: Nullable<string>;
  created_at_ms: number;
  known_at_ms: number;
  pull_started_at_ms: Nullable<number>;
  pull_stopped_at_ms: Nullable<number>;
  execution_stopped_at_ms: Nullable<number>;
  admitted_at_ms: Nullable<number>;
  waiting_for: Nullable<string>;
}

export interface ContainerRow {
  task_arn: string;
  name: string;
  ord: number;
  desired_status: string;
  known_status: string;
  sent_status: string;
  docker_id: Nullable<string>;
  docker_name: Nullable<string>;
  image_id: Nullable<string>;
  exit_code: Nullable<number>;
  reason: Nullable<string>;
  health: string;
  port_bindings: string;
  created_at_ms: Nullable<number>;
  started_at_ms: Nullable<number>;
  finished_at_ms: Nullable<number>;
}

export interface ImageRow {
  image_id: string;
  names: string;
  size_bytes: number;
  pulled_at_ms: number;
  last_used_at_ms: number;
  pull_succeeded: number;
}

export interface ImagePullRow {
  ref: string;
  state: string;
  started_at_ms: number;
  finished_at_ms: Nullable<number>;
  current_bytes: number;
  total_bytes: number;
  attempts: number;
  last_succeeded_at_ms: Nullable<number>;
  image_id: Nullable<string>;
  reason: Nullable<string>;
  failure: Nullable<string>;
}

export interface VolumeRow {
  name: string;
  task_arn: Nullable<string>;
  scope: string;
  driver: string;
  created_at_ms: number;
}

export interface EniRow {
  attachment_arn: string;
  mac_address: string;
  task_arn: Nullable<string>;
  kind: string;
  status: string;
  expires_at_ms: number;
  sent: number;
  eni: string;
}

export interface OutboxRow {
  seq: number;
  task_arn: string;
  kind: string;
  payload: string;
  created_at_ms: number;
  attempts: number;
}

/** Whether every column of `next` already holds the same value in `current` (so a write would change nothing). */
export function sameRow<T extends object>(current: T | undefined, next: T): boolean {
  if (current === undefined) return false;
  const a = current as Record<string, unknown>;
  const b = next as Record<string, unknown>;
  return Object.keys(b).every((key) => a[key] === b[key]);
}

/**
 * Whether `next` differs from `current` in `sent_status` and in nothing else: the reporter's acknowledgement,
 * announced on the change feed as the logical table `sent` (records.ts StoreTable).
 */
export function onlySentStatusChanged<T extends { sent_status: string }>(current: T, next: T): boolean {
  if (current.sent_status === next.sent_status) return false;
  const a = current as Record<string, unknown>;
  const b = next as Record<string, unknown>;
  return Object.keys(b).every((key) => key === 'sent_status' || a[key] === b[key]);
}

const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

/** Copies `value` onto `target[key]` unless it is NULL, so records carry no `undefined` keys. */
function setIf<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | null): void {
  if (value !== null) target[key] = value;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new StoreCorruptError(`stored ${what} is not valid JSON`, { cause: error, context: { what } });
  }
}

function corrupt(what: string, value: unknown): never {
  throw new StoreCorruptError(`stored ${what} has an unexpected value`, { context: { what, value } });
}

function taskStatus(value: string, what: string) {
  return isTaskStatus(value) ? value : corrupt(what, value);
}

function containerStatus(value: string, what: string) {
  return isContainerStatus(value) ? value : corrupt(what, value);
}

function oneOf<T extends string>(allowed: readonly T[], value: string, what: string): T {
  return (allowed as readonly string[]).includes(value) ? (value as T) : corrupt(what, value);
}

export function instanceToRow(instance: InstanceRecord): InstanceRow {
  return {
    id: 1,
    cluster: instance.cluster,
    container_instance_arn: orNull(instance.containerInstanceArn),
    ec2_instance_id: orNull(instance.ec2InstanceId),
    availability_zone: orNull(instance.availabilityZone),
    agent_version: orNull(instance.agentVersion),
    registration: instance.registration === undefined ? null : JSON.stringify(instance.registration),
  };
}

export function rowToInstance(row: InstanceRow): InstanceRecord {
  const instance: InstanceRecord = { cluster: row.cluster };
  setIf(instance, 'containerInstanceArn', row.container_instance_arn);
  setIf(instance, 'ec2InstanceId', row.ec2_instance_id);
  setIf(instance, 'availabilityZone', row.availability_zone);
  setIf(instance, 'agentVersion', row.agent_version);
  if (row.registration !== null) {
    instance.registration = parseJson(row.registration, 'instance registration') as Record<string, unknown>;
  }
  return instance;
}

/**
 * `specText`: the spec's stored text when the caller knows `task.spec` is unchanged from it (a patch never
 * changes a spec), which spares serialising the whole spec again on every status write.
 */
export function taskToRow(task: TaskRecord, specText: string = JSON.stringify(task.spec)): TaskRow {
  return {
    arn: task.arn,
    family: task.family,
    version: task.version,
    source: task.source,
    spec: specText,
    desired_status: task.desiredStatus,
    known_status: task.knownStatus,
    sent_status: task.sentStatus,
    reason: orNull(task.reason),
    created_at_ms: task.createdAtMs,
    known_at_ms: task.knownAtMs,
    pull_started_at_ms: orNull(task.pullStartedAtMs),
    pull_stopped_at_ms: orNull(task.pullStoppedAtMs),
    execution_stopped_at_ms: orNull(task.executionStoppedAtMs),
    admitted_at_ms: orNull(task.admittedAtMs),
    // '' is how a patch clears it (a patch cannot unset a field): stored as no value.
    waiting_for: task.waitingFor === undefined || task.waitingFor === '' ? null : task.waitingFor,
  };
}

const SOURCES: readonly DesiredSource[] = ['acs', 'local'];

/** Parses a task's stored spec; StoreCorruptError when it is not JSON. */
export function parseTaskSpec(text: string, arn: string): TaskSpec {
  return parseJson(text, `task ${arn} spec`) as TaskSpec;
}

/** `specOf` supplies the parsed spec (the store passes its cache, spec-cache.ts); by default it is parsed here. */
export function rowToTask(row: TaskRow, specOf: (text: string, arn: string) => TaskSpec = parseTaskSpec): TaskRecord {
  const what = `task ${row.arn}`;
  const task: TaskRecord = {
    arn: row.arn,
    family: row.family,
    version: row.version,
    source: oneOf(SOURCES, row.source, `${what} source`),
    spec: specOf(row.spec, row.arn),
    desiredStatus: taskStatus(row.desired_status, `${what} desired status`),
    knownStatus: taskStatus(row.known_status, `${what} known status`),
    sentStatus: taskStatus(row.sent_status, `${what} sent status`),
    createdAtMs: row.created_at_ms,
    knownAtMs: row.known_at_ms,
  };
  setIf(task, 'reason', row.reason);
  setIf(task, 'pullStartedAtMs', row.pull_started_at_ms);
  setIf(task, 'pullStoppedAtMs', row.pull_stopped_at_ms);
  setIf(task, 'executionStoppedAtMs', row.execution_stopped_at_ms);
  setIf(task, 'admittedAtMs', row.admitted_at_ms);
  setIf(task, 'waitingFor', row.waiting_for);
  return task;
}

export function containerToRow(container: ContainerRecord, ord: number): ContainerRow {
  return {
    task_arn: container.taskArn,
    name: container.name,
    ord,
    desired_status: container.desiredStatus,
    known_status: container.knownStatus,
    sent_status: container.sentStatus,
    docker_id: orNull(container.dockerId),
    docker_name: orNull(container.dockerName),
    image_id: orNull(container.imageId),
    exit_code: orNull(container.exitCode),
    reason: orNull(container.reason),
    health: container.health,
    port_bindings: JSON.stringify(container.portBindings),
    created_at_ms: orNull(container.createdAtMs),
    started_at_ms: orNull(container.startedAtMs),
    finished_at_ms: orNull(container.finishedAtMs),
  };
}

export function rowToContainer(row: ContainerRow): ContainerRecord {
  const what = `container ${row.task_arn} ${row.name}`;
  const container: ContainerRecord = {
    taskArn: row.task_arn,
    name: row.name,
    desiredStatus: containerStatus(row.desired_status, `${what} desired status`),
    knownStatus: containerStatus(row.known_status, `${what} known status`),
    sentStatus: containerStatus(row.sent_status, `${what} sent status`),
    health: oneOf<HealthStatus>(HEALTH_STATUSES, row.health, `${what} health`),
    portBindings: parseJson(row.port_bindings, `${what} port bindings`) as PortBinding[],
  };
  setIf(container, 'dockerId', row.docker_id);
  setIf(container, 'dockerName', row.docker_name);
  setIf(container, 'imageId', row.image_id);
  setIf(container, 'exitCode', row.exit_code);
  setIf(container, 'reason', row.reason);
  setIf(container, 'createdAtMs', row.created_at_ms);
  setIf(container, 'startedAtMs', row.started_at_ms);
  setIf(container, 'finishedAtMs', row.finished_at_ms);
  return container;
}

export function imageToRow(image: ImageRecord): ImageRow {
  return {
    image_id: image.imageId,
    names: JSON.stringify(image.names),
    size_bytes: image.sizeBytes,
    pulled_at_ms: image.pulledAtMs,
    last_used_at_ms: image.lastUsedAtMs,
    pull_succeeded: image.pullSucceeded ? 1 : 0,
  };
}

export function rowToImage(row: ImageRow): ImageRecord {
  return {
    imageId: row.image_id,
    names: parseJson(row.names, `image ${row.image_id} names`) as string[],
    sizeBytes: row.size_bytes,
    pulledAtMs: row.pulled_at_ms,
    lastUsedAtMs: row.last_used_at_ms,
    pullSucceeded: row.pull_succeeded !== 0,
  };
}

export function imagePullToRow(pull: ImagePullRecord): ImagePullRow {
  return {
    ref: pull.ref,
    state: pull.state,
    started_at_ms: pull.startedAtMs,
    finished_at_ms: orNull(pull.finishedAtMs),
    current_bytes: pull.currentBytes,
    total_bytes: pull.totalBytes,
    attempts: pull.attempts,
    last_succeeded_at_ms: orNull(pull.lastSucceededAtMs),
    image_id: orNull(pull.imageId),
    reason: orNull(pull.reason),
    failure: orNull(pull.failure),
  };
}

export function rowToImagePull(row: ImagePullRow): ImagePullRecord {
  if (!isImagePullState(row.state)) {
    throw new StoreCorruptError(`image pull ${row.ref} has an unknown state`, { context: { state: row.state } });
  }
  if (row.failure !== null && !isPullFailureKind(row.failure)) {
    throw new StoreCorruptError(`image pull ${row.ref} has an unknown failure kind`, {
      context: { failure: row.failure },
    });
  }
  const pull: ImagePullRecord = {
    ref: row.ref,
    state: row.state,
    startedAtMs: row.started_at_ms,
    currentBytes: row.current_bytes,
    totalBytes: row.total_bytes,
    attempts: row.attempts,
  };
  setIf(pull, 'finishedAtMs', row.finished_at_ms);
  setIf(pull, 'lastSucceededAtMs', row.last_succeeded_at_ms);
  setIf(pull, 'imageId', row.image_id);
  setIf(pull, 'reason', row.reason);
  if (row.failure !== null && isPullFailureKind(row.failure)) pull.failure = row.failure;
  return pull;
}

export function volumeToRow(volume: VolumeRecord): VolumeRow {
  return {
    name: volume.name,
    task_arn: orNull(volume.taskArn),
    scope: volume.scope,
    driver: volume.driver,
    created_at_ms: volume.createdAtMs,
  };
}

const VOLUME_SCOPES: readonly VolumeRecord['scope'][] = ['task', 'shared'];

export function rowToVolume(row: VolumeRow): VolumeRecord {
  const volume: VolumeRecord = {
    name: row.name,
    scope: oneOf(VOLUME_SCOPES, row.scope, `volume ${row.name} scope`),
    driver: row.driver,
    createdAtMs: row.created_at_ms,
  };
  setIf(volume, 'taskArn', row.task_arn);
  return volume;
}

export function eniToRow(attachment: EniAttachmentRecord): EniRow {
  return {
    attachment_arn: attachment.attachmentArn,
    mac_address: attachment.macAddress,
    task_arn: orNull(attachment.taskArn),
    kind: attachment.kind,
    status: attachment.status,
    expires_at_ms: attachment.expiresAtMs,
    sent: attachment.sent ? 1 : 0,
    eni: JSON.stringify(attachment.eni),
  };
}

const ENI_KINDS: readonly EniAttachmentRecord['kind'][] = ['task-eni', 'instance-eni'];
const ENI_STATUSES: readonly EniAttachmentRecord['status'][] = ['NONE', 'ATTACHED', 'DETACHED'];

export function rowToEni(row: EniRow): EniAttachmentRecord {
  const what = `ENI attachment ${row.attachment_arn}`;
  const attachment: EniAttachmentRecord = {
    attachmentArn: row.attachment_arn,
    macAddress: row.mac_address,
    kind: oneOf(ENI_KINDS, row.kind, `${what} kind`),
    status: oneOf(ENI_STATUSES, row.status, `${what} status`),
    expiresAtMs: row.expires_at_ms,
    sent: row.sent !== 0,
    eni: parseJson(row.eni, what) as Record<string, unknown>,
  };
  setIf(attachment, 'taskArn', row.task_arn);
  return attachment;
}

const OUTBOX_KINDS: readonly OutboxEntry['kind'][] = ['task', 'container', 'attachment'];

export function rowToOutboxHead(row: Omit<OutboxRow, 'payload'>): OutboxHead {
  return {
    seq: row.seq,
    taskArn: row.task_arn,
    kind: oneOf(OUTBOX_KINDS, row.kind, `outbox entry ${row.seq} kind`),
    createdAtMs: row.created_at_ms,
    attempts: row.attempts,
  };
}

export function rowToOutbox(row: OutboxRow): OutboxEntry {
  return {
    seq: row.seq,
    taskArn: row.task_arn,
    kind: oneOf(OUTBOX_KINDS, row.kind, `outbox entry ${row.seq} kind`),
    payload: parseJson(row.payload, `outbox entry ${row.seq} payload`) as Record<string, unknown>,
    createdAtMs: row.created_at_ms,
    attempts: row.attempts,
  };
}
