/**
 * The loop runtime over the real store's change feed (in memory, fake clock): a loop keyed by task ARN that
 * watches the tables the containers loop reads is woken by state it plans from, and not by the reporter's
 * sent-status acknowledgements nor by outbox traffic.
 */
import test, { type ExecutionContext } from 'ava';
import { createLoop } from '../reconcilers/runtime/loop.js';
import type { LoopDefinition } from '../reconcilers/runtime/types.js';
import { openStore } from '../src/store/index.js';
import type { DesiredStateStore, StoreTable } from '../src/store/records.js';
import { harness } from './helpers/runtime-harness.js';
import { capturingLogger, OTHER_TASK_ARN, TASK_ARN, taskSpec } from './store-fixtures.js';

function memoryStore(t: ExecutionContext): DesiredStateStore {
  const { store } = openStore({ dataDir: '/nonexistent', checkpoint: false, logger: capturingLogger() });
  t.teardown(() => store.close());
  return store;
}

/** Observes nothing and plans nothing: only which tasks were reconciled, and how often, matters here. */
function taskLoop(
  store: DesiredStateStore,
  watchedTables: readonly StoreTable[] | undefined,
  reconciled: string[],
): LoopDefinition<true, undefined, { kind: 'none'; reason: string }> {
  return {
    name: 'tasks-under-test',
    actionKinds: ['none'],
    ...(watchedTables === undefined ? {} : { watchedTables }),
    keys: () => store.listTasks().map((task) => task.arn),
    keysForChange: (change) =>
      change.taskArns === 'all' ? store.listTasks().map((task) => task.arn) : change.taskArns,
    readDesired: (key) => (store.getTask(key) ? true : undefined),
    observe: async (key) => {
      reconciled.push(key);
      return undefined;
    },
    plan: () => ({ actions: [] }),
    apply: async () => {},
  };
}

function ack(store: DesiredStateStore, taskArn: string): void {
  store.transaction(() => {
    store.recordObservation({
      taskArn,
      task: { sentStatus: 'RUNNING' },
      containers: [{ name: 'app', patch: { sentStatus: 'RUNNING' } }],
    });
    store.ackOutbox(store.outboxHeads(1)[0]!.seq);
  });
}

test('an ack does not reconcile a task for a loop watching tasks, containers and volumes; a status change does', async (t) => {
  const store = memoryStore(t);
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.putDesiredTask(taskSpec(OTHER_TASK_ARN));
  const h = harness({ pollIntervalMs: 60_000 });
  const reconciled: string[] = [];
  const loop = createLoop(taskLoop(store, ['tasks', 'containers', 'volumes'], reconciled), { ...h.baseDeps, store });
  loop.start();
  await h.clock.advanceAsync(0);
  t.is(reconciled.length, 2, 'the initial resync');

  store.recordObservation({
    taskArn: TASK_ARN,
    task: { knownStatus: 'RUNNING' },
    containers: [{ name: 'app', patch: { knownStatus: 'RUNNING' } }],
    outbox: [{ taskArn: TASK_ARN, kind: 'task', payload: { status: 'RUNNING' } }],
  });
  await h.clock.advanceAsync(0);
  t.deepEqual(reconciled.slice(2), [TASK_ARN], 'a known-status change is watched');

  ack(store, TASK_ARN);
  await h.clock.advanceAsync(0);
  t.deepEqual(reconciled.slice(3), [], 'the ack (sent status + outbox delete) wakes nothing');

  store.putVolume({ name: 'v', taskArn: OTHER_TASK_ARN, scope: 'task', driver: 'local', createdAtMs: 1 });
  await h.clock.advanceAsync(0);
  t.deepEqual(reconciled.slice(3), [OTHER_TASK_ARN]);
  await loop.stop(0);
});

test('a loop that declares no tables is still reconciled by an ack (every table, as before)', async (t) => {
  const store = memoryStore(t);
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.appendOutbox([{ taskArn: TASK_ARN, kind: 'task', payload: { status: 'RUNNING' } }]);
  const h = harness({ pollIntervalMs: 60_000 });
  const reconciled: string[] = [];
  const loop = createLoop(taskLoop(store, undefined, reconciled), { ...h.baseDeps, store });
  loop.start();
  await h.clock.advanceAsync(0);
  ack(store, TASK_ARN);
  await h.clock.advanceAsync(0);
  t.deepEqual(reconciled, [TASK_ARN, TASK_ARN]);
  await loop.stop(0);
});
