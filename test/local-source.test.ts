/**
 * LocalTaskSource against the real store (in memory, and on disk for the restart cases) and a temp
 * directory: add → task put, change → old stopped + new ARN and the new content's revision, remove → stopped,
 * an invalid file is named with its field and leaves every other task (and its own earlier task) alone.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { systemClock } from '../src/clock.js';
import { taskIdFromArn } from '../src/model/task.js';
import { canonicalJson, localRevision } from '../src/sources/local/index.js';
import { openStore } from '../src/store/index.js';
import { FakeClock } from './helpers/fake-clock.js';
import { waitFor } from './helpers/wait-for.js';
import { CLUSTER, capturingLogger, definition, memoryStore, source, task, tempDir } from './local-source-helpers.js';

/** What a file's text makes its revision: derived from the canonical definition (local-task-identity.ts). */
function revisionOf(text: string): string {
  return localRevision(canonicalJson(JSON.parse(text)));
}

test('adding a file puts a RUNNING local task with an ECS-shaped ARN and the revision of its content', async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const report = await source(dir, store).syncOnce();

  t.is(report.started.length, 1);
  t.deepEqual(report.stopped, []);
  t.deepEqual(report.invalid, []);
  const arn = report.started[0]!;
  t.regex(arn, new RegExp(`^arn:aws:ecs:local:000000000000:task/${CLUSTER}/[0-9a-f]{32}$`));
  const record = task(store, arn);
  t.like(record, {
    family: 'web',
    version: revisionOf(definition('web')),
    source: 'local',
    desiredStatus: 'RUNNING',
    knownStatus: 'NONE',
  });
  t.deepEqual(record.spec.containers[0]!.command, ['sleep', '3600']);
  t.deepEqual(
    store.listContainers(arn).map((c) => c.name),
    ['main'],
  );
});

test('a second sync of the same directory changes nothing', async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const src = source(dir, store);
  await src.syncOnce();
  const generation = store.generation();
  t.deepEqual(await src.syncOnce(), { started: [], stopped: [], invalid: [], unchanged: 1 });
  t.is(store.generation(), generation, 'no store write');
});

test('reformatting a file (same content) does not replace its task', async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const src = source(dir, store);
  await src.syncOnce();
  writeFileSync(join(dir, 'web.json'), JSON.stringify(JSON.parse(definition('web'))));
  t.like(await src.syncOnce(), { started: [], stopped: [], unchanged: 1 });
});

test("changing a file stops the old task and puts a new ARN with the new content's revision", async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const src = source(dir, store);
  const first = (await src.syncOnce()).started[0]!;

  writeFileSync(join(dir, 'web.json'), definition('web', ['sleep', '7200']));
  const report = await src.syncOnce();
  t.is(report.started.length, 1);
  const second = report.started[0]!;
  t.not(second, first);
  t.deepEqual(report.stopped, [first]);
  t.is(task(store, first).desiredStatus, 'STOPPED');
  t.regex(task(store, first).reason ?? '', /web\.json changed; replaced by task [0-9a-f]{32}/);
  t.like(task(store, second), { version: revisionOf(definition('web', ['sleep', '7200'])), desiredStatus: 'RUNNING' });
  t.not(task(store, second).version, task(store, first).version);
  t.deepEqual(task(store, second).spec.containers[0]!.command, ['sleep', '7200']);
  // The file half of the task ID is the same: both tasks came from web.json.
  t.is(taskIdFromArn(second).slice(0, 16), taskIdFromArn(first).slice(0, 16));
});

test('reverting a file to earlier content starts a fresh task (a stopped ARN never runs again)', async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  const src = source(dir, store);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const a = (await src.syncOnce()).started[0]!;
  writeFileSync(join(dir, 'web.json'), definition('web', ['sleep', '1']));
  const b = (await src.syncOnce()).started[0]!;
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const report = await src.syncOnce();
  const c = report.started[0]!;
  t.true(c !== a && c !== b);
  t.deepEqual(report.stopped, [b]);
  // The same definition has the same revision (as in ECS), yet the run is a new task.
  t.like(task(store, c), { version: task(store, a).version, desiredStatus: 'RUNNING' });
});

test('removing a file stops its task; a non-json file is ignored', async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  writeFileSync(join(dir, 'README.txt'), 'not a task');
  writeFileSync(join(dir, '.web.json.swp'), 'editor junk');
  const src = source(dir, store);
  const arn = (await src.syncOnce()).started[0]!;
  t.is(store.listTasks().length, 1);

  rmSync(join(dir, 'web.json'));
  const report = await src.syncOnce();
  t.deepEqual(report.stopped, [arn]);
  t.like(task(store, arn), { desiredStatus: 'STOPPED', reason: 'Task definition file web.json removed' });
  t.deepEqual(await src.syncOnce(), { started: [], stopped: [], invalid: [], unchanged: 0 });
});

