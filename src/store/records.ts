/**
 * The records the desired-state store holds and the contract every part uses to reach them.
 * Only `src/store/` touches SQL; everything else speaks these types.
 */
import type { ImagePullState, PullFailureKind } from '../model/image-pull.js';
import type { ContainerStatus, HealthStatus, TaskStatus } from '../model/status.js';
import type { DesiredSource, PortBinding, TaskSpec } from '../model/task.js';

export type { PortBinding } from '../model/task.js';

/** The container instance identity; also mirrored into a small side file so it survives a quarantined database. */
export interface InstanceRecord {
  cluster: string;
  containerInstanceArn?: string;
  ec2InstanceId?: string;
  availabilityZone?: string;
  agentVersion?: string;
  /** The RegisterContainerInstance inputs last used (attributes, resources…), as sent. */
  registration?: Record<string, unknown>;
}

export interface TaskRecord {
  arn: string;
  family: string;
  version: string;
  source: DesiredSource;
  /**
   * The full desired task as received from its source. Read back from the store it is shared by every reader
   * of the task and deep-frozen (spec-cache.ts): never modify it — copy what you need to change.
   */
  spec: TaskSpec;
  desiredStatus: TaskStatus;
  knownStatus: TaskStatus;
  /** Last status the backend acknowledged (local mode: last status logged). */
  sentStatus: TaskStatus;
  reason?: string;
  createdAtMs: number;
  /** When knownStatus last changed; drives cleanup (fact sheet 4.2, 8). */
  knownAtMs: number;
  pullStartedAtMs?: number;
  pullStoppedAtMs?: number;
  executionStoppedAtMs?: number;
  /**
   * When the task was admitted on the host (fact sheet 4.8): from then until it is known STOPPED it holds its
   * CPU units, memory and static host ports in the ledger (reconcilers/containers/admission.ts).
   */
  admittedAtMs?: number;
  /** What a task not yet admitted waits for, e.g. `host port 5180/tcp held by task <arn>`; absent otherwise. */
  waitingFor?: string;
}

export interface ContainerRecord {
  taskArn: string;
  name: string;
  desiredStatus: ContainerStatus;
  knownStatus: ContainerStatus;
  sentStatus: ContainerStatus;
  dockerId?: string;
  dockerName?: string;
  imageId?: string;
  exitCode?: number;
  /** `<ErrorName>: <message>` as reported upstream (fact sheet 4.6). */
  reason?: string;
  health: HealthStatus;
  portBindings: PortBinding[];
  createdAtMs?: number;
  startedAtMs?: number;
  finishedAtMs?: number;
}

export interface ImageRecord {
  imageId: string;
  names: string[];
  sizeBytes: number;
  pulledAtMs: number;
  lastUsedAtMs: number;
  pullSucceeded: boolean;
}

/**
 * Where the pulls of one image reference stand (the images loop's own record, keyed by the normalised
 * reference so the loop is woken for its own keys; fact sheet 7.1). One row per reference: the latest pull,
 * plus the last success, which `once` and the cleanup need after later failures.
 */
export interface ImagePullRecord {
  /** The reference as `normalizeImageRef` spells it (`docker.io/library/busybox:latest`). */
  ref: string;
  state: ImagePullState;
  /** When the latest pull began. */
  startedAtMs: number;
  /** When the latest pull ended (succeeded or failed); absent while pulling. */
  finishedAtMs?: number;
  /** Bytes downloaded so far and bytes to download, over the layers the engine has sized (progress only). */
  currentBytes: number;
  totalBytes: number;
  /** Attempts the latest pull made (transient failures are retried, fact sheet 4.9). */
  attempts: number;
  /** When a pull of this reference last succeeded, across later failures. */
  lastSucceededAtMs?: number;
  /** The image the last successful pull produced. */
  imageId?: string;
  /** A failed pull: `CannotPullContainerError: <registry's message>` (fact sheet 4.6), and its kind. */
  reason?: string;
  failure?: PullFailureKind;
}

export interface VolumeRecord {
  /** Docker volume name. */
  name: string;
  /** Owning task, absent for `shared` volumes. */
  taskArn?: string;
  scope: 'task' | 'shared';
  driver: string;
  createdAtMs: number;
}

export interface EniAttachmentRecord {
  attachmentArn: string;
  macAddress: string;
  taskArn?: string;
  kind: 'task-eni' | 'instance-eni';
  status: 'NONE' | 'ATTACHED' | 'DETACHED';
  expiresAtMs: number;
  sent: boolean;
  /** The ENI as received (addresses, gateway…). */
  eni: Record<string, unknown>;
}

/**
 * What an outbox entry reports: `task` — a task status change (RUNNING, STOPPED) with the container changes it
 * carries; `container` — container changes only, while the task's own status did not move: upstream never sends
 * those alone but lets them ride on the task's next change, or on a periodic synthetic task change 10–30 s later
 * (fact sheet 1.10), and the reporter does the same (src/ecs/reporter.ts); `attachment` — an ENI attachment.
 */
