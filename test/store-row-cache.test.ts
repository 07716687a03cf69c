/**
 * The store's row cache (src/store/row-cache.ts): getTask, listContainers and listVolumes of a store that is
 * its file's only writer are served from memory, yet every write through the store — committed — is seen by
 * the next read, and a rolled-back write leaves nothing behind.
 */
import { join } from 'node:path';
import test from 'ava';
import BetterSqlite3 from 'better-sqlite3';
import { DATABASE_FILE_NAME } from '../src/store/index.js';
import type { DesiredStateStore, VolumeRecord } from '../src/store/records.js';
import { OTHER_TASK_ARN, openForTest, TASK_ARN, taskSpec, tempDataDir } from './store-fixtures.js';

function volume(name: string, taskArn?: string): VolumeRecord {
  return {
    name,
    ...(taskArn === undefined ? {} : { taskArn }),
    scope: taskArn === undefined ? 'shared' : 'task',
    driver: 'local',
    createdAtMs: 1,
  };
}

/** Every read the cache serves, in a form that compares by value. */
function snapshot(store: DesiredStateStore, arn: string) {
  const task = store.getTask(arn);
  return {
    task: task && { desired: task.desiredStatus, known: task.knownStatus, sent: task.sentStatus, reason: task.reason },
    containers: store
      .listContainers(arn)
      .map((c) => [c.name, c.desiredStatus, c.knownStatus, c.sentStatus, c.dockerId]),
    volumes: store.listVolumes().map((v) => v.name),
  };
}

test('each kind of write is seen by the next read of a cached task', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.putDesiredTask(taskSpec(OTHER_TASK_ARN));
  t.like(snapshot(store, TASK_ARN), { task: { desired: 'RUNNING', known: 'NONE' }, volumes: [] });

  store.recordObservation({
    taskArn: TASK_ARN,
    task: { knownStatus: 'RUNNING' },
    containers: [{ name: 'app', patch: { knownStatus: 'RUNNING', dockerId: 'd1' } }],
  });
  t.deepEqual(snapshot(store, TASK_ARN).containers[0], ['app', 'RUNNING', 'RUNNING', 'NONE', 'd1']);
  t.is(snapshot(store, TASK_ARN).task?.known, 'RUNNING');

  store.recordSentStatus(TASK_ARN, 'RUNNING', [{ name: 'app', status: 'RUNNING' }]);
  t.is(snapshot(store, TASK_ARN).task?.sent, 'RUNNING');
  t.deepEqual(snapshot(store, TASK_ARN).containers[0], ['app', 'RUNNING', 'RUNNING', 'RUNNING', 'd1']);

  store.raiseTaskDesiredStatus(TASK_ARN, 'STOPPED', 'told to stop');
  t.like(snapshot(store, TASK_ARN).task, { desired: 'STOPPED', reason: 'told to stop' });
  t.deepEqual(
    snapshot(store, TASK_ARN).containers.map((c) => c[1]),
    ['STOPPED', 'STOPPED'],
  );

  store.putVolume(volume('shared-1'));
  store.putVolume(volume('task-1', TASK_ARN));
  t.deepEqual(snapshot(store, TASK_ARN).volumes, ['shared-1', 'task-1']);
  store.deleteVolume('shared-1');
  t.deepEqual(snapshot(store, TASK_ARN).volumes, ['task-1']);

  // The other task, read before all this, was never touched and reads as it was.
  t.like(snapshot(store, OTHER_TASK_ARN).task, { desired: 'RUNNING', known: 'NONE' });

  store.deleteTask(TASK_ARN);
  t.deepEqual(snapshot(store, TASK_ARN), { task: undefined, containers: [], volumes: [] });
  store.putDesiredTask(taskSpec(TASK_ARN, 'RUNNING', ['only']));
  t.deepEqual(
    snapshot(store, TASK_ARN).containers.map((c) => c[0]),
    ['only'],
    'a re-inserted ARN reads its new rows',
  );
});

