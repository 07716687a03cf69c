/**
 * Every SQL statement the store runs, prepared once per connection. Lookups the loops make on every pass
 * (a task by ARN, a task's containers) go through the primary key or an index.
 */
import type { Database, Statement } from 'better-sqlite3';
import type {
  ContainerRow,
  EniRow,
  ImagePullRow,
  ImageRow,
  InstanceRow,
  OutboxRow,
  TaskRow,
  VolumeRow,
} from './rows.js';

/** The `meta` key holding the latest ACS sequence number (upstream's `task-manifest-seq-num`, fact sheet 2.8). */
export const META_SEQUENCE_NUMBER = 'task-manifest-seq-num';

const TASK_COLUMNS =
  'arn, family, version, source, spec, desired_status, known_status, sent_status, reason, created_at_ms, ' +
  'known_at_ms, pull_started_at_ms, pull_stopped_at_ms, execution_stopped_at_ms, admitted_at_ms, waiting_for';
const CONTAINER_COLUMNS =
  'task_arn, name, ord, desired_status, known_status, sent_status, docker_id, docker_name, image_id, exit_code, ' +
  'reason, health, port_bindings, created_at_ms, started_at_ms, finished_at_ms';

function params(columns: string): string {
  return columns
    .split(',')
    .map((column) => `@${column.trim()}`)
    .join(', ');
}

function assignments(columns: string, key: readonly string[]): string {
  return columns
    .split(',')
    .map((column) => column.trim())
    .filter((column) => !key.includes(column))
    .map((column) => `${column} = excluded.${column}`)
    .join(', ');
}

function upsert(table: string, columns: string, key: readonly string[]): string {
  return (
    `INSERT INTO ${table} (${columns}) VALUES (${params(columns)}) ` +
    `ON CONFLICT (${key.join(', ')}) DO UPDATE SET ${assignments(columns, key)}`
  );
}

const INSTANCE_COLUMNS =
  'id, cluster, container_instance_arn, ec2_instance_id, availability_zone, agent_version, registration';
const IMAGE_COLUMNS = 'image_id, names, size_bytes, pulled_at_ms, last_used_at_ms, pull_succeeded';
const IMAGE_PULL_COLUMNS =
  'ref, state, started_at_ms, finished_at_ms, current_bytes, total_bytes, attempts, last_succeeded_at_ms, ' +
  'image_id, reason, failure';
const VOLUME_COLUMNS = 'name, task_arn, scope, driver, created_at_ms';
const ENI_COLUMNS = 'attachment_arn, mac_address, task_arn, kind, status, expires_at_ms, sent, eni';

export interface Statements {
  getInstance: Statement<[], InstanceRow>;
  upsertInstance: Statement<[InstanceRow]>;
  getMeta: Statement<[string], { value: string }>;
  setMeta: Statement<[string, string]>;

  getTask: Statement<[string], TaskRow>;
  listTasks: Statement<[], TaskRow>;
  listTaskArns: Statement<[], { arn: string }>;
  listQueuedTaskArns: Statement<[], { arn: string }>;
  insertTask: Statement<[TaskRow]>;
  updateTask: Statement<[TaskRow]>;
  deleteTask: Statement<[string]>;

  listContainers: Statement<[string], ContainerRow>;
  listAllContainers: Statement<[], ContainerRow>;
  insertContainer: Statement<[ContainerRow]>;
  updateContainer: Statement<[ContainerRow]>;

  getImage: Statement<[string], ImageRow>;
  listImages: Statement<[], ImageRow>;
  upsertImage: Statement<[ImageRow]>;
  deleteImage: Statement<[string]>;
  getImagePull: Statement<[string], ImagePullRow>;
  listImagePulls: Statement<[], ImagePullRow>;
  upsertImagePull: Statement<[ImagePullRow]>;
  deleteImagePull: Statement<[string]>;

