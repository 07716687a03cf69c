/**
 * The local source against hostile or unlucky conditions (issue 10): special files and oversized or
 * secret-bearing files in the task directory, an unsafe directory, a disk-full store, a removed and
 * restored file, and an agent restarted on an empty store. Each test is named after the behaviour it pins.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ConfigError } from '../src/config/errors.js';
import { StoreError } from '../src/errors.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import type { LocalTaskSourceOptions } from '../src/sources/local/index.js';
import { jsonSyntaxErrorPosition } from '../src/sources/local/json-syntax-position.js';
import type { DesiredStateStore } from '../src/store/records.js';
import { FakeClock } from './helpers/fake-clock.js';
import { waitFor } from './helpers/wait-for.js';
import { definition, memoryStore, source, task, tempDir } from './local-source-helpers.js';

function errorOf(report: { invalid: Array<{ file: string; error: string }> }, file: string): string {
  const entry = report.invalid.find((e) => e.file === file);
  if (!entry) throw new Error(`${file} was not reported invalid: ${JSON.stringify(report.invalid)}`);
  return entry.error;
}

// ---- §1 hostile files --------------------------------------------------------------------------------

test('a symlink to a FIFO does not hang the source; the other files still load', async (t) => {
  t.timeout(20_000);
  const dir = tempDir(t, 'tasks');
  const elsewhere = tempDir(t, 'fifo');
  execFileSync('mkfifo', [join(elsewhere, 'pipe')]);
  symlinkSync(join(elsewhere, 'pipe'), join(dir, 'pipe.json'));
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const store = memoryStore(t);

  const report = await source(dir, store).syncOnce();
  t.is(report.started.length, 1);
  t.is(task(store, report.started[0]!).family, 'web');
  t.regex(errorOf(report, 'pipe.json'), /^pipe\.json: not a regular file \(fifo\)/);
});

test('a FIFO named like a task file is reported, not silently skipped or opened', async (t) => {
  const dir = tempDir(t, 'tasks');
  execFileSync('mkfifo', [join(dir, 'pipe.json')]);
  const report = await source(dir, memoryStore(t)).syncOnce();
  t.regex(errorOf(report, 'pipe.json'), /not a regular file \(fifo\)/);
});

test('a symlink to /dev/zero is refused as a character device, without reading it', async (t) => {
  const dir = tempDir(t, 'tasks');
  symlinkSync('/dev/zero', join(dir, 'zero.json'));
  symlinkSync('/', join(dir, 'root.json'));
  // The kind is refused from stat, before any open: the device is never read (nor opened, for devices
  // whose open has side effects). That the sync returns at all shows nothing read /dev/zero to its end.
  const report = await source(dir, memoryStore(t)).syncOnce();
  t.regex(errorOf(report, 'zero.json'), /not a regular file \(character device\)/);
  t.regex(errorOf(report, 'root.json'), /not a regular file \(directory\)/);
});

test('a symlink to a regular file is followed and loads like the file itself', async (t) => {
  const dir = tempDir(t, 'tasks');
  const elsewhere = tempDir(t, 'real');
  writeFileSync(join(elsewhere, 'web.json'), definition('web'));
  symlinkSync(join(elsewhere, 'web.json'), join(dir, 'web.json'));
  const store = memoryStore(t);
  const report = await source(dir, store).syncOnce();
  t.deepEqual(report.invalid, []);
  t.is(report.started.length, 1);
});

test('a file larger than 64 KiB is refused before it is parsed (a 1 MB environment value)', async (t) => {
  const dir = tempDir(t, 'tasks');
  const big = 'x'.repeat(1024 * 1024);
  writeFileSync(join(dir, 'big.json'), definition('big', ['true'], { environment: [{ name: 'BIG', value: big }] }));
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const store = memoryStore(t);
  const report = await source(dir, store).syncOnce();
  t.regex(errorOf(report, 'big.json'), /^big\.json: \d+ bytes is larger than the 65536-byte limit/);
  t.is(report.started.length, 1, 'the other file still loads');
  t.is(store.listTasks().length, 1);
});

test('invalid JSON is reported by line and column, never quoting the file content', async (t) => {
  const dir = tempDir(t, 'tasks');
  const secret = 'root:$6$Sup3rS3cretHash$abcdefghijklmnop:19000:0:99999:7:::';
  writeFileSync(join(dir, 'shadow.json'), `${secret}\ndaemon:*:19000:0:99999:7:::\n`);
  writeFileSync(join(dir, 'tail.json'), '{"family": "web", "containerDefinitions": [}');
  const src = source(dir, memoryStore(t));
  const report = await src.syncOnce();
  for (const file of ['shadow.json', 'tail.json']) {
    const error = errorOf(report, file);
    t.regex(error, new RegExp(`^${file.replace('.', '\\.')}: invalid JSON: .*line \\d+, column \\d+`));
    for (const fragment of ['root', 'Sup3rS3cret', 'daemon', '"family"', 'containerDefinitions']) {
      t.false(error.includes(fragment), `${file}: "${fragment}" quoted in: ${error}`);
    }
  }
  // The `}` that cannot start an array element is the 44th character.
  t.regex(errorOf(report, 'tail.json'), /line 1, column 44$/);
  const logged = JSON.stringify(src.log.lines);
  t.false(logged.includes('Sup3rS3cret'), 'nor in the log');
});

// ---- §1 directory and file permissions ------------------------------------------------------------------

test('start() refuses a tasks directory writable by group or others with a ConfigError naming it', async (t) => {
  const dir = tempDir(t, 'tasks');
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const store = memoryStore(t);
  chmodSync(dir, 0o777);
  const error = await t.throwsAsync(async () => source(dir, store).start());
  t.true(error instanceof ConfigError, `a ConfigError (exit 5): ${error?.constructor.name}`);
  t.true(error!.message.includes(dir), error!.message);
  t.regex(error!.message, /writable by group or others \(mode 0777\)/);
  t.is(store.listTasks().length, 0, 'nothing read from an unsafe directory');

  chmodSync(dir, 0o775);
  await t.throwsAsync(async () => source(dir, store).start(), { instanceOf: ConfigError });

  chmodSync(dir, 0o755);
  const src = source(dir, store);
  const report = await src.start();
  t.teardown(() => src.stop());
  t.is(report.started.length, 1);
});

test('start() refuses a tasks directory owned by another user than the agent', async (t) => {
  const dir = tempDir(t, 'tasks');
  const uid = process.getuid?.() ?? 0;
  // Root's files are trusted (root can do anything anyway): as root, hand the directory to "nobody".
  if (uid === 0) chownSync(dir, 65534, 65534);
  const agentUid = uid === 0 ? 0 : uid + 4242;
  const error = await t.throwsAsync(async () => source(dir, memoryStore(t), { agentUid }).start());
  t.true(error instanceof ConfigError);
  t.regex(error!.message, /owned by uid \d+, not by the agent's uid \d+ or root/);
});

test('start() refuses a tasks directory inside a directory others can write to (they could swap it)', async (t) => {
  const parent = tempDir(t, 'parent');
  const dir = join(parent, 'tasks');
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(parent, 0o777);
  const error = await t.throwsAsync(async () => source(dir, memoryStore(t)).start());
  t.true(error instanceof ConfigError);
  t.true(error!.message.includes(`has a parent directory ${parent} writable by group or others`), error!.message);

  // Sticky, like /tmp: only an entry's owner may rename it, so the directory cannot be swapped.
  chmodSync(parent, 0o1777);
  const src = source(dir, memoryStore(t));
  await src.start();
  t.is(src.state, 'running');
  src.stop();
});

test('a task file writable by others is refused; the directory around it is safe', async (t) => {
  const dir = tempDir(t, 'tasks');
  writeFileSync(join(dir, 'open.json'), definition('open'));
  chmodSync(join(dir, 'open.json'), 0o666);
  const report = await source(dir, memoryStore(t)).syncOnce();
  t.regex(errorOf(report, 'open.json'), /writable by group or others \(mode 0666\)/);
  t.deepEqual(report.started, []);
});

// ---- §2 disk full -------------------------------------------------------------------------------------

/** The real store, whose task writes throw SQLite's "disk full" the first `failures` times. */
function fullDiskStore(real: DesiredStateStore, failures: number): LocalTaskSourceOptions['store'] & { puts: number } {
  const wrapper = {
    puts: 0,
    listTasks: () => real.listTasks(),
    transaction: <T>(fn: () => T): T => real.transaction(fn),
    raiseTaskDesiredStatus: (...args: Parameters<DesiredStateStore['raiseTaskDesiredStatus']>) =>
      real.raiseTaskDesiredStatus(...args),
    putDesiredTask: (spec: Parameters<DesiredStateStore['putDesiredTask']>[0]): boolean => {
      wrapper.puts += 1;
      if (wrapper.puts <= failures) {
        throw new StoreError('database operation failed: database or disk is full', {
          context: { sqliteCode: 'SQLITE_FULL' },
        });
      }
      return real.putDesiredTask(spec);
    },
  };
  return wrapper;
}

