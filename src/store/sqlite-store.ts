/**
 * The DesiredStateStore over one better-sqlite3 connection. better-sqlite3 is synchronous, which is what a
 * store that sits between a source's transaction and its ack wants: when a write method returns, the row is
 * committed (and, on disk, fsynced).
 *
 * Credentials are never persisted: the interface has no credential methods and the schema no credential
 * table, on purpose — task role keys live only in the in-memory credentials manager (design.md), so a copied
 * data directory leaks nothing. Keep it that way.
 */
import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors.js';
import type { Logger } from '../logging/types.js';
import type { ContainerStatus, TaskStatus } from '../model/status.js';
import type { TaskSpec } from '../model/task.js';
import { ChangeFeed } from './change-feed.js';
import { containerDesiredForTask, raisedContainerStatus, raisedTaskStatus } from './desired-status.js';
import type { InstanceIdentityFile } from './instance-identity-file.js';
import { applyContainerPatch, applyTaskPatch, newContainerRecords, newTaskRecord } from './patches.js';
import type {
  ChangesSince,
  ContainerRecord,
  DesiredStateStore,
  EniAttachmentRecord,
  ImagePullRecord,
  ImageRecord,
  InstanceRecord,
  NewOutboxEntry,
  OutboxEntry,
  OutboxHead,
  StoreChange,
  StoreTable,
  TaskObservation,
  TaskRecord,
  VolumeRecord,
  WriteOrigin,
} from './records.js';
import { RowCache } from './row-cache.js';
import * as rows from './rows.js';
import { TaskSpecCache } from './spec-cache.js';
import { META_SEQUENCE_NUMBER, prepareStatements, type Statements } from './statements.js';
import { WriteTracker } from './write-tracker.js';

export interface SqliteStoreOptions {
  db: Database;
  durable: boolean;
  logger: Logger;
  clock: { nowMs(): number };
  /** Where saveInstance mirrors the identity; absent in memory mode. */
  identityFile?: InstanceIdentityFile;
  changeFeedCapacity?: number;
  /**
   * Whether this connection is the only writer of the file, so reads may be served from the row cache
   * (row-cache.ts). Default true; a read-only view beside a running agent sees other writers and says false.
   */
  soleWriter?: boolean;
}

export class SqliteStore implements DesiredStateStore {
  readonly durable: boolean;
  readonly #db: Database;
  readonly #sql: Statements;
  readonly #feed: ChangeFeed;
  readonly #writes: WriteTracker;
  readonly #logger: Logger;
  readonly #clock: { nowMs(): number };
  readonly #identityFile: InstanceIdentityFile | undefined;
  readonly #specs = new TaskSpecCache(rows.parseTaskSpec);
  readonly #rows = new RowCache();
  readonly #soleWriter: boolean;
  readonly #cachedSpec = (text: string, arn: string): TaskSpec => this.#specs.get(arn, text);
  /** Row → record with the spec from the cache: the same frozen object for every read of a task. */
  readonly #toTask = (row: rows.TaskRow): TaskRecord => rows.rowToTask(row, this.#cachedSpec);

