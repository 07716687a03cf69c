/**
 * The parsed-spec cache (src/store/spec-cache.ts): every read of a task shares one frozen spec, parsed once per
 * stored text; a rewritten row is parsed afresh, corrupt JSON is still a StoreCorruptError, and status writes
 * leave the stored spec text alone.
 */
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import BetterSqlite3 from 'better-sqlite3';
import { StoreCorruptError } from '../src/errors.js';
import type { TaskSpec } from '../src/model/task.js';
import { DATABASE_FILE_NAME } from '../src/store/index.js';
import { parseTaskSpec } from '../src/store/rows.js';
import { TaskSpecCache } from '../src/store/spec-cache.js';
import { OTHER_TASK_ARN, openForTest, TASK_ARN, taskSpec, tempDataDir } from './store-fixtures.js';

/**
 * A store on disk plus a second connection to the same file, to rewrite rows behind the store's back. Such a
 * store is not the only writer, so it is opened as one that must not serve reads from its row cache.
 */
function storeWithBackdoor(t: ExecutionContext, soleWriter = false) {
  const dataDir = tempDataDir(t);
  const { store } = openForTest(t, { dataDir, soleWriter });
  const db = new BetterSqlite3(join(dataDir, DATABASE_FILE_NAME));
  t.teardown(() => db.close());
  const setSpecText = (arn: string, text: string) =>
    db.prepare('UPDATE tasks SET spec = ? WHERE arn = ?').run(text, arn);
  const specText = (arn: string) =>
    (db.prepare('SELECT spec FROM tasks WHERE arn = ?').get(arn) as { spec: string } | undefined)?.spec;
  return { store, setSpecText, specText };
}

test('every read of a task shares one parsed, deep-frozen spec equal to the one inserted', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  const inserted = taskSpec(TASK_ARN);
  store.putDesiredTask(inserted);
  t.false(Object.isFrozen(inserted), "the caller's own object is not frozen");

  const first = store.getTask(TASK_ARN)!.spec;
  t.deepEqual(first, inserted);
  t.is(store.getTask(TASK_ARN)!.spec, first, 'getTask again: the same object');
  t.is(store.listTasks()[0]!.spec, first, 'listTasks: the same object');

  store.recordObservation({ taskArn: TASK_ARN, task: { knownStatus: 'RUNNING' } });
  store.raiseTaskDesiredStatus(TASK_ARN, 'STOPPED');
  t.is(store.getTask(TASK_ARN)!.spec, first, 'status writes do not touch the spec');

  t.true(Object.isFrozen(first));
  t.true(Object.isFrozen(first.containers[0]!.portMappings[0]));
  t.true(Object.isFrozen(first.volumes));
  t.throws(
    () => {
      (first as { family: string }).family = 'changed';
    },
    { instanceOf: TypeError },
  );
  t.throws(
    () => {
      (first.containers[0]!.environment as Record<string, string>)['EXTRA'] = 'x';
    },
    { instanceOf: TypeError },
  );
  t.deepEqual(store.getTask(TASK_ARN)!.spec, inserted);
});

test('putDesiredTask for a known ARN never replaces its spec (what the cache relies on)', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.putDesiredTask(taskSpec(TASK_ARN));
  const before = store.getTask(TASK_ARN)!.spec;
  const other: TaskSpec = { ...taskSpec(TASK_ARN, 'STOPPED', ['other']), family: 'other' };
  t.true(store.putDesiredTask(other), 'the desired status is raised');
  const after = store.getTask(TASK_ARN)!;
  t.is(after.desiredStatus, 'STOPPED');
  t.is(after.spec, before);
  t.is(after.spec.family, 'web');
});