test('a store write that fails on a full disk marks nothing; retries with backoff start every file once', async (t) => {
  const dir = tempDir(t, 'tasks');
  const real = memoryStore(t);
  const files = 12;
  for (let i = 0; i < files; i += 1) writeFileSync(join(dir, `t${i}.json`), definition(`fam${i}`));
  const store = fullDiskStore(real, 5);
  const clock = new FakeClock();
  const metrics = createMetricsRegistry();
  const src = source(dir, store, { clock, pollIntervalMs: 3_600_000, storeWriteErrors: metrics.storeWriteErrors });
  t.teardown(() => src.stop());

  await src.start();
  t.false(src.ready, 'not ready while nothing was written: nothing may be stopped as an orphan yet');
  await waitFor('every file stored once', async () => {
    await clock.advanceAsync(1_000);
    return real.listTasks().length === files;
  });
  const families = real
    .listTasks()
    .map((record) => record.family)
    .sort();
  t.deepEqual(families, [...Array(files).keys()].map((i) => `fam${i}`).sort());
  t.true(
    real.listTasks().every((record) => record.desiredStatus === 'RUNNING'),
    'no task stopped',
  );
  t.true(src.ready);
  await src.whenReady();
  t.is(await metrics.sampleValue('ecs_agent_store_write_errors_total', { reason: 'disk_full' }), 5);
  const failures = src.log.lines.filter((line) => /store write failed/.test(line.msg));
  t.is(failures.length, 1, 'one log line per episode, not one per attempt');
  t.true(src.log.lines.some((line) => /store writes work again/.test(line.msg)));
  // Backoff, not a tight loop: five failed attempts took at least 1+2+4+8+16 s of (fake) time.
  t.true(clock.nowMs() - 1_700_000_000_000 >= 31_000, `${clock.nowMs() - 1_700_000_000_000} ms`);
});

