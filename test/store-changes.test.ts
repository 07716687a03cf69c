import test from 'ava';
import { ChangeFeed } from '../src/store/change-feed.js';
import { openStore } from '../src/store/index.js';
import type { StoreChange } from '../src/store/records.js';
import { capturingLogger, OTHER_TASK_ARN, openForTest, TASK_ARN, taskSpec } from './store-fixtures.js';

const sorted = <T>(values: Iterable<T>): T[] => [...values].sort();

function recordChanges(store: { onChange(listener: (change: StoreChange) => void): () => void }): StoreChange[] {
  const changes: StoreChange[] = [];
  store.onChange((change) => changes.push(change));
  return changes;
}

test('each committed write bumps the generation once and tells listeners what it touched', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  const changes = recordChanges(store);
  t.is(store.generation(), 0);
  store.putDesiredTask(taskSpec(TASK_ARN));
  t.is(store.generation(), 1);
  t.is(changes.length, 1);
  t.is(changes[0]?.generation, 1);
  t.deepEqual(sorted(changes[0]!.tables), ['containers', 'tasks']);
  t.deepEqual(sorted(changes[0]!.taskArns), [TASK_ARN]);

  store.putImage({ imageId: 'sha256:1', names: [], sizeBytes: 1, pulledAtMs: 1, lastUsedAtMs: 1, pullSucceeded: true });
  t.is(store.generation(), 2);
  t.deepEqual(sorted(changes[1]!.tables), ['images']);
  t.deepEqual(sorted(changes[1]!.taskArns), []);
});

test('writes that change nothing do not bump the generation', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.saveInstance({ cluster: 'default' });
  store.setSequenceNumber(5);
  const before = store.generation();
  const changes = recordChanges(store);
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.saveInstance({ cluster: 'default' });
  store.setSequenceNumber(5);
  store.recordObservation({ taskArn: TASK_ARN, task: { knownStatus: 'NONE' } });
  store.deleteTask(OTHER_TASK_ARN);
  store.ackOutbox(12345);
  store.transaction(() => store.getTask(TASK_ARN));
  t.is(store.generation(), before);
  t.deepEqual(changes, []);
});

test('a transaction fires one change with the union of its writes', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  const changes = recordChanges(store);
  const result = store.transaction(() => {
    store.putDesiredTask(taskSpec(TASK_ARN));
    store.transaction(() => {
      store.putDesiredTask(taskSpec(OTHER_TASK_ARN));
      store.appendOutbox([{ taskArn: TASK_ARN, kind: 'task', payload: { status: 'PENDING' } }]);
    });
    store.setSequenceNumber(9);
    t.is(changes.length, 0, 'nothing fires before the outermost commit');
    return 'done';
  });
  t.is(result, 'done');
  t.is(changes.length, 1);
  t.is(store.generation(), 1);
  t.deepEqual(sorted(changes[0]!.tables), ['containers', 'meta', 'outbox', 'tasks']);
  t.deepEqual(sorted(changes[0]!.taskArns), sorted([TASK_ARN, OTHER_TASK_ARN]));
});

test('a transaction that throws rolls everything back and fires nothing', (t) => {
  const { store } = openForTest(t);
  store.putDesiredTask(taskSpec(OTHER_TASK_ARN));
  const generation = store.generation();
  const changes = recordChanges(store);
  const error = t.throws(() =>
    store.transaction(() => {
      store.putDesiredTask(taskSpec(TASK_ARN));
      store.raiseTaskDesiredStatus(OTHER_TASK_ARN, 'STOPPED');
      store.appendOutbox([{ taskArn: TASK_ARN, kind: 'task', payload: {} }]);
      store.saveInstance({ cluster: 'rolled-back' });
      store.setSequenceNumber(77);
      throw new Error('boom');
    }),
  );
  t.is(error?.message, 'boom', 'the caller sees its own error');
  t.is(store.getTask(TASK_ARN), undefined);
  t.deepEqual(store.listContainers(TASK_ARN), []);
  t.is(store.getTask(OTHER_TASK_ARN)?.desiredStatus, 'RUNNING');
  t.is(store.outboxDepth(), 0);
  t.is(store.getInstance(), undefined);
  t.is(store.getSequenceNumber(), -1);
  t.is(store.generation(), generation);
  t.deepEqual(changes, []);
  t.deepEqual(store.changesSince(generation), { generation, taskArns: [], tables: [], keysByTable: {} });
});

