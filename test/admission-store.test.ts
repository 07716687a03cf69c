/**
 * The admission ledger in the store (issue 13): the task columns survive a reopen, an upgraded store counts
 * its existing tasks as admitted, and a release (a task's STOPPED write) wakes every waiting task at once.
 */
import test from 'ava';
import BetterSqlite3 from 'better-sqlite3';
import type { ContainersExecutor } from '../reconcilers/containers/executor.js';
import { containersLoopDefinition, withWaitingTasks } from '../reconcilers/containers/loop.js';
import type { ContainerView } from '../src/docker/container-view.js';
import type { TaskCgroupManager } from '../src/host/task-cgroup.js';
import { MIGRATIONS, migrate } from '../src/store/migrations.js';
import { fakeClock, OTHER_TASK_ARN, openForTest, TASK_ARN, taskSpec, tempDataDir } from './store-fixtures.js';

const THIRD_ARN = 'arn:aws:ecs:us-west-2:123456789012:task/default/0000000000000000000000000000third';

test('admittedAtMs and waitingFor are stored, cleared by an empty text, and restored after a reopen', (t) => {
  const dataDir = tempDataDir(t);
  const first = openForTest(t, { dataDir });
  first.store.putDesiredTask(taskSpec(TASK_ARN));
  first.store.putDesiredTask(taskSpec(OTHER_TASK_ARN));
  first.store.recordObservation({ taskArn: TASK_ARN, task: { admittedAtMs: 1234 } });
  first.store.recordObservation({ taskArn: OTHER_TASK_ARN, task: { waitingFor: 'host port 80/tcp held by task x' } });
  first.store.close();

  const second = openForTest(t, { dataDir });
  t.is(second.store.getTask(TASK_ARN)?.admittedAtMs, 1234);
  t.is(second.store.getTask(TASK_ARN)?.waitingFor, undefined);
  t.is(second.store.getTask(OTHER_TASK_ARN)?.waitingFor, 'host port 80/tcp held by task x');
  t.is(second.store.getTask(OTHER_TASK_ARN)?.admittedAtMs, undefined);
  second.store.recordObservation({ taskArn: OTHER_TASK_ARN, task: { waitingFor: '', admittedAtMs: 5678 } });
  t.is(second.store.getTask(OTHER_TASK_ARN)?.waitingFor, undefined, "'' is stored as no value");
  t.is(second.store.getTask(OTHER_TASK_ARN)?.admittedAtMs, 5678);
});

test('a version 2 store gains the admission columns and counts its tasks as admitted', (t) => {
  const db = new BetterSqlite3(':memory:');
  t.teardown(() => db.close());
  migrate(db, 1000, MIGRATIONS.slice(0, 2));
  db.prepare(
    `INSERT INTO tasks (arn, family, version, source, spec, desired_status, known_status, sent_status,
       created_at_ms, known_at_ms) VALUES ('arn:t', 'web', '1', 'local', '{}', 'RUNNING', 'RUNNING', 'NONE', 77, 78)`,
  ).run();
  migrate(db, 2000);
  t.deepEqual(db.prepare('SELECT admitted_at_ms, waiting_for FROM tasks').all(), [
    { admitted_at_ms: 77, waiting_for: null },
  ]);
});

test('a task reaching STOPPED wakes every waiting task; a waiting task’s own write wakes no one else', (t) => {
  const clock = fakeClock();
  const { store } = openForTest(t, { clock });
  // Arrival order is creation time (then ARN): one millisecond apart, so the line is the order of puts.
  for (const arn of [TASK_ARN, OTHER_TASK_ARN, THIRD_ARN]) {
    store.putDesiredTask(taskSpec(arn));
    clock.advance(1);
  }
  // TASK_ARN holds; the other two wait.
  store.recordObservation({ taskArn: TASK_ARN, task: { admittedAtMs: 1, knownStatus: 'RUNNING' } });
  store.recordObservation({ taskArn: OTHER_TASK_ARN, task: { waitingFor: 'host port 80/tcp held by task a' } });
  store.recordObservation({ taskArn: THIRD_ARN, task: { waitingFor: 'queued behind task b' } });

  t.deepEqual(store.listQueuedTaskArns(), [OTHER_TASK_ARN, THIRD_ARN], 'the line, in arrival order');

  const changed = (write: () => void): readonly string[] => {
    const before = store.generation();
    write();
    const feed = store.changesSince(before, ['tasks', 'containers', 'volumes']);
    t.not(feed.taskArns, 'all');
    return withWaitingTasks(store, feed.taskArns as string[]);
  };

  t.deepEqual(
    [
      ...changed(() =>
        store.recordObservation({ taskArn: OTHER_TASK_ARN, task: { waitingFor: 'memory: needs 1 MiB, 0 MiB free' } }),
      ),
    ],
    [OTHER_TASK_ARN],
    'a waiting task changing its text moves nothing in the ledger',
  );
  t.deepEqual(
    [...changed(() => store.recordObservation({ taskArn: TASK_ARN, task: { knownStatus: 'STOPPED' } }))].sort(),
    [TASK_ARN, OTHER_TASK_ARN, THIRD_ARN].sort(),
    'the release wakes the waiting tasks at once',
  );
  t.deepEqual(
    [...changed(() => store.recordObservation({ taskArn: OTHER_TASK_ARN, task: { admittedAtMs: 9, waitingFor: '' } }))],
    [OTHER_TASK_ARN, THIRD_ARN],
    'an admission moves the line: the next one looks again',
  );
});

test('the loop reads the ledger only for a task in the line, not for one admitted, stopping or stopped', (t) => {
  const { store } = openForTest(t);
  const definition = containersLoopDefinition({
    store,
    view: {} as ContainerView,
    images: { present: async (refs) => new Set(refs), invalidate: () => {} },
    cgroups: {} as TaskCgroupManager,
    executor: {} as ContainersExecutor,
    settings: {
      defaultStopTimeoutSec: 30,
      taskCgroupEnabled: false,
      hostCapacity: { cpuUnits: 2048, memoryMiB: 4096, reservedTcpPorts: new Set(), reservedUdpPorts: new Set() },
    },
    nowMs: () => 0,
  });
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.putDesiredTask(taskSpec(OTHER_TASK_ARN));
  store.putDesiredTask(taskSpec(THIRD_ARN));
  t.is(definition.readDesired(TASK_ARN)?.ledgerTasks?.length, 3, 'in the line: every task');
  store.recordObservation({ taskArn: TASK_ARN, task: { admittedAtMs: 1 } });
  t.is(definition.readDesired(TASK_ARN)?.ledgerTasks, undefined, 'admitted');
  store.raiseTaskDesiredStatus(OTHER_TASK_ARN, 'STOPPED');
  t.is(definition.readDesired(OTHER_TASK_ARN)?.ledgerTasks, undefined, 'left the line');
  store.recordObservation({ taskArn: THIRD_ARN, task: { knownStatus: 'STOPPED' } });
  t.is(definition.readDesired(THIRD_ARN)?.ledgerTasks, undefined, 'stopped');
});