// ---- §3 remove and restore ------------------------------------------------------------------------------

test('restoring a removed file unchanged starts a new task', async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  const src = source(dir, store);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const first = (await src.syncOnce()).started[0]!;
  rmSync(join(dir, 'web.json'));
  t.deepEqual((await src.syncOnce()).stopped, [first]);

  writeFileSync(join(dir, 'web.json'), definition('web'));
  const report = await src.syncOnce();
  t.is(report.started.length, 1, 'a file that appears again is a start');
  const second = report.started[0]!;
  t.not(second, first);
  t.is(task(store, second).desiredStatus, 'RUNNING');
  t.is(task(store, first).desiredStatus, 'STOPPED');
  t.true(src.log.lines.some((line) => line.msg === 'starting task from file' && line.fields['taskArn'] === second));
});

test('a file restored while the agent was down starts a new task at the next start', async (t) => {
  const dir = tempDir(t, 'tasks');
  const store = memoryStore(t);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const first = (await source(dir, store).syncOnce()).started[0]!;
  rmSync(join(dir, 'web.json'));
  await source(dir, store).syncOnce();
  writeFileSync(join(dir, 'web.json'), definition('web'));
  const report = await source(dir, store).syncOnce();
  t.is(report.started.length, 1);
  t.not(report.started[0], first);
});