test('a nested transaction that throws and is caught rolls back alone', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  const changes = recordChanges(store);
  store.transaction(() => {
    store.putDesiredTask(taskSpec(TASK_ARN));
    t.throws(() =>
      store.transaction(() => {
        store.putDesiredTask(taskSpec(OTHER_TASK_ARN));
        throw new Error('inner');
      }),
    );
  });
  t.truthy(store.getTask(TASK_ARN));
  t.is(store.getTask(OTHER_TASK_ARN), undefined);
  t.is(changes.length, 1);
  t.deepEqual(sorted(changes[0]!.taskArns), [TASK_ARN], 'the rolled-back write is not announced');
});

test('changesSince names exactly the tasks written since a generation', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  const start = store.generation();
  store.putDesiredTask(taskSpec(TASK_ARN));
  const middle = store.generation();
  store.recordObservation({
    taskArn: OTHER_TASK_ARN,
    outbox: [{ taskArn: OTHER_TASK_ARN, kind: 'task', payload: {} }],
  });
  store.putImage({ imageId: 'sha256:2', names: [], sizeBytes: 1, pulledAtMs: 1, lastUsedAtMs: 1, pullSucceeded: true });

  const all = store.changesSince(start);
  t.is(all.generation, store.generation());
  t.deepEqual(sorted(all.taskArns as string[]), sorted([TASK_ARN, OTHER_TASK_ARN]));
  t.deepEqual(sorted(all.tables as string[]), ['containers', 'images', 'outbox', 'tasks']);

  const later = store.changesSince(middle);
  t.deepEqual(later.taskArns, [OTHER_TASK_ARN]);
  t.deepEqual(sorted(later.tables as string[]), ['images', 'outbox']);

  t.deepEqual(store.changesSince(store.generation()), {
    generation: store.generation(),
    taskArns: [],
    tables: [],
    keysByTable: {},
  });
});

test("changesSince answers 'all' once the ring no longer covers the generation", (t) => {
  const opened = openStore({
    dataDir: '/nonexistent',
    checkpoint: false,
    logger: capturingLogger(),
    changeFeedCapacity: 4,
  });
  const { store } = opened;
  t.teardown(() => store.close());
  for (let i = 0; i < 4; i++) store.putDesiredTask(taskSpec(`arn:task/${i}`));
  t.deepEqual(store.changesSince(0).taskArns, ['arn:task/0', 'arn:task/1', 'arn:task/2', 'arn:task/3']);
  store.putDesiredTask(taskSpec('arn:task/4'));
  t.deepEqual(store.changesSince(0), { generation: 5, taskArns: 'all', tables: 'all', keysByTable: 'all' });
  t.deepEqual(store.changesSince(1).taskArns, ['arn:task/1', 'arn:task/2', 'arn:task/3', 'arn:task/4']);
  t.deepEqual(store.changesSince(3).taskArns, ['arn:task/3', 'arn:task/4']);
  t.deepEqual(
    store.changesSince(99),
    { generation: 5, taskArns: 'all', tables: 'all', keysByTable: 'all' },
    'a generation from the future',
  );
});

test('the change feed ring keeps 4096 changes by default', (t) => {
  const feed = new ChangeFeed();
  for (let i = 0; i < 5000; i++) {
    const arns = new Set([`arn:${i}`]);
    feed.record(new Map([['tasks', { keys: arns, taskArns: arns }]]));
  }
  t.is(feed.changesSince(5000 - 4096).taskArns.length, 4096);
  t.is(feed.changesSince(5000 - 4097).taskArns, 'all');
  t.throws(() => new ChangeFeed(0), { instanceOf: RangeError });
});