test('an invalid file is named with its field; other tasks and its own earlier task keep running', async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  writeFileSync(join(dir, 'worker.json'), definition('worker'));
  const src = source(dir, store);
  const started = (await src.syncOnce()).started;
  t.is(started.length, 2);

  writeFileSync(join(dir, 'web.json'), definition('web', ['sleep', '1'], { memry: 64 }));
  writeFileSync(
    join(dir, 'new.json'),
    definition('new', ['sleep', '1'], { portMappings: [{ containerPort: 'http' }] }),
  );
  const report = await src.syncOnce();
  t.deepEqual(report.started, []);
  t.deepEqual(report.stopped, []);
  t.is(report.unchanged, 1);
  t.deepEqual(
    report.invalid.map((entry) => entry.file),
    ['new.json', 'web.json'],
  );
  t.regex(report.invalid[1]!.error, /^web\.json: containerDefinitions\[0\]\.memry: unknown field/);
  t.regex(
    report.invalid[0]!.error,
    /^new\.json: containerDefinitions\[0\]\.portMappings\[0\]\.containerPort: must be an integer/,
  );
  t.deepEqual(src.invalidFiles(), report.invalid);
  for (const arn of started) t.is(task(store, arn).desiredStatus, 'RUNNING');

  const errors = src.log.lines.filter((line) => line.level === 'error');
  t.is(errors.length, 2);
  t.true(errors.some((line) => line.fields['file'] === 'web.json' && typeof line.fields['keepsRunning'] === 'string'));
  await src.syncOnce();
  t.is(src.log.lines.filter((line) => line.level === 'error').length, 2, 'an unchanged error is logged once');

  // Fixing the file replaces the task that kept running.
  writeFileSync(join(dir, 'web.json'), definition('web', ['sleep', '5']));
  rmSync(join(dir, 'new.json'));
  const fixed = await src.syncOnce();
  t.is(fixed.started.length, 1);
  t.is(fixed.stopped.length, 1);
  t.deepEqual(fixed.invalid, []);
  t.deepEqual(src.invalidFiles(), []);
});

test('an unreadable directory stops nothing', async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const src = source(dir, store);
  const arn = (await src.syncOnce()).started[0]!;
  const moved = `${dir}-moved`;
  renameSync(dir, moved);
  t.teardown(() => rmSync(moved, { recursive: true, force: true }));
  t.deepEqual(await src.syncOnce(), { started: [], stopped: [], invalid: [], unchanged: 0 });
  t.is(task(store, arn).desiredStatus, 'RUNNING');
  t.true(src.log.lines.some((line) => line.level === 'error' && /cannot read tasks directory/.test(line.msg)));
});

test('start() refuses a missing directory with a ConfigError', async (t) => {
  const store = memoryStore(t);
  const src = source(join(tmpdir(), 'ecsd-no-such-dir-for-sure'), store);
  await t.throwsAsync(async () => src.start(), { message: /does not exist or cannot be read/ });
});

test('revisions follow content: two files of one family differ by content, not by order', async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'a.json'), definition('batch', ['true']));
  writeFileSync(join(dir, 'b.json'), definition('batch', ['false']));
  const started = (await source(dir, store).syncOnce()).started;
  t.deepEqual(
    started.map((arn) => task(store, arn).version).sort(),
    [revisionOf(definition('batch', ['true'])), revisionOf(definition('batch', ['false']))].sort(),
  );
  t.not(task(store, started[0]!).version, task(store, started[1]!).version);
});

test('restart: unchanged files adopt their tasks, changed and removed files are stopped, invalid ones kept', async (t) => {
  const dir = tempDir(t, 'tasks');
  const dataDir = tempDir(t, 'data');
  writeFileSync(join(dir, 'same.json'), definition('same'));
  writeFileSync(join(dir, 'changed.json'), definition('changed'));
  writeFileSync(join(dir, 'removed.json'), definition('removed'));
  writeFileSync(join(dir, 'broken.json'), definition('broken'));

  const first = openStore({ dataDir, checkpoint: true, logger: capturingLogger() });
  const before = (await source(dir, first.store).syncOnce()).started;
  t.is(before.length, 4);
  const arnOf = (family: string): string => before.find((arn) => task(first.store, arn).family === family)!;
  const arns = { same: arnOf('same'), changed: arnOf('changed'), removed: arnOf('removed'), broken: arnOf('broken') };
  // A finished task must not be re-run by a restart.
  first.store.raiseTaskDesiredStatus(arns.same, 'STOPPED', 'Essential container in task exited');
  first.store.close();

  // While the agent is down:
  writeFileSync(join(dir, 'changed.json'), definition('changed', ['sleep', '9']));
  rmSync(join(dir, 'removed.json'));
  writeFileSync(join(dir, 'broken.json'), '{ "family": "broken", ');

  const second = openStore({ dataDir, checkpoint: true, logger: capturingLogger() });
  t.teardown(() => second.store.close());
  const report = await source(dir, second.store).syncOnce();
  t.is(report.started.length, 1);
  t.like(task(second.store, report.started[0]!), {
    family: 'changed',
    version: revisionOf(definition('changed', ['sleep', '9'])),
    desiredStatus: 'RUNNING',
  });
  t.deepEqual([...report.stopped].sort(), [arns.changed, arns.removed].sort());
  t.is(report.unchanged, 1, 'same.json adopted its stored task');
  t.deepEqual(
    report.invalid.map((entry) => entry.file),
    ['broken.json'],
  );
  t.is(task(second.store, arns.same).desiredStatus, 'STOPPED', 'not restarted');
  t.is(task(second.store, arns.broken).desiredStatus, 'RUNNING', 'the invalid file keeps its earlier task');
  t.is(second.store.listTasks().length, 5);
});