// ---- §5 lost store ---------------------------------------------------------------------------------------

test('an agent restarted on an empty store computes the same task ARN and revision for an unchanged file', async (t) => {
  const dir = tempDir(t, 'tasks');
  const before = memoryStore(t);
  const src = source(dir, before);
  writeFileSync(join(dir, 'web.json'), definition('web'));
  writeFileSync(join(dir, 'worker.json'), definition('worker'));
  await src.syncOnce();
  // Revision 2 or later of web: the case that ran twice.
  writeFileSync(join(dir, 'web.json'), definition('web', ['sleep', '7200']));
  const changed = (await src.syncOnce()).started[0]!;
  const running = before.listTasks().filter((record) => record.desiredStatus === 'RUNNING');
  t.is(running.length, 2);

  const empty = memoryStore(t);
  const report = await source(dir, empty).syncOnce();
  t.deepEqual([...report.started].sort(), running.map((record) => record.arn).sort());
  t.true(report.started.includes(changed));
  for (const record of running) t.is(task(empty, record.arn).version, record.version, record.family);
});

// ---- §1 limits and policy, applied by the source ----------------------------------------------------------

test('a definition with more than 10 containers is refused, naming the file and the field', async (t) => {
  const dir = tempDir(t, 'tasks');
  const containers = [...Array(11).keys()].map((i) => ({ name: `c${i}`, image: 'x', memory: 8, command: ['true'] }));
  writeFileSync(join(dir, 'many.json'), JSON.stringify({ family: 'many', containerDefinitions: containers }));
  const report = await source(dir, memoryStore(t)).syncOnce();
  t.is(
    errorOf(report, 'many.json'),
    'many.json: containerDefinitions: must have at most 10 items (the RegisterTaskDefinition limit)',
  );
});

test('a container name outside letters, digits, hyphens and underscores is refused', async (t) => {
  const dir = tempDir(t, 'tasks');
  writeFileSync(join(dir, 'web.json'), definition('web').replace('"main"', '"web.app"'));
  writeFileSync(join(dir, 'long.json'), definition('long').replace('"main"', `"${'a'.repeat(256)}"`));
  const report = await source(dir, memoryStore(t)).syncOnce();
  for (const file of ['web.json', 'long.json']) {
    t.regex(
      errorOf(report, file),
      /containerDefinitions\[0\]\.name: must be 1-255 letters, digits, hyphens and underscores/,
    );
  }
});

test('ECS_DISABLE_PRIVILEGED: a privileged container is refused with the reason', async (t) => {
  const dir = tempDir(t, 'tasks');
  writeFileSync(join(dir, 'root.json'), definition('root', ['true'], { privileged: true }));
  const policy = { disablePrivileged: true, allowSensitiveHostMounts: false };
  const report = await source(dir, memoryStore(t), { policy }).syncOnce();
  t.is(
    errorOf(report, 'root.json'),
    'root.json: containerDefinitions[0].privileged: privileged containers are disabled on this host (ECS_DISABLE_PRIVILEGED=true)',
  );
  t.deepEqual(report.started, []);
});