test('a listener that throws is logged and breaks neither the store nor other listeners', (t) => {
  const logger = capturingLogger();
  const { store } = openForTest(t, { checkpoint: false, logger });
  store.onChange(() => {
    throw new Error('listener bug');
  });
  const changes = recordChanges(store);
  t.notThrows(() => store.putDesiredTask(taskSpec(TASK_ARN)));
  t.truthy(store.getTask(TASK_ARN), 'the write committed');
  t.is(changes.length, 1);
  t.true(logger.lines.some((line) => line.level === 'error' && line.fields.error === 'listener bug'));
});

test('unsubscribing stops notifications, and a listener may write', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  const seen: number[] = [];
  const unsubscribe = store.onChange((change) => {
    seen.push(change.generation);
    if (change.generation === 1) store.setSequenceNumber(1);
  });
  store.putDesiredTask(taskSpec(TASK_ARN));
  t.deepEqual(seen, [1, 2], 'the write made from the listener is its own generation');
  unsubscribe();
  store.putDesiredTask(taskSpec(OTHER_TASK_ARN));
  t.deepEqual(seen, [1, 2]);
  t.is(store.generation(), 3);
});

/** Per table, the sorted task ARNs a change touched. */
const byTable = (change: StoreChange): Record<string, string[]> =>
  Object.fromEntries([...change.taskArnsByTable].map(([table, arns]) => [table, sorted(arns)]));

test("a write that changes only sent status is announced as the logical table 'sent'", (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.recordObservation({
    taskArn: TASK_ARN,
    task: { knownStatus: 'RUNNING' },
    containers: [
      { name: 'app', patch: { knownStatus: 'RUNNING' } },
      { name: 'sidecar', patch: { knownStatus: 'RUNNING' } },
    ],
  });
  const changes = recordChanges(store);

  // The reporter's acknowledgement: sent status of the task and its containers, nothing else.
  store.recordObservation({
    taskArn: TASK_ARN,
    task: { sentStatus: 'RUNNING' },
    containers: [{ name: 'app', patch: { sentStatus: 'RUNNING' } }],
  });
  t.deepEqual(byTable(changes[0]!), { sent: [TASK_ARN] });
  t.is(store.getTask(TASK_ARN)?.sentStatus, 'RUNNING', 'the sent status is written all the same');

  // Sent status together with another column is an ordinary write; a container whose sent status alone
  // changed in the same observation is still 'sent'.
  store.recordObservation({
    taskArn: TASK_ARN,
    task: { sentStatus: 'STOPPED', knownStatus: 'STOPPED' },
    containers: [
      { name: 'app', patch: { sentStatus: 'STOPPED', knownStatus: 'STOPPED' } },
      { name: 'sidecar', patch: { sentStatus: 'RUNNING' } },
    ],
  });
  t.deepEqual(byTable(changes[1]!), { tasks: [TASK_ARN], containers: [TASK_ARN], sent: [TASK_ARN] });

  // A container patch that changes another column only is a 'containers' write.
  store.recordObservation({ taskArn: TASK_ARN, containers: [{ name: 'sidecar', patch: { exitCode: 0 } }] });
  t.deepEqual(byTable(changes[2]!), { containers: [TASK_ARN] });
  t.is(changes.length, 3);
});

test('a transaction records which tasks each table touched, not just their union', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  const changes = recordChanges(store);
  store.transaction(() => {
    store.putDesiredTask(taskSpec(TASK_ARN));
    store.transaction(() => {
      store.appendOutbox([{ taskArn: OTHER_TASK_ARN, kind: 'task', payload: {} }]);
      store.putImage({
        imageId: 'sha256:3',
        names: [],
        sizeBytes: 1,
        pulledAtMs: 1,
        lastUsedAtMs: 1,
        pullSucceeded: true,
      });
    });
    store.appendOutbox([{ taskArn: TASK_ARN, kind: 'task', payload: {} }]);
  });
  t.is(changes.length, 1);
  t.deepEqual(byTable(changes[0]!), {
    tasks: [TASK_ARN],
    containers: [TASK_ARN],
    outbox: sorted([TASK_ARN, OTHER_TASK_ARN]),
    images: [],
  });
  t.deepEqual(sorted(changes[0]!.taskArns), sorted([TASK_ARN, OTHER_TASK_ARN]), 'the union is still there');
});

