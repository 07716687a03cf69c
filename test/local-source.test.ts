/**
 * LocalTaskSource against the real store (in memory, and on disk for the restart cases) and a temp
 * directory: add → task put, change → old stopped + new ARN at the next revision, remove → stopped,
 * an invalid file is named with its field and leaves every other task (and its own earlier task) alone.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { systemClock } from '../src/clock.js';
import type { LogFields, Logger } from '../src/logging/types.js';
import { taskIdFromArn } from '../src/model/task.js';
import { LocalTaskSource, type LocalTaskSourceOptions } from '../src/sources/local/index.js';
import { openStore } from '../src/store/index.js';
import type { DesiredStateStore, TaskRecord } from '../src/store/records.js';
import { FakeClock } from './helpers/fake-clock.js';

const CLUSTER = 'local-test';

interface Captured {
  level: string;
  msg: string;
  fields: LogFields;
}

function capturingLogger(lines: Captured[] = []): Logger & { lines: Captured[] } {
  const make = (bindings: LogFields): Logger => {
    const log =
      (level: string) =>
      (msg: string, fields: LogFields = {}): void => {
        lines.push({ level, msg, fields: { ...bindings, ...fields } });
      };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      crit: log('crit'),
      child: (more) => make({ ...bindings, ...more }),
      flush: async () => {},
    };
  };
  return Object.assign(make({}), { lines });
}

function tempDir(t: ExecutionContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ecsd-${prefix}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function memoryStore(t: ExecutionContext): DesiredStateStore {
  const { store } = openStore({ dataDir: '', checkpoint: false, logger: capturingLogger() });
  t.teardown(() => store.close());
  return store;
}

function definition(
  family: string,
  command: string[] = ['sleep', '3600'],
  extra: Record<string, unknown> = {},
): string {
  return `${JSON.stringify(
    {
      family,
      containerDefinitions: [{ name: 'main', image: 'ecsd-test/busybox:latest', memory: 32, command, ...extra }],
    },
    null,
    2,
  )}\n`;
}

function source(
  dir: string,
  store: DesiredStateStore,
  overrides: Partial<LocalTaskSourceOptions> = {},
): LocalTaskSource & { log: ReturnType<typeof capturingLogger> } {
  const logger = capturingLogger();
  const created = new LocalTaskSource({
    dir,
    store,
    logger,
    clock: new FakeClock(),
    cluster: CLUSTER,
    pollIntervalMs: 1000,
    ...overrides,
  });
  return Object.assign(created, { log: logger });
}

function task(store: DesiredStateStore, arn: string): TaskRecord {
  const record = store.getTask(arn);
  if (!record) throw new Error(`no task ${arn}`);
  return record;
}

test('adding a file puts a RUNNING local task with an ECS-shaped ARN and revision 1', (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const report = source(dir, store).syncOnce();

  t.is(report.started.length, 1);
  t.deepEqual(report.stopped, []);
  t.deepEqual(report.invalid, []);
  const arn = report.started[0]!;
  t.regex(arn, new RegExp(`^arn:aws:ecs:local:000000000000:task/${CLUSTER}/[0-9a-f]{32}$`));
  const record = task(store, arn);
  t.like(record, { family: 'web', version: '1', source: 'local', desiredStatus: 'RUNNING', knownStatus: 'NONE' });
  t.deepEqual(record.spec.containers[0]!.command, ['sleep', '3600']);
  t.deepEqual(
    store.listContainers(arn).map((c) => c.name),
    ['main'],
  );
});

test('a second sync of the same directory changes nothing', (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const src = source(dir, store);
  src.syncOnce();
  const generation = store.generation();
  t.deepEqual(src.syncOnce(), { started: [], stopped: [], invalid: [], unchanged: 1 });
  t.is(store.generation(), generation, 'no store write');
});

test('reformatting a file (same content) does not replace its task', (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const src = source(dir, store);
  src.syncOnce();
  writeFileSync(join(dir, 'web.json'), JSON.stringify(JSON.parse(definition('web'))));
  t.like(src.syncOnce(), { started: [], stopped: [], unchanged: 1 });
});

test('changing a file stops the old task and puts a new ARN at the next revision', (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const src = source(dir, store);
  const first = src.syncOnce().started[0]!;

  writeFileSync(join(dir, 'web.json'), definition('web', ['sleep', '7200']));
  const report = src.syncOnce();
  t.is(report.started.length, 1);
  const second = report.started[0]!;
  t.not(second, first);
  t.deepEqual(report.stopped, [first]);
  t.is(task(store, first).desiredStatus, 'STOPPED');
  t.regex(task(store, first).reason ?? '', /web\.json changed; replaced by task [0-9a-f]{32}/);
  t.like(task(store, second), { version: '2', desiredStatus: 'RUNNING' });
  t.deepEqual(task(store, second).spec.containers[0]!.command, ['sleep', '7200']);
  // The file half of the task ID is the same: both tasks came from web.json.
  t.is(taskIdFromArn(second).slice(0, 16), taskIdFromArn(first).slice(0, 16));
});

test('reverting a file to earlier content starts a fresh task (a stopped ARN never runs again)', (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  const src = source(dir, store);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const a = src.syncOnce().started[0]!;
  writeFileSync(join(dir, 'web.json'), definition('web', ['sleep', '1']));
  const b = src.syncOnce().started[0]!;
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const report = src.syncOnce();
  const c = report.started[0]!;
  t.true(c !== a && c !== b);
  t.deepEqual(report.stopped, [b]);
  t.like(task(store, c), { version: '3', desiredStatus: 'RUNNING' });
});

test('removing a file stops its task; a non-json file is ignored', (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  writeFileSync(join(dir, 'README.txt'), 'not a task');
  writeFileSync(join(dir, '.web.json.swp'), 'editor junk');
  const src = source(dir, store);
  const arn = src.syncOnce().started[0]!;
  t.is(store.listTasks().length, 1);

  rmSync(join(dir, 'web.json'));
  const report = src.syncOnce();
  t.deepEqual(report.stopped, [arn]);
  t.like(task(store, arn), { desiredStatus: 'STOPPED', reason: 'Task definition file web.json removed' });
  t.deepEqual(src.syncOnce(), { started: [], stopped: [], invalid: [], unchanged: 0 });
});

test('an invalid file is named with its field; other tasks and its own earlier task keep running', (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  writeFileSync(join(dir, 'worker.json'), definition('worker'));
  const src = source(dir, store);
  const started = src.syncOnce().started;
  t.is(started.length, 2);

  writeFileSync(join(dir, 'web.json'), definition('web', ['sleep', '1'], { memry: 64 }));
  writeFileSync(
    join(dir, 'new.json'),
    definition('new', ['sleep', '1'], { portMappings: [{ containerPort: 'http' }] }),
  );
  const report = src.syncOnce();
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
  src.syncOnce();
  t.is(src.log.lines.filter((line) => line.level === 'error').length, 2, 'an unchanged error is logged once');

  // Fixing the file replaces the task that kept running.
  writeFileSync(join(dir, 'web.json'), definition('web', ['sleep', '5']));
  rmSync(join(dir, 'new.json'));
  const fixed = src.syncOnce();
  t.is(fixed.started.length, 1);
  t.is(fixed.stopped.length, 1);
  t.deepEqual(fixed.invalid, []);
  t.deepEqual(src.invalidFiles(), []);
});

test('an unreadable directory stops nothing', (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const src = source(dir, store);
  const arn = src.syncOnce().started[0]!;
  const moved = `${dir}-moved`;
  renameSync(dir, moved);
  t.teardown(() => rmSync(moved, { recursive: true, force: true }));
  t.deepEqual(src.syncOnce(), { started: [], stopped: [], invalid: [], unchanged: 0 });
  t.is(task(store, arn).desiredStatus, 'RUNNING');
  t.true(src.log.lines.some((line) => line.level === 'error' && /cannot read tasks directory/.test(line.msg)));
});

test('start() refuses a missing directory with a ConfigError', (t) => {
  const store = memoryStore(t);
  const src = source(join(tmpdir(), 'ecsd-no-such-dir-for-sure'), store);
  t.throws(() => src.start(), { message: /does not exist or is not a directory/ });
});

test('several files of one family get increasing revisions', (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'a.json'), definition('batch', ['true']));
  writeFileSync(join(dir, 'b.json'), definition('batch', ['false']));
  const started = source(dir, store).syncOnce().started;
  t.deepEqual(started.map((arn) => task(store, arn).version).sort(), ['1', '2']);
});

test('restart: unchanged files adopt their tasks, changed and removed files are stopped, invalid ones kept', (t) => {
  const dir = tempDir(t, 'tasks');
  const dataDir = tempDir(t, 'data');
  writeFileSync(join(dir, 'same.json'), definition('same'));
  writeFileSync(join(dir, 'changed.json'), definition('changed'));
  writeFileSync(join(dir, 'removed.json'), definition('removed'));
  writeFileSync(join(dir, 'broken.json'), definition('broken'));

  const first = openStore({ dataDir, checkpoint: true, logger: capturingLogger() });
  const before = source(dir, first.store).syncOnce().started;
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
  const report = source(dir, second.store).syncOnce();
  t.is(report.started.length, 1);
  t.like(task(second.store, report.started[0]!), { family: 'changed', version: '2', desiredStatus: 'RUNNING' });
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

test('the poll notices a new file without any fs.watch event', (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  const clock = new FakeClock();
  const src = source(dir, store, { clock, pollIntervalMs: 500 });
  t.deepEqual(src.start().started, []);
  t.teardown(() => src.stop());
  t.is(src.state, 'running');

  writeFileSync(join(dir, 'web.json'), definition('web'));
  // Only the poll timer (and perhaps a watch debounce) can act under the fake clock; advance past both.
  clock.advance(500);
  const tasks = store.listTasks();
  t.is(tasks.length, 1);
  t.is(tasks[0]!.family, 'web');

  src.stop();
  t.is(src.state, 'stopped');
  t.is(clock.pendingTimers, 0, 'stop() cancels its timers');
});

test('fs.watch nudges a sync well before the poll interval', async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  const src = source(dir, store, { clock: systemClock, pollIntervalMs: 60_000, watchDebounceMs: 20 });
  src.start();
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
