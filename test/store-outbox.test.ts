import { join } from 'node:path';
import test from 'ava';
import BetterSqlite3 from 'better-sqlite3';
import { StoreCorruptError } from '../src/errors.js';
import { DATABASE_FILE_NAME } from '../src/store/index.js';
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

test("outboxHeadOf returns one task's oldest entry without its payload, and nothing once it has none", (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.appendOutbox([
    { taskArn: OTHER_TASK_ARN, kind: 'task', payload: { n: 1 } },
    { taskArn: TASK_ARN, kind: 'container', payload: { n: 2 } },
    { taskArn: TASK_ARN, kind: 'task', payload: { n: 3 } },
  ]);
  const [, second, third] = store.peekOutbox(10).map((entry) => entry.seq);
  const head = store.outboxHeadOf(TASK_ARN);
  t.deepEqual([head?.seq, head?.kind, head?.attempts], [second, 'container', 0]);
  t.false(head !== undefined && 'payload' in head, 'a head carries no payload');
  store.markOutboxAttempt(second!);
  t.is(store.outboxHeadOf(TASK_ARN)?.attempts, 1);
  store.ackOutbox(second!);
  t.is(store.outboxHeadOf(TASK_ARN)?.seq, third);
  store.ackOutbox(third!);
  t.is(store.outboxHeadOf(TASK_ARN), undefined);
  t.is(store.outboxHeadOf('arn:aws:ecs:us-west-2:123456789012:task/default/none'), undefined);
});

test("outboxHeads returns each task's oldest entry, oldest first, without payloads", (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  const third = 'arn:aws:ecs:us-west-2:123456789012:task/default/cccc';
  store.appendOutbox([
    { taskArn: TASK_ARN, kind: 'task', payload: { n: 1 } },
    { taskArn: TASK_ARN, kind: 'task', payload: { n: 2 } },
    { taskArn: OTHER_TASK_ARN, kind: 'attachment', payload: { n: 3 } },
    { taskArn: TASK_ARN, kind: 'task', payload: { n: 4 } },
    { taskArn: third, kind: 'task', payload: { n: 5 } },
  ]);
  const seqs = store.peekOutbox(10).map((entry) => entry.seq);
  const heads = store.outboxHeads(10);
  t.deepEqual(
    heads.map((head) => [head.seq, head.taskArn, head.kind]),
    [
      [seqs[0], TASK_ARN, 'task'],
      [seqs[2], OTHER_TASK_ARN, 'attachment'],
      [seqs[4], third, 'task'],
    ],
  );
  t.false('payload' in heads[0]!, 'heads carry no payload');
  t.deepEqual(
    store.outboxHeads(2).map((head) => head.taskArn),
    [TASK_ARN, OTHER_TASK_ARN],
    'limited to the oldest heads',
  );
  t.deepEqual(store.outboxHeads(0), []);

  store.markOutboxAttempt(seqs[0]!);
  t.is(store.outboxHeads(1)[0]?.attempts, 1);
  store.ackOutbox(seqs[0]!);
  t.deepEqual(
    store.outboxHeads(10).map((head) => head.seq),
    [seqs[1], seqs[2], seqs[4]],
    "acking a head makes the task's next entry its head, in its own seq position",
  );
});

test('getOutboxEntry loads one entry with its payload; corrupt payloads surface there only', (t) => {
  const dataDir = tempDataDir(t);
  const first = openForTest(t, { dataDir });
  first.store.appendOutbox([
    { taskArn: TASK_ARN, kind: 'task', payload: { status: 'RUNNING' } },
    { taskArn: OTHER_TASK_ARN, kind: 'task', payload: { status: 'STOPPED' } },
  ]);
  const [a, b] = first.store.peekOutbox(2);
  t.deepEqual(first.store.getOutboxEntry(a!.seq), a);
  first.store.ackOutbox(a!.seq);
  t.is(first.store.getOutboxEntry(a!.seq), undefined, 'acked');
  first.store.close();

  const db = new BetterSqlite3(join(dataDir, DATABASE_FILE_NAME));
  db.prepare("UPDATE outbox SET payload = '{not json' WHERE seq = ?").run(b!.seq);
  db.close();
  const second = openForTest(t, { dataDir });
  t.deepEqual(
    second.store.outboxHeads(10).map((head) => head.seq),
    [b!.seq],
    'listing heads does not read payloads',
  );
  t.throws(() => second.store.getOutboxEntry(b!.seq), { instanceOf: StoreCorruptError });
});