test('changesSince(g, tables) counts only writes to those tables', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  const third = 'arn:aws:ecs:us-west-2:123456789012:task/default/cccc';
  store.putDesiredTask(taskSpec(third));
  const start = store.generation();
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.appendOutbox([{ taskArn: OTHER_TASK_ARN, kind: 'task', payload: {} }]);
  store.putImage({ imageId: 'sha256:4', names: [], sizeBytes: 1, pulledAtMs: 1, lastUsedAtMs: 1, pullSucceeded: true });
  store.recordObservation({ taskArn: third, task: { sentStatus: 'RUNNING' } });
  const generation = store.generation();

  t.deepEqual(store.changesSince(start, ['tasks', 'containers', 'volumes']), {
    generation,
    taskArns: [TASK_ARN],
    tables: ['tasks', 'containers'],
    keysByTable: { tasks: [TASK_ARN], containers: [TASK_ARN] },
  });
  const outboxAndImages = store.changesSince(start, ['outbox', 'images']);
  t.deepEqual(outboxAndImages.taskArns, [OTHER_TASK_ARN]);
  t.deepEqual(sorted(outboxAndImages.tables as string[]), ['images', 'outbox']);
  t.deepEqual(store.changesSince(start, ['sent']), {
    generation,
    taskArns: [third],
    tables: ['sent'],
    keysByTable: { sent: [third] },
  });
  t.deepEqual(
    store.changesSince(start, ['enis']),
    { generation, taskArns: [], tables: [], keysByTable: {} },
    'nothing watched was written, but the answer still moves the caller to the current generation',
  );
  t.deepEqual(store.changesSince(start, []), { generation, taskArns: [], tables: [], keysByTable: {} });
  t.deepEqual(
    sorted(store.changesSince(start).taskArns as string[]),
    sorted([TASK_ARN, OTHER_TASK_ARN, third]),
    'no tables given: every table, as before',
  );
  t.deepEqual(store.changesSince(generation + 5, ['tasks']), {
    generation,
    taskArns: 'all',
    tables: 'all',
    keysByTable: 'all',
  });
});

test("changesSince(g, tables, ownLoop) answers that loop's own writes apart, per the key that made them", async (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  const start = store.generation();
  // A write through writerFor(origin) after an await still carries the origin.
  const writer = store.writerFor({ loop: 'containers', key: TASK_ARN });
  await new Promise<void>((resolve) => setImmediate(resolve));
  writer.putDesiredTask(taskSpec(TASK_ARN));
  store.writerFor({ loop: 'images', key: 'sha256:9' }).putDesiredTask(taskSpec(OTHER_TASK_ARN));
  const generation = store.generation();

  const answer = store.changesSince(start, ['tasks', 'containers'], 'containers');
  t.deepEqual(answer.taskArns, [OTHER_TASK_ARN], "another loop's write is in the main answer");
  t.deepEqual([...(answer.own ?? new Map()).keys()], [TASK_ARN]);
  t.deepEqual(answer.own?.get(TASK_ARN), {
    taskArns: [TASK_ARN],
    tables: ['tasks', 'containers'],
    keysByTable: { tasks: [TASK_ARN], containers: [TASK_ARN] },
  });
  t.deepEqual(
    sorted(store.changesSince(start).taskArns as string[]),
    sorted([TASK_ARN, OTHER_TASK_ARN]),
    'without ownLoop every write is in the main answer',
  );
  t.is(store.generation(), generation);
});