export type OutboxKind = 'task' | 'container' | 'attachment';

/** A state change waiting to be reported; drained in order (seq) per task, at least once. */
export interface OutboxEntry {
  seq: number;
  taskArn: string;
  kind: OutboxKind;
  payload: Record<string, unknown>;
  createdAtMs: number;
  attempts: number;
}

export type NewOutboxEntry = Omit<OutboxEntry, 'seq' | 'createdAtMs' | 'attempts'>;

/** An outbox entry without its payload: enough to choose which heads to submit, at no JSON parsing cost. */
export type OutboxHead = Omit<OutboxEntry, 'payload'>;

export type TaskPatch = Partial<
  Pick<
    TaskRecord,
    | 'desiredStatus'
    | 'knownStatus'
    | 'sentStatus'
    | 'reason'
    | 'pullStartedAtMs'
    | 'pullStoppedAtMs'
    | 'executionStoppedAtMs'
    | 'admittedAtMs'
    | 'waitingFor'
  >
>;

export type ContainerPatch = Partial<Omit<ContainerRecord, 'taskArn' | 'name'>>;

/** Everything one reconcile of a task observed, written in a single transaction. */
export interface TaskObservation {
  taskArn: string;
  task?: TaskPatch;
  containers?: Array<{ name: string; patch: ContainerPatch }>;
  outbox?: NewOutboxEntry[];
}

/**
 * The change feed's vocabulary: the SQL tables, plus `sent`, a logical table. A write that changes nothing but
 * the sent status of a task and/or its containers — the reporter's acknowledgement that the backend heard a
 * change — is announced as `sent` instead of `tasks`/`containers`, so loops whose plans never depend on what
 * was sent (the containers loop, see plan-report.ts) are not woken by every ack. A write that changes sent
 * status together with any other column is an ordinary `tasks`/`containers` write.
 */
export type StoreTable =
  | 'instance'
  | 'tasks'
  | 'containers'
  | 'sent'
  | 'images'
  | 'pulls'
  | 'volumes'
  | 'enis'
  | 'outbox'
  | 'meta';

/**
 * Who made a write: the loop and the key whose reconcile made it (the runtime hands each action its origin,
 * and the loop writes through `writerFor(origin)`). A loop ignores the writes its own
 * reconcile of a key made for that same key; writes with no origin (sources, reporter) wake everyone.
 */
export interface WriteOrigin {
  loop: string;
  key: string;
}

/**
 * The key a table's rows are known by in the change feed: the task ARN for tasks, containers, sent and outbox
 * (rows of one task), the image ID for images, the normalised reference for pulls, the Docker volume name for volumes, the attachment ARN for ENIs.
 * `instance` and `meta` are single rows and carry no key.
 */
export const TASK_KEYED_TABLES: ReadonlySet<StoreTable> = new Set(['tasks', 'containers', 'sent', 'outbox']);

/** What one committed write (or transaction) touched. */
export interface StoreChange {
  generation: number;
  tables: ReadonlySet<StoreTable>;
  /** Tasks whose rows changed or that own the rows that changed (volumes, ENIs), all tables together. */
  taskArns: ReadonlySet<string>;
  /** Per table written, the tasks owning the rows its writes touched (empty for rows of no task, e.g. images). */
  taskArnsByTable: ReadonlyMap<StoreTable, ReadonlySet<string>>;
  /** Per table written, the keys of the rows touched (see TASK_KEYED_TABLES for which key each table uses). */
  keysByTable: ReadonlyMap<StoreTable, ReadonlySet<string>>;
  /** The reconcile that made the write, if a loop's did. */
  origin?: WriteOrigin;
}

/** Changes merged over several generations: tables, owning tasks and row keys per table. */
export interface ChangeSet {
  taskArns: string[];
  tables: StoreTable[];
  keysByTable: Partial<Record<StoreTable, string[]>>;
}

/**
 * The change feed answer: what was written since a generation, or 'all' if that is too far back to know.
 * Asked with `ownLoop`, the writes that loop's own reconciles made are not in the main answer but in `own`,
 * per the key whose reconcile made them, so the loop can wake every key they touched except that one.
 */
export interface ChangesSince {
  generation: number;
  taskArns: string[] | 'all';
  tables: StoreTable[] | 'all';
  keysByTable: Partial<Record<StoreTable, string[]>> | 'all';
  own?: ReadonlyMap<string, ChangeSet>;
}