  getVolume: Statement<[string], VolumeRow>;
  listVolumes: Statement<[], VolumeRow>;
  upsertVolume: Statement<[VolumeRow]>;
  deleteVolume: Statement<[string], { task_arn: string | null }>;
  deleteTaskVolumes: Statement<[string], { name: string }>;

  getEni: Statement<[string], EniRow>;
  listEnis: Statement<[], EniRow>;
  upsertEni: Statement<[EniRow]>;
  deleteEni: Statement<[string], { task_arn: string | null }>;

  insertOutbox: Statement<[{ task_arn: string; kind: string; payload: string; created_at_ms: number }]>;
  peekOutbox: Statement<[number], OutboxRow>;
  outboxHeads: Statement<[number], Omit<OutboxRow, 'payload'>>;
  outboxHeadOf: Statement<[string], Omit<OutboxRow, 'payload'>>;
  getOutbox: Statement<[number], OutboxRow>;
  outboxForTask: Statement<[string, number], OutboxRow>;
  countOutbox: Statement<[], { depth: number }>;
  markOutboxAttempt: Statement<[number], { task_arn: string }>;
  ackOutbox: Statement<[number], { task_arn: string }>;
  setTaskSent: Statement<[{ arn: string; status: string }]>;
  setContainerSent: Statement<[{ task_arn: string; name: string; status: string }]>;
}