test('a row whose spec text changed behind the cache is parsed afresh', (t) => {
  const { store, setSpecText } = storeWithBackdoor(t);
  store.putDesiredTask(taskSpec(TASK_ARN));
  const cached = store.getTask(TASK_ARN)!.spec;
  setSpecText(TASK_ARN, JSON.stringify({ ...taskSpec(TASK_ARN), family: 'rewritten' }));
  const fresh = store.getTask(TASK_ARN)!.spec;
  t.not(fresh, cached);
  t.is(fresh.family, 'rewritten');
  t.is(store.listTasks()[0]!.spec, fresh);
});

test('corrupt spec JSON surfaces as StoreCorruptError even after a good read was cached', (t) => {
  const { store, setSpecText, specText } = storeWithBackdoor(t);
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.getTask(TASK_ARN);
  const good = specText(TASK_ARN)!;
  setSpecText(TASK_ARN, '{"arn": ');
  const error = t.throws(() => store.getTask(TASK_ARN), { instanceOf: StoreCorruptError });
  t.regex(error?.message ?? '', /spec is not valid JSON/);
  t.throws(() => store.listTasks(), { instanceOf: StoreCorruptError });
  t.throws(() => store.recordObservation({ taskArn: TASK_ARN, task: { knownStatus: 'RUNNING' } }), {
    instanceOf: StoreCorruptError,
  });
  t.throws(() => store.getTask(TASK_ARN), { instanceOf: StoreCorruptError }, 'a failed parse is not cached');
  setSpecText(TASK_ARN, good);
  t.deepEqual(store.getTask(TASK_ARN)!.spec, taskSpec(TASK_ARN));
});

test('deleteTask forgets the spec: a re-inserted ARN reads its new spec', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.putDesiredTask(taskSpec(OTHER_TASK_ARN));
  const old = store.getTask(TASK_ARN)!.spec;
  store.deleteTask(TASK_ARN);
  store.putDesiredTask(taskSpec(TASK_ARN, 'RUNNING', ['only']));
  const renewed = store.getTask(TASK_ARN)!.spec;
  t.not(renewed, old);
  t.deepEqual(
    renewed.containers.map((c) => c.name),
    ['only'],
  );
});

test('status writes keep the stored spec text byte for byte (no re-serialising per write)', (t) => {
  const { store, setSpecText, specText } = storeWithBackdoor(t);
  store.putDesiredTask(taskSpec(TASK_ARN));
  // Same spec, different text: re-serialising would normalise the whitespace away.
  const pretty = JSON.stringify(taskSpec(TASK_ARN), null, 2);
  setSpecText(TASK_ARN, pretty);
  store.recordObservation({ taskArn: TASK_ARN, task: { knownStatus: 'RUNNING', sentStatus: 'RUNNING' } });
  store.raiseTaskDesiredStatus(TASK_ARN, 'STOPPED', 'stopped by test');
  t.is(specText(TASK_ARN), pretty);
  const task = store.getTask(TASK_ARN)!;
  t.is(task.knownStatus, 'RUNNING');
  t.is(task.desiredStatus, 'STOPPED');
  t.deepEqual(task.spec, taskSpec(TASK_ARN));
});

test('TaskSpecCache parses once per text, keeps nothing for a failed parse, and forgets on request', (t) => {
  let parses = 0;
  const cache = new TaskSpecCache((text, arn) => {
    parses++;
    return parseTaskSpec(text, arn);
  });
  const text = JSON.stringify(taskSpec(TASK_ARN));
  const a = cache.get(TASK_ARN, text);
  t.is(cache.get(TASK_ARN, `${text}`), a);
  t.is(parses, 1);
  t.throws(() => cache.get(OTHER_TASK_ARN, 'not json'), { instanceOf: StoreCorruptError });
  t.is(cache.size, 1);
  const b = cache.get(TASK_ARN, JSON.stringify(taskSpec(TASK_ARN, 'STOPPED')));
  t.not(b, a);
  t.is(b.desiredStatus, 'STOPPED');
  t.is(parses, 3);
  cache.forget(TASK_ARN);
  t.is(cache.size, 0);
});