export interface DesiredStateStore {
  /** Monotonic counter bumped by every committed write; loops poll it to skip work when nothing changed. */
  generation(): number;
  /**
   * The change feed: what changed after `generation` (exclusive) up to now. Kept as a bounded in-memory ring
   * (e.g. the last 4096 changes); older requests answer 'all'. Cheap: no table scan. With `tables`, only
   * writes to those tables count: the answer names those tables and only the tasks their writes touched
   * (the generation is still the current one, so the caller moves past the writes it does not care about).
   * With `ownLoop`, that loop's own writes are answered apart, in `own` (see ChangesSince).
   */
  changesSince(generation: number, tables?: readonly StoreTable[], ownLoop?: string): ChangesSince;
  /** Called synchronously after each committed write (outside any write origin). Returns an unsubscribe function. */
  onChange(listener: (change: StoreChange) => void): () => void;
  /**
   * This store with every write made through it attributed to `origin`, wherever the caller's awaits fall.
   * The loop runtime gives each reconcile's actions the origin; a loop writes through `writerFor(origin)`.
   */
  writerFor(origin: WriteOrigin): DesiredStateStore;
  /** Whether the database lives on disk (ECS_CHECKPOINT) or in memory. */
  readonly durable: boolean;

  getInstance(): InstanceRecord | undefined;
  saveInstance(instance: InstanceRecord): void;

  /** Latest ACS sequence number (fact sheet 2.8); -1 when none. */
  getSequenceNumber(): number;
  setSequenceNumber(seq: number): void;

  /**
   * Insert a new desired task (with a container row per container spec), or, for a known ARN, raise its
   * desired status only if the new one is higher (desired status never moves backwards, fact sheet 2.6).
   * Returns whether anything changed.
   */
  putDesiredTask(spec: TaskSpec): boolean;
  /** Raise a task's desired status (never lowers it). Returns whether anything changed. */
  raiseTaskDesiredStatus(arn: string, status: TaskStatus, reason?: string): boolean;
  getTask(arn: string): TaskRecord | undefined;
  listTasks(): TaskRecord[];
  /**
   * Tasks in the host admission line (not admitted, known NONE, not desired STOPPED), in arrival order. Cheap
   * (a partial index, no spec parsing): the containers loop asks on every write of a task holding resources.
   */
  listQueuedTaskArns(): string[];
  listContainers(taskArn: string): ContainerRecord[];
  listAllContainers(): ContainerRecord[];
  /** Apply one reconcile's observations (task patch, container patches, outbox entries) atomically. */
  recordObservation(observation: TaskObservation): void;
  /** Remove a task, its containers and its task-scoped volumes (cleanup). */
  deleteTask(arn: string): void;

  putImage(image: ImageRecord): void;
  getImage(imageId: string): ImageRecord | undefined;
  listImages(): ImageRecord[];
  deleteImage(imageId: string): void;

  /** Writes a pull record; a record equal to the stored one is not written (and wakes no one). */
  putImagePull(pull: ImagePullRecord): void;
  getImagePull(ref: string): ImagePullRecord | undefined;
  listImagePulls(): ImagePullRecord[];
  deleteImagePull(ref: string): void;

  putVolume(volume: VolumeRecord): void;
  listVolumes(): VolumeRecord[];
  deleteVolume(name: string): void;

  putEniAttachment(attachment: EniAttachmentRecord): void;
  listEniAttachments(): EniAttachmentRecord[];
  deleteEniAttachment(attachmentArn: string): void;

  appendOutbox(entries: NewOutboxEntry[]): void;
  /** Oldest first. */
  peekOutbox(limit: number): OutboxEntry[];
  /**
   * Each task's head — its oldest entry — oldest first, at most `limit` heads, without payloads: the reporter
   * reads every head when it starts (then only the heads of tasks whose entries changed, `outboxHeadOf`) and
   * loads a payload (`getOutboxEntry`) only for the heads it submits. Every task with entries has exactly one
   * head, however deep its backlog.
   */
  outboxHeads(limit: number): OutboxHead[];
  /** One task's oldest entry, without its payload; undefined when the task has none. */
  outboxHeadOf(taskArn: string): OutboxHead | undefined;
  /** One entry with its payload; undefined once acked. */
  getOutboxEntry(seq: number): OutboxEntry | undefined;
  /** A task's entries with their payloads, oldest first, at most `limit`. */
  outboxEntriesForTask(taskArn: string, limit: number): OutboxEntry[];
  outboxDepth(): number;
  markOutboxAttempt(seq: number): void;
  ackOutbox(seq: number): void;
  /**
   * The backend confirmed these statuses (the reporter's ack): set the task's and the named containers' sent
   * status, touching only the logical table 'sent', and only where it changes. Unknown tasks and containers
   * are ignored (the task may have been cleaned up while its report was in flight).
   */
  recordSentStatus(
    taskArn: string,
    taskStatus: TaskStatus | undefined,
    containers: ReadonlyArray<{ name: string; status: ContainerStatus }>,
  ): void;

  /** Run several writes as one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T;
  close(): void;
}