test('pidMode and ipcMode "task" are refused instead of silently ignored', async (t) => {
  const dir = tempDir(t, 'tasks');
  writeFileSync(join(dir, 'pid.json'), definition('pid', ['true'], {}, { pidMode: 'task' }));
  writeFileSync(join(dir, 'ipc.json'), definition('ipc', ['true'], {}, { ipcMode: 'task' }));
  const report = await source(dir, memoryStore(t)).syncOnce();
  t.regex(
    errorOf(report, 'pid.json'),
    /^pid\.json: pidMode: "task" is refused: task-level pid\/ipc namespaces are not supported yet/,
  );
  t.regex(errorOf(report, 'ipc.json'), /^ipc\.json: ipcMode: "task" is refused/);
  t.deepEqual(report.started, []);
});

function mounting(family: string, sourcePath: string, containerPath: string): string {
  return definition(
    family,
    ['true'],
    { mountPoints: [{ sourceVolume: 'v', containerPath }] },
    { volumes: [{ name: 'v', host: { sourcePath } }] },
  );
}

test('a containerPath carrying mount options (/data:z, /mnt:rshared) is refused', async (t) => {
  const dir = tempDir(t, 'tasks');
  writeFileSync(join(dir, 'relabel.json'), mounting('relabel', '/srv', '/data:z'));
  writeFileSync(join(dir, 'shared.json'), mounting('shared', '/srv', '/mnt:rshared'));
  const report = await source(dir, memoryStore(t)).syncOnce();
  for (const file of ['relabel.json', 'shared.json']) {
    t.regex(errorOf(report, file), /containerDefinitions\[0\]\.mountPoints\[0\]\.containerPath: must not contain ":"/);
  }
});

test('a bind mount of / or of the data directory is refused unless the operator allows it', async (t) => {
  const dir = tempDir(t, 'tasks');
  const dataDir = tempDir(t, 'data');
  writeFileSync(join(dir, 'root.json'), mounting('root', '/', '/host'));
  writeFileSync(join(dir, 'db.json'), mounting('db', join(dataDir, 'db'), '/db'));
  writeFileSync(join(dir, 'fine.json'), mounting('fine', '/srv/www', '/www'));
  const policy = { disablePrivileged: false, allowSensitiveHostMounts: false, dataDir };
  const refused = await source(dir, memoryStore(t), { policy }).syncOnce();
  t.regex(
    errorOf(refused, 'root.json'),
    /volumes\[0\]\.host\.sourcePath: a bind mount of the host root "\/" is refused/,
  );
  t.regex(errorOf(refused, 'db.json'), /volumes\[0\]\.host\.sourcePath: .* overlaps the agent's data directory/);
  t.is(refused.started.length, 1, 'fine.json starts');

  const allowed = await source(dir, memoryStore(t), {
    policy: { ...policy, allowSensitiveHostMounts: true },
  }).syncOnce();
  t.deepEqual(allowed.invalid, []);
  t.is(allowed.started.length, 3);
});

test('the JSON error locator agrees with JSON.parse on validity and with V8 on positions it reports', (t) => {
  const texts = [
    '{}',
    ' [1, -2.5e+3, "a\\u00e9\\n", true, false, null, {"k": []}] ',
    '{"a":1',
    '{"a" 1}',
    '[1,]',
    '"abc',
    '{"a":1}x',
    '',
    'tru',
    '01',
    '"\\x"',
    '{"a":"\u0001"}',
    '[1 2]',
    '{,}',
  ];
  for (const text of texts) {
    let v8Offset: number | undefined;
    let valid = true;
    try {
      JSON.parse(text);
    } catch (error) {
      valid = false;
      const match = /at position (\d+)/.exec((error as Error).message);
      if (match) v8Offset = Number(match[1]);
    }
    const position = jsonSyntaxErrorPosition(text);
    t.is(position === undefined, valid, JSON.stringify(text));
    if (v8Offset !== undefined && position !== undefined) t.is(position.column, v8Offset + 1, JSON.stringify(text));
  }
  t.deepEqual(jsonSyntaxErrorPosition('{\n  "a": 1,\n  "b": ]\n}'), { line: 3, column: 8 });
});