test('the feed names the rows written: image IDs, volume names and ENI attachments, with their owning tasks', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.putDesiredTask(taskSpec(TASK_ARN));
  const start = store.generation();
  store.putImage({ imageId: 'sha256:5', names: [], sizeBytes: 1, pulledAtMs: 1, lastUsedAtMs: 1, pullSucceeded: true });
  store.putVolume({ name: 'ecs-vol-1', taskArn: TASK_ARN, scope: 'task', driver: 'local', createdAtMs: 1 });
  store.putVolume({ name: 'shared-vol', scope: 'shared', driver: 'local', createdAtMs: 1 });
  store.putEniAttachment({
    attachmentArn: 'arn:attachment/1',
    macAddress: '0a:00:00:00:00:01',
    taskArn: OTHER_TASK_ARN,
    kind: 'task-eni',
    status: 'NONE',
    expiresAtMs: 1,
    sent: false,
    eni: {},
  });
  const answer = store.changesSince(start);
  const keys = answer.keysByTable as Record<string, string[]>;
  t.deepEqual(keys['images'], ['sha256:5']);
  t.deepEqual(sorted(keys['volumes'] ?? []), ['ecs-vol-1', 'shared-vol']);
  t.deepEqual(keys['enis'], ['arn:attachment/1']);
  t.deepEqual(sorted(answer.taskArns as string[]), sorted([TASK_ARN, OTHER_TASK_ARN]), 'owners of volume and ENI');

  const afterPuts = store.generation();
  store.deleteImage('sha256:5');
  store.deleteTask(TASK_ARN);
  const deletes = store.changesSince(afterPuts);
  t.deepEqual((deletes.keysByTable as Record<string, string[]>)['images'], ['sha256:5']);
  t.deepEqual(
    (deletes.keysByTable as Record<string, string[]>)['volumes'],
    ['ecs-vol-1'],
    "a task's deletion names its task volumes, not the shared one",
  );
});

test('recordSentStatus sets only sent status, announces it as "sent" only when it changed, and ignores the unknown', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.putDesiredTask(taskSpec(TASK_ARN));
  const [first] = store.listContainers(TASK_ARN);
  const before = store.getTask(TASK_ARN)!;
  const changes = recordChanges(store);

  store.recordSentStatus(TASK_ARN, 'RUNNING', [{ name: first!.name, status: 'RUNNING' }]);
  t.is(store.getTask(TASK_ARN)!.sentStatus, 'RUNNING');
  t.is(store.listContainers(TASK_ARN)[0]!.sentStatus, 'RUNNING');
  t.deepEqual({ ...store.getTask(TASK_ARN)!, sentStatus: before.sentStatus }, before, 'nothing else moved');
  t.deepEqual(
    changes.map((c) => sorted(c.tables)),
    [['sent']],
  );

  store.recordSentStatus(TASK_ARN, 'RUNNING', [{ name: first!.name, status: 'RUNNING' }]);
  store.recordSentStatus(OTHER_TASK_ARN, 'STOPPED', [{ name: 'nope', status: 'STOPPED' }]);
  store.recordSentStatus(TASK_ARN, undefined, [{ name: 'no-such-container', status: 'STOPPED' }]);
  t.is(changes.length, 1, 'no change, no announcement');
});

test('a store call under a write origin is synchronous only: a promise is refused, and the origin does not leak', async (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  const start = store.generation();
  // better-sqlite3 refuses a transaction function that returns a promise and rolls it back, so no write can
  // land after an await under an origin that no longer applies.
  t.throws(
    () =>
      store.writerFor({ loop: 'containers', key: TASK_ARN }).transaction(async () => {
        store.putDesiredTask(taskSpec(TASK_ARN));
      }),
    { instanceOf: TypeError, message: /cannot return a promise/ },
  );
  t.is(store.getTask(TASK_ARN), undefined, 'the refused transaction wrote nothing');
  // A later plain write has no origin.
  store.putDesiredTask(taskSpec(OTHER_TASK_ARN));
  const answer = store.changesSince(start, ['tasks'], 'containers');
  t.deepEqual([...(answer.own ?? new Map()).keys()], []);
  t.deepEqual(answer.taskArns, [OTHER_TASK_ARN]);
});