  constructor(options: SqliteStoreOptions) {
    this.durable = options.durable;
    this.#db = options.db;
    this.#logger = options.logger;
    this.#clock = options.clock;
    this.#identityFile = options.identityFile;
    this.#soleWriter = options.soleWriter ?? true;
    this.#sql = prepareStatements(options.db);
    this.#feed = new ChangeFeed(options.changeFeedCapacity);
    this.#writes = new WriteTracker(options.db, this.#feed, options.logger, (table, taskArn) =>
      this.#rows.forget(table, taskArn),
    );
  }

  generation(): number {
    return this.#feed.generation;
  }

  changesSince(generation: number, tables?: readonly StoreTable[], ownLoop?: string): ChangesSince {
    return this.#feed.changesSince(generation, tables, ownLoop);
  }

  writerFor(origin: WriteOrigin): DesiredStateStore {
    const writes = this.#writes;
    return new Proxy(this, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => writes.withOrigin(origin, () => value.apply(target, args));
      },
    });
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    return this.#writes.onChange(listener);
  }

  transaction<T>(fn: () => T): T {
    return this.#writes.run(fn);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  // -- instance and sequence number -------------------------------------------------------------------------

  getInstance(): InstanceRecord | undefined {
    const row = this.#sql.getInstance.get();
    return row === undefined ? undefined : rows.rowToInstance(row);
  }

  saveInstance(instance: InstanceRecord): void {
    const row = rows.instanceToRow(instance);
    this.#writes.run(() => {
      if (rows.sameRow(this.#sql.getInstance.get(), row)) return;
      this.#sql.upsertInstance.run(row);
      this.#writes.touch('instance');
      const file = this.#identityFile;
      if (file !== undefined) this.#writes.afterCommit(() => file.write(instance));
    });
  }

  getSequenceNumber(): number {
    const row = this.#sql.getMeta.get(META_SEQUENCE_NUMBER);
    return row === undefined ? -1 : Number(row.value);
  }

  setSequenceNumber(seq: number): void {
    if (!Number.isSafeInteger(seq)) throw new StoreError('sequence number must be an integer', { context: { seq } });
    this.#writes.run(() => {
      if (this.getSequenceNumber() === seq) return;
      this.#sql.setMeta.run(META_SEQUENCE_NUMBER, String(seq));
      this.#writes.touch('meta');
    });
  }

  // -- tasks and containers ---------------------------------------------------------------------------------

  putDesiredTask(spec: TaskSpec): boolean {
    return this.#writes.run(() => {
      if (this.#sql.getTask.get(spec.arn) !== undefined) {
        return this.#raiseDesired(spec.arn, spec.desiredStatus, undefined);
      }
      const nowMs = this.#clock.nowMs();
      const taskRow = rows.taskToRow(newTaskRecord(spec, nowMs));
      this.#sql.insertTask.run(taskRow);
      const containerRows = newContainerRecords(spec).map((container, ord) => rows.containerToRow(container, ord));
      for (const row of containerRows) this.#sql.insertContainer.run(row);
      this.#writes.touch('tasks', spec.arn);
      if (spec.containers.length > 0) this.#writes.touch('containers', spec.arn);
      this.#keepAfterCommit(spec.arn, taskRow, containerRows);
      return true;
    });
  }

  /** After the outermost commit, the rows this write left for `taskArn` go to the row cache (see refill). */
  #keepAfterCommit(taskArn: string, task: rows.TaskRow | undefined, containers: rows.ContainerRow[] | undefined): void {
    if (!this.#soleWriter) return;
    const stamp = this.#rows.stamp();
    this.#writes.afterCommit(() => this.#rows.refill(stamp, taskArn, task, containers));
  }

  raiseTaskDesiredStatus(arn: string, status: TaskStatus, reason?: string): boolean {
    return this.#writes.run(() => this.#raiseDesired(arn, status, reason));
  }

  /** Raises the task's and its containers' desired status; never lowers either (fact sheet 2.6). */
  #raiseDesired(arn: string, status: TaskStatus, reason: string | undefined): boolean {
    const current = this.#sql.getTask.get(arn);
    if (current === undefined) return false;
    const task = this.#toTask(current);
    const desiredStatus = raisedTaskStatus(task.desiredStatus, status);
    if (desiredStatus === task.desiredStatus) return false;
    const next: TaskRecord = { ...task, desiredStatus };
    // An empty reason is none (the containers loop clears a wait note to ''), so a real reason still lands.
    if (reason !== undefined && (task.reason === undefined || task.reason === '')) next.reason = reason;
    const taskRow = rows.taskToRow(next, current.spec);
    this.#sql.updateTask.run(taskRow);
    this.#writes.touch('tasks', arn);
    const containerDesired = containerDesiredForTask(desiredStatus);
    const containerRows = this.#sql.listContainers.all(arn).map((row) => {
      const raised = raisedContainerStatus(rows.rowToContainer(row).desiredStatus, containerDesired);
      if (raised === row.desired_status) return row;
      const raisedRow = { ...row, desired_status: raised };
      this.#sql.updateContainer.run(raisedRow);
      this.#writes.touch('containers', arn);
      return raisedRow;
    });
    this.#keepAfterCommit(arn, taskRow, containerRows);
    return true;
  }

  /** Rows read now may be kept: this connection is the only writer and no transaction is open. */
  #mayCache(): boolean {
    return this.#soleWriter && !this.#db.inTransaction;
  }

  getTask(arn: string): TaskRecord | undefined {
    const row = this.#rows.task(arn, () => this.#sql.getTask.get(arn), this.#mayCache());
    return row === undefined ? undefined : this.#toTask(row);
  }

  listTasks(): TaskRecord[] {
    if (!this.#soleWriter) return this.#sql.listTasks.all().map(this.#toTask);
    // The rows from the row cache, where the loops' reads keep nearly all of them: the admission ledger and
    // the images loop list every task on reconciles of a burst, and reading each spec's text back out of
    // SQLite cost ~4 µs a row even with its parse cached.
    const mayFill = this.#mayCache();
    const tasks: TaskRecord[] = [];
    for (const { arn } of this.#sql.listTaskArns.all()) {
      const row = this.#rows.task(arn, () => this.#sql.getTask.get(arn), mayFill);
      if (row !== undefined) tasks.push(this.#toTask(row));
    }
    return tasks;
  }

  listQueuedTaskArns(): string[] {
    return this.#sql.listQueuedTaskArns.all().map((row) => row.arn);
  }

  listContainers(taskArn: string): ContainerRecord[] {
    return this.#rows
      .containers(taskArn, () => this.#sql.listContainers.all(taskArn), this.#mayCache())
      .map(rows.rowToContainer);
  }

  listAllContainers(): ContainerRecord[] {
    return this.#sql.listAllContainers.all().map(rows.rowToContainer);
  }

  recordObservation(observation: TaskObservation): void {
    const { taskArn } = observation;
    this.#writes.run(() => {
      // A cached row is the committed one (a write earlier in this transaction would have dropped it).
      const taskRow = this.#rows.task(taskArn, () => this.#sql.getTask.get(taskArn), false);
      let taskRowAfter = taskRow;
      if (taskRow === undefined) {
        if (observation.task !== undefined || (observation.containers?.length ?? 0) > 0) {
          // The task was cleaned up while this reconcile ran; its outbox entries are still worth reporting.
          this.#logger.warn('store: observation for an unknown task; patches dropped', { taskArn });
        }
      } else if (observation.task !== undefined) {
        // A patch never changes the spec: its stored text is written back as it is.
        const next = applyTaskPatch(this.#toTask(taskRow), observation.task, this.#clock.nowMs());
        const nextRow = rows.taskToRow(next, taskRow.spec);
        if (!rows.sameRow(taskRow, nextRow)) {
          this.#sql.updateTask.run(nextRow);
          this.#writes.touch(rows.onlySentStatusChanged(taskRow, nextRow) ? 'sent' : 'tasks', taskArn);
          taskRowAfter = nextRow;
        }
      }
      let containerRowsAfter: rows.ContainerRow[] | undefined;
      if (taskRow !== undefined && observation.containers !== undefined) {
        containerRowsAfter = this.#patchContainers(taskArn, observation.containers);
      }
      if (observation.outbox !== undefined) this.#appendOutbox(observation.outbox);
      // The reconcile this write triggers reads these rows next.
      if (taskRow !== undefined) this.#keepAfterCommit(taskArn, taskRowAfter, containerRowsAfter);
    });
  }

  /** Applies the patches; returns the task's container rows as they now are. */
  #patchContainers(taskArn: string, patches: NonNullable<TaskObservation['containers']>): rows.ContainerRow[] {
    const current = this.#rows.containers(taskArn, () => this.#sql.listContainers.all(taskArn), false);
    const byName = new Map(current.map((row) => [row.name, row]));
    for (const { name, patch } of patches) {
      const row = byName.get(name);
      if (row === undefined) {
        this.#logger.warn('store: observation for an unknown container; patch dropped', { taskArn, name });
        continue;
      }
      const nextRow = rows.containerToRow(applyContainerPatch(rows.rowToContainer(row), patch), row.ord);
      if (rows.sameRow(row, nextRow)) continue;
      this.#sql.updateContainer.run(nextRow);
      byName.set(name, nextRow);
      this.#writes.touch(rows.onlySentStatusChanged(row, nextRow) ? 'sent' : 'containers', taskArn);
    }
    return [...byName.values()];
  }

  deleteTask(arn: string): void {
    this.#writes.run(() => {
      // Outbox entries stay: they must still be reported after the task is gone.
      for (const volume of this.#sql.deleteTaskVolumes.all(arn)) this.#writes.touch('volumes', volume.name, arn);
      const containers = this.#sql.listContainers.all(arn);
      // Container rows go with the task row (ON DELETE CASCADE).
      if (this.#sql.deleteTask.run(arn).changes === 0) return;
      this.#specs.forget(arn);
      this.#writes.touch('tasks', arn);
      if (containers.length > 0) this.#writes.touch('containers', arn);
      this.#markImagesUsed(containers);
    });
  }

  /**
   * A task's containers leave: the images they ran were used until now (upstream sets LastUsedAt when it
   * removes a container's reference from the image state). Image cleanup orders candidates by it.
   */
  #markImagesUsed(containers: readonly rows.ContainerRow[]): void {
    const nowMs = this.#clock.nowMs();
    for (const imageId of new Set(containers.map((row) => row.image_id))) {
      if (imageId === null) continue;
      const row = this.#sql.getImage.get(imageId);
      if (row === undefined || row.last_used_at_ms >= nowMs) continue;
      this.#sql.upsertImage.run({ ...row, last_used_at_ms: nowMs });
      this.#writes.touch('images', imageId);
    }
  }

  // -- images, volumes, ENI attachments ---------------------------------------------------------------------

  putImage(image: ImageRecord): void {
    const row = rows.imageToRow(image);
    this.#writes.run(() => {
      if (rows.sameRow(this.#sql.getImage.get(image.imageId), row)) return;
      this.#sql.upsertImage.run(row);
      this.#writes.touch('images', image.imageId);
    });
  }

  getImage(imageId: string): ImageRecord | undefined {
    const row = this.#sql.getImage.get(imageId);
    return row === undefined ? undefined : rows.rowToImage(row);
  }

  listImages(): ImageRecord[] {
    return this.#sql.listImages.all().map(rows.rowToImage);
  }

  deleteImage(imageId: string): void {
    this.#writes.run(() => {
      if (this.#sql.deleteImage.run(imageId).changes > 0) this.#writes.touch('images', imageId);
    });
  }

  putImagePull(pull: ImagePullRecord): void {
    const row = rows.imagePullToRow(pull);
    this.#writes.run(() => {
      if (rows.sameRow(this.#sql.getImagePull.get(pull.ref), row)) return;
      this.#sql.upsertImagePull.run(row);
      this.#writes.touch('pulls', pull.ref);
    });
  }

  getImagePull(ref: string): ImagePullRecord | undefined {
    const row = this.#sql.getImagePull.get(ref);
    return row === undefined ? undefined : rows.rowToImagePull(row);
  }

  listImagePulls(): ImagePullRecord[] {
    return this.#sql.listImagePulls.all().map(rows.rowToImagePull);
  }

  deleteImagePull(ref: string): void {
    this.#writes.run(() => {
      if (this.#sql.deleteImagePull.run(ref).changes > 0) this.#writes.touch('pulls', ref);
    });
  }

  putVolume(volume: VolumeRecord): void {
    const row = rows.volumeToRow(volume);
    this.#writes.run(() => {
      const current = this.#sql.getVolume.get(volume.name);
      if (rows.sameRow(current, row)) return;
      this.#sql.upsertVolume.run(row);
      this.#writes.touch('volumes', row.name, row.task_arn);
      // A volume moved between tasks changed for both.
      if (current !== undefined) this.#writes.touch('volumes', row.name, current.task_arn);
    });
  }

  listVolumes(): VolumeRecord[] {
    return this.#rows.volumes(() => this.#sql.listVolumes.all(), this.#mayCache()).map(rows.rowToVolume);
  }

  deleteVolume(name: string): void {
    this.#writes.run(() => {
      const deleted = this.#sql.deleteVolume.get(name);
      if (deleted !== undefined) this.#writes.touch('volumes', name, deleted.task_arn);
    });
  }

  putEniAttachment(attachment: EniAttachmentRecord): void {
    const row = rows.eniToRow(attachment);
    this.#writes.run(() => {
      const current = this.#sql.getEni.get(attachment.attachmentArn);
      if (rows.sameRow(current, row)) return;
      this.#sql.upsertEni.run(row);
      this.#writes.touch('enis', row.attachment_arn, row.task_arn);
      if (current !== undefined) this.#writes.touch('enis', row.attachment_arn, current.task_arn);
    });
  }

  listEniAttachments(): EniAttachmentRecord[] {
    return this.#sql.listEnis.all().map(rows.rowToEni);
  }

  deleteEniAttachment(attachmentArn: string): void {
    this.#writes.run(() => {
      const deleted = this.#sql.deleteEni.get(attachmentArn);
      if (deleted !== undefined) this.#writes.touch('enis', attachmentArn, deleted.task_arn);
    });
  }

  // -- outbox -----------------------------------------------------------------------------------------------

  appendOutbox(entries: NewOutboxEntry[]): void {
    this.#writes.run(() => this.#appendOutbox(entries));
  }

  #appendOutbox(entries: readonly NewOutboxEntry[]): void {
    const nowMs = this.#clock.nowMs();
    for (const entry of entries) {
      this.#sql.insertOutbox.run({
        task_arn: entry.taskArn,
        kind: entry.kind,
        payload: JSON.stringify(entry.payload),
        created_at_ms: nowMs,
      });
      this.#writes.touch('outbox', entry.taskArn);
    }
  }

  peekOutbox(limit: number): OutboxEntry[] {
    if (!Number.isSafeInteger(limit) || limit <= 0) return [];
    return this.#sql.peekOutbox.all(limit).map(rows.rowToOutbox);
  }

  outboxHeads(limit: number): OutboxHead[] {
    if (!Number.isSafeInteger(limit) || limit <= 0) return [];
    return this.#sql.outboxHeads.all(limit).map(rows.rowToOutboxHead);
  }

  outboxHeadOf(taskArn: string): OutboxHead | undefined {
    const row = this.#sql.outboxHeadOf.get(taskArn);
    return row === undefined ? undefined : rows.rowToOutboxHead(row);
  }

  getOutboxEntry(seq: number): OutboxEntry | undefined {
    const row = this.#sql.getOutbox.get(seq);
    return row === undefined ? undefined : rows.rowToOutbox(row);
  }

  outboxEntriesForTask(taskArn: string, limit: number): OutboxEntry[] {
    if (!Number.isSafeInteger(limit) || limit <= 0) return [];
    return this.#sql.outboxForTask.all(taskArn, limit).map(rows.rowToOutbox);
  }

  outboxDepth(): number {
    return this.#sql.countOutbox.get()?.depth ?? 0;
  }

  markOutboxAttempt(seq: number): void {
    this.#writes.run(() => {
      const entry = this.#sql.markOutboxAttempt.get(seq);
      if (entry !== undefined) this.#writes.touch('outbox', entry.task_arn);
    });
  }

  ackOutbox(seq: number): void {
    this.#writes.run(() => {
      const entry = this.#sql.ackOutbox.get(seq);
      if (entry !== undefined) this.#writes.touch('outbox', entry.task_arn);
    });
  }

  recordSentStatus(
    taskArn: string,
    taskStatus: TaskStatus | undefined,
    containers: ReadonlyArray<{ name: string; status: ContainerStatus }>,
  ): void {
    // Targeted updates rather than recordObservation's read-patch-compare-write of whole rows: an ack per
    // reported change is the reporter's hot path, and only this column moves.
    this.#writes.run(() => {
      let changed =
        taskStatus !== undefined && this.#sql.setTaskSent.run({ arn: taskArn, status: taskStatus }).changes > 0;
      for (const { name, status } of containers) {
        if (this.#sql.setContainerSent.run({ task_arn: taskArn, name, status }).changes > 0) changed = true;
      }
      if (changed) this.#writes.touch('sent', taskArn);
    });
  }
}