test('a rolled-back write leaves no uncommitted row in the cache', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.putDesiredTask(taskSpec(TASK_ARN));
  const before = snapshot(store, TASK_ARN);
  t.throws(
    () =>
      store.transaction(() => {
        store.recordObservation({
          taskArn: TASK_ARN,
          task: { knownStatus: 'RUNNING' },
          containers: [{ name: 'app', patch: { knownStatus: 'RUNNING' } }],
        });
        store.putVolume(volume('task-1', TASK_ARN));
        // Inside the transaction the write is visible…
        t.is(snapshot(store, TASK_ARN).task?.known, 'RUNNING');
        t.deepEqual(snapshot(store, TASK_ARN).volumes, ['task-1']);
        throw new Error('abandon');
      }),
    { message: 'abandon' },
  );
  // …and after the rollback it is gone from every read, cached or not.
  t.deepEqual(snapshot(store, TASK_ARN), before);
});

test("the sole writer's repeated reads do not go back to the file; a store write to the task does", (t) => {
  const dataDir = tempDataDir(t);
  const { store } = openForTest(t, { dataDir });
  const backdoor = new BetterSqlite3(join(dataDir, DATABASE_FILE_NAME));
  t.teardown(() => backdoor.close());
  store.putDesiredTask(taskSpec(TASK_ARN));
  t.is(store.getTask(TASK_ARN)?.reason, undefined);
  t.is(store.listContainers(TASK_ARN)[0]?.dockerId, undefined);

  backdoor.prepare("UPDATE tasks SET reason = 'behind' WHERE arn = ?").run(TASK_ARN);
  backdoor.prepare("UPDATE containers SET docker_id = 'behind' WHERE task_arn = ?").run(TASK_ARN);
  t.is(store.getTask(TASK_ARN)?.reason, undefined, 'served from the cache');
  t.is(store.listContainers(TASK_ARN)[0]?.dockerId, undefined, 'served from the cache');

  store.raiseTaskDesiredStatus(TASK_ARN, 'STOPPED');
  t.is(store.getTask(TASK_ARN)?.reason, 'behind', 'the write dropped the cached task row');
  t.is(store.listContainers(TASK_ARN)[0]?.dockerId, 'behind', 'and the container rows it changed');
});

test("an observation's own rows are kept after its commit, equal to what the file holds", (t) => {
  const dataDir = tempDataDir(t);
  const { store } = openForTest(t, { dataDir });
  const { store: fileReader } = openForTest(t, { dataDir, soleWriter: false });
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.recordObservation({
    taskArn: TASK_ARN,
    task: { knownStatus: 'RUNNING', pullStartedAtMs: 5 },
    containers: [{ name: 'app', patch: { knownStatus: 'RUNNING', dockerId: 'd1', exitCode: 0 } }],
    outbox: [{ taskArn: TASK_ARN, kind: 'task', payload: { status: 'RUNNING' } }],
  });
  t.deepEqual(store.getTask(TASK_ARN), fileReader.getTask(TASK_ARN));
  t.deepEqual(store.listContainers(TASK_ARN), fileReader.listContainers(TASK_ARN));

  const backdoor = new BetterSqlite3(join(dataDir, DATABASE_FILE_NAME));
  t.teardown(() => backdoor.close());
  backdoor.prepare("UPDATE tasks SET reason = 'behind' WHERE arn = ?").run(TASK_ARN);
  t.is(store.getTask(TASK_ARN)?.reason, undefined, 'served from memory, not re-read');
});

test('a refill is dropped when a later write in the same transaction changed rows', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.transaction(() => {
    store.recordObservation({ taskArn: TASK_ARN, task: { knownStatus: 'RUNNING' } });
    store.recordSentStatus(TASK_ARN, 'RUNNING', [{ name: 'app', status: 'RUNNING' }]);
  });
  t.is(store.getTask(TASK_ARN)?.sentStatus, 'RUNNING', 'not the row the observation kept');
  t.is(store.listContainers(TASK_ARN)[0]?.sentStatus, 'RUNNING');
});