export function prepareStatements(db: Database): Statements {
  const updateTaskSet = assignments(TASK_COLUMNS, ['arn']).replaceAll('excluded.', '@');
  const updateContainerSet = assignments(CONTAINER_COLUMNS, ['task_arn', 'name', 'ord']).replaceAll('excluded.', '@');
  return {
    getInstance: db.prepare(`SELECT ${INSTANCE_COLUMNS} FROM instance WHERE id = 1`),
    upsertInstance: db.prepare(upsert('instance', INSTANCE_COLUMNS, ['id'])),
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),

    getTask: db.prepare(`SELECT ${TASK_COLUMNS} FROM tasks WHERE arn = ?`),
    listTasks: db.prepare(`SELECT ${TASK_COLUMNS} FROM tasks ORDER BY created_at_ms, rowid`),
    listTaskArns: db.prepare('SELECT arn FROM tasks ORDER BY created_at_ms, rowid'),
    // The admission line (reconcilers/containers/admission.ts isQueued), through the partial index tasks_queued.
    listQueuedTaskArns: db.prepare(
      "SELECT arn FROM tasks WHERE admitted_at_ms IS NULL AND known_status = 'NONE' AND desired_status <> 'STOPPED' " +
        'ORDER BY created_at_ms, arn',
    ),
    insertTask: db.prepare(`INSERT INTO tasks (${TASK_COLUMNS}) VALUES (${params(TASK_COLUMNS)})`),
    updateTask: db.prepare(`UPDATE tasks SET ${updateTaskSet} WHERE arn = @arn`),
    deleteTask: db.prepare('DELETE FROM tasks WHERE arn = ?'),

    listContainers: db.prepare(`SELECT ${CONTAINER_COLUMNS} FROM containers WHERE task_arn = ? ORDER BY ord`),
    listAllContainers: db.prepare(`SELECT ${CONTAINER_COLUMNS} FROM containers ORDER BY task_arn, ord`),
    insertContainer: db.prepare(`INSERT INTO containers (${CONTAINER_COLUMNS}) VALUES (${params(CONTAINER_COLUMNS)})`),
    updateContainer: db.prepare(
      `UPDATE containers SET ${updateContainerSet} WHERE task_arn = @task_arn AND name = @name`,
    ),

    getImage: db.prepare(`SELECT ${IMAGE_COLUMNS} FROM images WHERE image_id = ?`),
    listImages: db.prepare(`SELECT ${IMAGE_COLUMNS} FROM images ORDER BY image_id`),
    upsertImage: db.prepare(upsert('images', IMAGE_COLUMNS, ['image_id'])),
    deleteImage: db.prepare('DELETE FROM images WHERE image_id = ?'),
    getImagePull: db.prepare(`SELECT ${IMAGE_PULL_COLUMNS} FROM image_pulls WHERE ref = ?`),
    listImagePulls: db.prepare(`SELECT ${IMAGE_PULL_COLUMNS} FROM image_pulls ORDER BY ref`),
    upsertImagePull: db.prepare(upsert('image_pulls', IMAGE_PULL_COLUMNS, ['ref'])),
    deleteImagePull: db.prepare('DELETE FROM image_pulls WHERE ref = ?'),

    getVolume: db.prepare(`SELECT ${VOLUME_COLUMNS} FROM volumes WHERE name = ?`),
    listVolumes: db.prepare(`SELECT ${VOLUME_COLUMNS} FROM volumes ORDER BY name`),
    upsertVolume: db.prepare(upsert('volumes', VOLUME_COLUMNS, ['name'])),
    deleteVolume: db.prepare('DELETE FROM volumes WHERE name = ? RETURNING task_arn'),
    deleteTaskVolumes: db.prepare("DELETE FROM volumes WHERE task_arn = ? AND scope = 'task' RETURNING name"),

    getEni: db.prepare(`SELECT ${ENI_COLUMNS} FROM enis WHERE attachment_arn = ?`),
    listEnis: db.prepare(`SELECT ${ENI_COLUMNS} FROM enis ORDER BY attachment_arn`),
    upsertEni: db.prepare(upsert('enis', ENI_COLUMNS, ['attachment_arn'])),
    deleteEni: db.prepare('DELETE FROM enis WHERE attachment_arn = ? RETURNING task_arn'),

    insertOutbox: db.prepare(
      'INSERT INTO outbox (task_arn, kind, payload, created_at_ms) VALUES (@task_arn, @kind, @payload, @created_at_ms)',
    ),
    peekOutbox: db.prepare(
      'SELECT seq, task_arn, kind, payload, created_at_ms, attempts FROM outbox ORDER BY seq LIMIT ?',
    ),
    // Walks the outbox in seq order and keeps a row only when its task has no older one (one seek in
    // outbox_by_task_seq per row), so it stops as soon as `limit` heads are found and sorts nothing.
    outboxHeads: db.prepare(
      'SELECT o.seq, o.task_arn, o.kind, o.created_at_ms, o.attempts FROM outbox AS o ' +
        'WHERE NOT EXISTS (SELECT 1 FROM outbox AS older WHERE older.task_arn = o.task_arn AND older.seq < o.seq) ' +
        'ORDER BY o.seq LIMIT ?',
    ),
    // One seek in outbox_by_task_seq.
    outboxHeadOf: db.prepare(
      'SELECT seq, task_arn, kind, created_at_ms, attempts FROM outbox WHERE task_arn = ? ORDER BY seq LIMIT 1',
    ),
    getOutbox: db.prepare('SELECT seq, task_arn, kind, payload, created_at_ms, attempts FROM outbox WHERE seq = ?'),
    outboxForTask: db.prepare(
      'SELECT seq, task_arn, kind, payload, created_at_ms, attempts FROM outbox WHERE task_arn = ? ORDER BY seq LIMIT ?',
    ),
    countOutbox: db.prepare('SELECT COUNT(*) AS depth FROM outbox'),
    markOutboxAttempt: db.prepare('UPDATE outbox SET attempts = attempts + 1 WHERE seq = ? RETURNING task_arn'),
    ackOutbox: db.prepare('DELETE FROM outbox WHERE seq = ? RETURNING task_arn'),
    setTaskSent: db.prepare('UPDATE tasks SET sent_status = @status WHERE arn = @arn AND sent_status <> @status'),
    setContainerSent: db.prepare(
      'UPDATE containers SET sent_status = @status WHERE task_arn = @task_arn AND name = @name AND sent_status <> @status',
    ),
  };
}
