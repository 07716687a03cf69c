import test from 'ava';
import { fakeClock, OTHER_TASK_ARN, openForTest, TASK_ARN, taskSpec, tempDataDir } from './store-fixtures.js';

test('the outbox drains oldest first by sequence number', (t) => {
  const clock = fakeClock();
  const { store } = openForTest(t, { checkpoint: false, clock });
  store.appendOutbox([
    { taskArn: TASK_ARN, kind: 'task', payload: { status: 'PENDING' } },
    { taskArn: OTHER_TASK_ARN, kind: 'task', payload: { status: 'RUNNING' } },
  ]);
  clock.advance(5);
  store.appendOutbox([{ taskArn: TASK_ARN, kind: 'attachment', payload: { status: 'ATTACHED' } }]);
  t.is(store.outboxDepth(), 3);

  const entries = store.peekOutbox(10);
  t.deepEqual(
    entries.map((entry) => [entry.taskArn, entry.kind, entry.payload.status, entry.attempts]),
    [
      [TASK_ARN, 'task', 'PENDING', 0],
      [OTHER_TASK_ARN, 'task', 'RUNNING', 0],
      [TASK_ARN, 'attachment', 'ATTACHED', 0],
    ],
  );
  t.true(entries[0]!.seq < entries[1]!.seq && entries[1]!.seq < entries[2]!.seq);
  t.is(entries[0]?.createdAtMs, clock.nowMs() - 5);
  t.is(entries[2]?.createdAtMs, clock.nowMs());
  t.deepEqual(store.peekOutbox(2), entries.slice(0, 2));
  t.deepEqual(store.peekOutbox(0), []);

  store.markOutboxAttempt(entries[0]!.seq);
  store.markOutboxAttempt(entries[0]!.seq);
  t.is(store.peekOutbox(1)[0]?.attempts, 2);

  store.ackOutbox(entries[0]!.seq);
  t.deepEqual(
    store.peekOutbox(10).map((entry) => entry.seq),
    [entries[1]!.seq, entries[2]!.seq],
  );
  t.is(store.outboxDepth(), 2);
});

test('the outbox survives a reopen in the same order, and sequence numbers are never reused', (t) => {
  const dataDir = tempDataDir(t);
  const first = openForTest(t, { dataDir });
  for (let i = 0; i < 20; i++) {
    first.store.appendOutbox([{ taskArn: i % 2 === 0 ? TASK_ARN : OTHER_TASK_ARN, kind: 'task', payload: { i } }]);
  }
  const last = first.store.peekOutbox(100).at(-1)!;
  first.store.ackOutbox(last.seq);
  first.store.markOutboxAttempt(first.store.peekOutbox(1)[0]!.seq);
  const before = first.store.peekOutbox(100);
  first.store.close();

  const second = openForTest(t, { dataDir });
  t.deepEqual(second.store.peekOutbox(100), before);
  t.deepEqual(
    second.store.peekOutbox(100).map((entry) => entry.payload.i),
    Array.from({ length: 19 }, (_, i) => i),
  );
  t.is(second.store.peekOutbox(1)[0]?.attempts, 1);
  second.store.appendOutbox([{ taskArn: TASK_ARN, kind: 'task', payload: { i: 'new' } }]);
  t.true(second.store.peekOutbox(100).at(-1)!.seq > last.seq, 'an acked sequence number is not handed out again');
});

test('an observation writes its state and its outbox entries in one transaction', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.putDesiredTask(taskSpec(TASK_ARN));
  t.throws(() =>
    store.transaction(() => {
      store.recordObservation({
        taskArn: TASK_ARN,
        task: { knownStatus: 'RUNNING' },
        outbox: [{ taskArn: TASK_ARN, kind: 'task', payload: { status: 'RUNNING' } }],
      });
      throw new Error('the caller failed after recording');
    }),
  );
  t.is(store.getTask(TASK_ARN)?.knownStatus, 'NONE');
  t.is(store.outboxDepth(), 0);

  store.recordObservation({
    taskArn: TASK_ARN,
    task: { knownStatus: 'RUNNING' },
    containers: [{ name: 'app', patch: { knownStatus: 'RUNNING' } }],
    outbox: [
      { taskArn: TASK_ARN, kind: 'task', payload: { status: 'RUNNING', n: 1 } },
      { taskArn: TASK_ARN, kind: 'task', payload: { status: 'RUNNING', n: 2 } },
    ],
  });
  t.is(store.getTask(TASK_ARN)?.knownStatus, 'RUNNING');
  t.deepEqual(
    store.peekOutbox(10).map((entry) => entry.payload.n),
    [1, 2],
  );
});