test('listTasks is served through the row cache and equals what the file holds after every kind of write', (t) => {
  const dataDir = tempDataDir(t);
  const { store } = openForTest(t, { dataDir });
  const { store: fileReader } = openForTest(t, { dataDir, soleWriter: false });
  const same = (what: string) => t.deepEqual(store.listTasks(), fileReader.listTasks(), what);
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.putDesiredTask(taskSpec(OTHER_TASK_ARN));
  same('after two puts');
  store.getTask(TASK_ARN);
  store.recordObservation({ taskArn: TASK_ARN, task: { knownStatus: 'RUNNING', admittedAtMs: 7 } });
  same('after an observation of a cached task');
  store.recordSentStatus(OTHER_TASK_ARN, 'PULLED', []);
  store.raiseTaskDesiredStatus(OTHER_TASK_ARN, 'STOPPED', 'told to stop');
  same('after a sent status and a raise');
  t.throws(() =>
    store.transaction(() => {
      store.recordObservation({ taskArn: TASK_ARN, task: { reason: 'rolled back' } });
      t.is(store.listTasks()[0]?.reason, 'rolled back', 'inside its transaction a write is seen');
      throw new Error('roll back');
    }),
  );
  same('after a rollback');
  store.deleteTask(TASK_ARN);
  same('after a delete');
  t.deepEqual(
    store.listTasks().map((task) => task.arn),
    [OTHER_TASK_ARN],
  );

  const backdoor = new BetterSqlite3(join(dataDir, DATABASE_FILE_NAME));
  t.teardown(() => backdoor.close());
  backdoor.prepare("UPDATE tasks SET reason = 'behind' WHERE arn = ?").run(OTHER_TASK_ARN);
  t.is(store.listTasks()[0]?.reason, 'told to stop', 'rows come from memory, not the file');
});

test('a store that is not the only writer reads the file every time', (t) => {
  const dataDir = tempDataDir(t);
  const { store } = openForTest(t, { dataDir, soleWriter: false });
  const backdoor = new BetterSqlite3(join(dataDir, DATABASE_FILE_NAME));
  t.teardown(() => backdoor.close());
  store.putDesiredTask(taskSpec(TASK_ARN));
  t.is(store.getTask(TASK_ARN)?.reason, undefined);
  backdoor.prepare("UPDATE tasks SET reason = 'behind' WHERE arn = ?").run(TASK_ARN);
  t.is(store.getTask(TASK_ARN)?.reason, 'behind');
});

test('tasks put and raised together in one transaction each keep the rows they wrote', (t) => {
  const dataDir = tempDataDir(t);
  const { store } = openForTest(t, { dataDir });
  const { store: fileReader } = openForTest(t, { dataDir, soleWriter: false });
  store.transaction(() => {
    store.putDesiredTask(taskSpec(TASK_ARN));
    store.putDesiredTask(taskSpec(OTHER_TASK_ARN));
    store.raiseTaskDesiredStatus(TASK_ARN, 'STOPPED', 'replaced');
  });
  for (const arn of [TASK_ARN, OTHER_TASK_ARN]) {
    t.deepEqual(store.getTask(arn), fileReader.getTask(arn));
    t.deepEqual(store.listContainers(arn), fileReader.listContainers(arn));
  }
  t.like(store.getTask(TASK_ARN), { desiredStatus: 'STOPPED', reason: 'replaced' });

  const backdoor = new BetterSqlite3(join(dataDir, DATABASE_FILE_NAME));
  t.teardown(() => backdoor.close());
  backdoor.prepare("UPDATE tasks SET reason = 'behind'").run();
  t.is(store.getTask(OTHER_TASK_ARN)?.reason, undefined, 'served from memory, not re-read');
  t.is(store.getTask(TASK_ARN)?.reason, 'replaced', 'served from memory, not re-read');
});

test('a refill captured before a later write to its task, in the same transaction, is dropped', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.transaction(() => {
    store.recordObservation({ taskArn: TASK_ARN, task: { knownStatus: 'PULLED' } });
    store.recordObservation({ taskArn: TASK_ARN, task: { knownStatus: 'RUNNING' } });
    store.recordSentStatus(TASK_ARN, 'RUNNING', []);
  });
  t.like(store.getTask(TASK_ARN), { knownStatus: 'RUNNING', sentStatus: 'RUNNING' });
});