test('the poll notices a new file without any fs.watch event', async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  const clock = new FakeClock();
  const src = source(dir, store, { clock, pollIntervalMs: 500 });
  t.deepEqual((await src.start()).started, []);
  t.teardown(() => src.stop());
  t.is(src.state, 'running');

  writeFileSync(join(dir, 'web.json'), definition('web'));
  // Only the poll timer (and perhaps a watch debounce) can act under the fake clock; advance past both.
  // The poll's reads are asynchronous (file system thread pool), so wait for its write in real time.
  await clock.advanceAsync(500);
  await waitFor('the poll to store the new task', () => store.listTasks().length === 1);
  const tasks = store.listTasks();
  t.is(tasks.length, 1);
  t.is(tasks[0]!.family, 'web');

  src.stop();
  t.is(src.state, 'stopped');
  t.is(clock.pendingTimers, 0, 'stop() cancels its timers');
});

test('while the watch works, polls compare names and every Nth one stats each file', async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  const clock = new FakeClock();
  // The watch's own nudge is parked an hour out, so only polls can notice the edit below.
  const src = source(dir, store, { clock, pollIntervalMs: 500, watchDebounceMs: 3_600_000, fullScanEveryPolls: 3 });
  writeFileSync(join(dir, 'web.json'), definition('web'));
  await src.start();
  t.teardown(() => src.stop());
  const [first] = store.listTasks();

  // In place: same name and inode, new content. Names alone cannot show it.
  writeFileSync(join(dir, 'web.json'), definition('web', ['sleep', '7200']));
  const t0 = clock.nowMs();
  for (const poll of [1, 2]) {
    await clock.advanceAsync(500);
    // A poll is over once it scheduled the next one; its reads run in real time (the file system thread pool).
    await waitFor(`poll ${poll} to finish`, () => clock.nextDueMs() === t0 + 500 * (poll + 1));
    t.deepEqual(
      store.listTasks().map((task) => task.arn),
      [first!.arn],
      `poll ${poll} listed names only and saw no change`,
    );
  }
  await clock.advanceAsync(500);
  await waitFor('the full scan to replace the task', () => store.listTasks().length === 2);
  t.is(task(store, first!.arn).desiredStatus, 'STOPPED');
});

test('fs.watch nudges a sync well before the poll interval', async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  const src = source(dir, store, { clock: systemClock, pollIntervalMs: 60_000, watchDebounceMs: 20 });
  await src.start();
  t.teardown(() => src.stop());

  writeFileSync(join(dir, 'web.json'), definition('web'));
  const deadline = Date.now() + 5_000;
  while (store.listTasks().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.is(store.listTasks().length, 1, 'started by the watch event, not the 60 s poll');

  rmSync(join(dir, 'web.json'));
  while (store.listTasks()[0]!.desiredStatus !== 'STOPPED' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  t.is(store.listTasks()[0]!.desiredStatus, 'STOPPED');
});

test('a file added in the same scan as another’s removal is stored after the removal (it queues behind its hold)', async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'old.json'), definition('old'));
  const src = source(dir, store);
  await src.syncOnce();
  const writes: string[] = [];
  const recording = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property === 'putDesiredTask' || property === 'raiseTaskDesiredStatus') {
        return (...args: unknown[]) => {
          writes.push(String(property));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const replacing = source(dir, recording);
  await replacing.syncOnce();
  writes.length = 0;
  rmSync(join(dir, 'old.json'));
  writeFileSync(join(dir, 'new.json'), definition('new'));
  const report = await replacing.syncOnce();
  t.is(report.started.length, 1);
  t.is(report.stopped.length, 1);
  t.deepEqual(writes, ['raiseTaskDesiredStatus', 'putDesiredTask']);
  const lines = replacing.log.lines.map((line) => line.msg).filter((msg) => /^(stopping|starting) task/.test(msg));
  t.deepEqual(lines, ['stopping task', 'starting task from file']);
});
