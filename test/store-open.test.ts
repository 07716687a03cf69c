import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import BetterSqlite3 from 'better-sqlite3';
import { StoreError } from '../src/errors.js';
import { createCapturingLogger } from '../src/logging/capture.js';
import {
  DATABASE_FILE_NAME,
  INSTANCE_IDENTITY_FILE_NAME,
  LATEST_SCHEMA_VERSION,
  openStore,
  openStoreReadOnly,
} from '../src/store/index.js';
import { currentSchemaVersion, MIGRATIONS, migrate } from '../src/store/migrations.js';
import { quarantineDatabaseFiles, quarantineTimestamp } from '../src/store/quarantine.js';
import { capturingLogger, fakeClock, openForTest, TASK_ARN, taskSpec, tempDataDir } from './store-fixtures.js';

const mode = (path: string): number => statSync(path).mode & 0o777;

function readSchemaVersions(path: string): number[] {
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    return (db.prepare('SELECT version FROM schema_version ORDER BY version').all() as Array<{ version: number }>).map(
      (row) => row.version,
    );
  } finally {
    db.close();
  }
}

test('a new data dir gets a WAL database migrated to the latest schema version', (t) => {
  const dataDir = join(tempDataDir(t), 'nested', 'data');
  const { store, path } = openStore({ dataDir, checkpoint: true, logger: capturingLogger() });
  t.is(path, join(dataDir, DATABASE_FILE_NAME));
  t.true(store.durable);
  t.deepEqual(store.listTasks(), []);
  t.is(store.getSequenceNumber(), -1);
  store.close();

  t.true(LATEST_SCHEMA_VERSION >= 1);
  t.deepEqual(
    readSchemaVersions(join(dataDir, DATABASE_FILE_NAME)),
    MIGRATIONS.map((m) => m.version),
  );
  const db = new BetterSqlite3(join(dataDir, DATABASE_FILE_NAME));
  t.is(db.pragma('journal_mode', { simple: true }), 'wal');
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>)
    .map((row) => row.name)
    .sort();
  db.close();
  for (const table of [
    'containers',
    'enis',
    'image_pulls',
    'images',
    'instance',
    'meta',
    'outbox',
    'schema_version',
    'tasks',
    'volumes',
  ]) {
    t.true(tables.includes(table), `table ${table} exists`);
  }
  t.false(
    tables.some((name) => /credential/i.test(name)),
    'no credential table: credentials are never persisted',
  );
});

test('reopening an up-to-date database applies no migration again', (t) => {
  const dataDir = tempDataDir(t);
  openStore({ dataDir, checkpoint: true, logger: capturingLogger() }).store.close();
  openStore({ dataDir, checkpoint: true, logger: capturingLogger() }).store.close();
  t.deepEqual(
    readSchemaVersions(join(dataDir, DATABASE_FILE_NAME)),
    MIGRATIONS.map((m) => m.version),
  );
});

test('migrate applies only the migrations newer than the database, in order', (t) => {
  const db = new BetterSqlite3(':memory:');
  t.teardown(() => db.close());
  t.deepEqual(migrate(db, 1000), { fromVersion: 0, toVersion: LATEST_SCHEMA_VERSION });
  db.prepare("INSERT INTO meta (key, value) VALUES ('kept', 'yes')").run();
  const latest = LATEST_SCHEMA_VERSION;
  const add = { version: latest + 1, description: 'add a column', sql: 'ALTER TABLE meta ADD COLUMN note TEXT' };
  const fill = { version: latest + 2, description: 'fill it', sql: "UPDATE meta SET note = 'filled'" };
  t.deepEqual(migrate(db, 2000, [...MIGRATIONS, add, fill]), { fromVersion: latest, toVersion: latest + 2 });
  t.is(currentSchemaVersion(db), latest + 2);
  t.deepEqual(db.prepare('SELECT key, value, note FROM meta').all(), [{ key: 'kept', value: 'yes', note: 'filled' }]);
  const history = db.prepare('SELECT version, description, applied_at_ms FROM schema_version ORDER BY version').all();
  t.deepEqual(history, [
    ...MIGRATIONS.map((m) => ({ version: m.version, description: m.description, applied_at_ms: 1000 })),
    { version: latest + 1, description: 'add a column', applied_at_ms: 2000 },
    { version: latest + 2, description: 'fill it', applied_at_ms: 2000 },
  ]);
});

test('a version 1 database gains the outbox-by-task index and keeps its rows', (t) => {
  const db = new BetterSqlite3(':memory:');
  t.teardown(() => db.close());
  migrate(db, 1000, MIGRATIONS.slice(0, 1));
  db.prepare("INSERT INTO outbox (task_arn, kind, payload, created_at_ms) VALUES ('arn:t', 'task', '{}', 1)").run();
  t.deepEqual(migrate(db, 2000), { fromVersion: 1, toVersion: LATEST_SCHEMA_VERSION });
  t.truthy(db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'outbox_by_task_seq'").get());
  t.is((db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n, 1);
});

test('a failing migration leaves the database at the previous whole version', (t) => {
  const db = new BetterSqlite3(':memory:');
  t.teardown(() => db.close());
  migrate(db, 1000);
  const next = LATEST_SCHEMA_VERSION + 1;
  const broken = { version: next, description: 'broken', sql: 'CREATE TABLE half (x); SELECT * FROM no_such_table' };
  const error = t.throws(() => migrate(db, 2000, [...MIGRATIONS, broken]), { instanceOf: StoreError });
  t.is(error?.context.migration, next);
  t.is(currentSchemaVersion(db), LATEST_SCHEMA_VERSION);
  t.is(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get(), undefined);
});

test('a database from a newer ecsd is refused with a StoreError and left in place', (t) => {
  const dataDir = tempDataDir(t);
  openStore({ dataDir, checkpoint: true, logger: capturingLogger() }).store.close();
  const dbPath = join(dataDir, DATABASE_FILE_NAME);
  const db = new BetterSqlite3(dbPath);
  db.prepare("INSERT INTO schema_version (version, description, applied_at_ms) VALUES (99, 'future', 0)").run();
  db.close();

  const error = t.throws(() => openStore({ dataDir, checkpoint: true, logger: capturingLogger() }), {
    instanceOf: StoreError,
  });
  t.is(error?.code, 'StoreError');
  t.regex(error?.message ?? '', /newer/);
  t.is(error?.context.schemaVersion, 99);
  t.true(existsSync(dbPath));
  t.false(
    readdirSync(dataDir).some((name) => name.includes('.corrupt-')),
    'nothing quarantined',
  );
});

test('the database, its WAL files and the identity file are 0600 and a new data dir is 0700', (t) => {
  const dataDir = join(tempDataDir(t), 'fresh');
  const { store, path } = openForTest(t, { dataDir });
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.saveInstance({ cluster: 'default', containerInstanceArn: 'arn:aws:ecs:us-west-2:1:container-instance/x' });
  t.is(mode(dataDir), 0o700);
  t.truthy(path);
  for (const file of [path!, `${path}-wal`, `${path}-shm`, join(dataDir, INSTANCE_IDENTITY_FILE_NAME)]) {
    t.true(existsSync(file), `${file} exists`);
    t.is(mode(file).toString(8), '600', file);
  }
});

test('an existing database with a loose mode is tightened to 0600', (t) => {
  const dataDir = tempDataDir(t);
  const dbPath = join(dataDir, DATABASE_FILE_NAME);
  writeFileSync(dbPath, '', { mode: 0o644 });
  openForTest(t, { dataDir });
  t.is(mode(dbPath).toString(8), '600');
});

test('in-memory mode (ECS_CHECKPOINT=false) writes no file and keeps nothing across opens', (t) => {
  const dataDir = tempDataDir(t);
  const first = openStore({ dataDir, checkpoint: false, logger: capturingLogger() });
  t.false(first.store.durable);
  t.is(first.path, undefined);
  first.store.saveInstance({ cluster: 'default', containerInstanceArn: 'arn:ci' });
  first.store.putDesiredTask(taskSpec(TASK_ARN));
  first.store.appendOutbox([{ taskArn: TASK_ARN, kind: 'task', payload: { status: 'RUNNING' } }]);
  t.is(first.store.listTasks().length, 1);
  first.store.close();
  t.deepEqual(readdirSync(dataDir), []);

  const second = openStore({ dataDir, checkpoint: false, logger: capturingLogger() });
  t.deepEqual(second.store.listTasks(), []);
  t.is(second.store.getInstance(), undefined);
  t.is(second.store.outboxDepth(), 0);
  second.store.close();
  t.deepEqual(readdirSync(dataDir), []);
});

test('quarantine timestamps are compact UTC', (t) => {
  t.is(quarantineTimestamp(Date.UTC(2024, 2, 5, 6, 7, 8, 999)), '20240305T060708Z');
});

test('a corrupt database file is moved aside, the store starts empty and the identity is restored', (t) => {
  const dataDir = tempDataDir(t);
  const identity = {
    cluster: 'prod',
    containerInstanceArn: 'arn:aws:ecs:us-west-2:123456789012:container-instance/prod/abc',
    ec2InstanceId: 'i-0123456789abcdef0',
    availabilityZone: 'us-west-2a',
    agentVersion: '1.0.0',
  };
  const before = openStore({ dataDir, checkpoint: true, logger: capturingLogger() });
  before.store.saveInstance({ ...identity, registration: { totalCpu: 2048 } });
  before.store.putDesiredTask(taskSpec(TASK_ARN));
  before.store.close();

  const dbPath = join(dataDir, DATABASE_FILE_NAME);
  const garbage = Buffer.from('this is not a sqlite database, just some garbage bytes '.repeat(200));
  writeFileSync(dbPath, garbage);

  const logger = capturingLogger();
  const clock = fakeClock();
  const opened = openForTest(t, { dataDir, logger, clock });
  const expected = `${dbPath}.corrupt-20240305T060708Z`;
  t.is(opened.quarantinedPath, expected);
  t.true(existsSync(expected));
  t.deepEqual(readFileSync(expected), garbage, 'the damaged file is kept byte for byte');

  t.deepEqual(opened.store.listTasks(), []);
  t.deepEqual(opened.store.listAllContainers(), []);
  t.deepEqual(opened.store.getInstance(), identity, 'identity restored from the side file (without registration)');

  const errors = logger.lines.filter((line) => line.level === 'error');
  t.is(errors.length, 1);
  t.is(errors[0]?.fields.path, dbPath);
  t.is(errors[0]?.fields.quarantinedPath, expected);
  t.regex(String(errors[0]?.fields.cause), /not a database/);
});

test('a database with damaged pages fails the integrity check and is quarantined with its WAL', (t) => {
  const dataDir = tempDataDir(t);
  const dbPath = join(dataDir, DATABASE_FILE_NAME);
  const before = openStore({ dataDir, checkpoint: true, logger: capturingLogger() });
  for (let i = 0; i < 50; i++) before.store.putDesiredTask(taskSpec(`${TASK_ARN}-${i}`));
  before.store.close();
  const bytes = readFileSync(dbPath);
  t.true(bytes.length > 3 * 4096);
  bytes.fill(0xa5, 4096 + 16, bytes.length - 4096);
  writeFileSync(dbPath, bytes);
  writeFileSync(`${dbPath}-wal`, Buffer.alloc(0));

  const opened = openForTest(t, { dataDir, clock: fakeClock() });
  t.truthy(opened.quarantinedPath);
  t.true(existsSync(opened.quarantinedPath!));
  t.true(existsSync(`${dbPath}-wal.corrupt-20240305T060708Z`), 'the WAL file moves with it');
  t.deepEqual(opened.store.listTasks(), []);
});

test('quarantine moves the companion files under the same suffix and deletes nothing', (t) => {
  const dataDir = tempDataDir(t);
  const dbPath = join(dataDir, DATABASE_FILE_NAME);
  writeFileSync(dbPath, 'main');
  writeFileSync(`${dbPath}-wal`, 'wal');
  writeFileSync(`${dbPath}-shm`, 'shm');
  const target = quarantineDatabaseFiles(dbPath, Date.UTC(2025, 0, 2, 3, 4, 5));
  t.is(target, `${dbPath}.corrupt-20250102T030405Z`);
  t.deepEqual(readdirSync(dataDir).sort(), [
    'ecsd.db-shm.corrupt-20250102T030405Z',
    'ecsd.db-wal.corrupt-20250102T030405Z',
    'ecsd.db.corrupt-20250102T030405Z',
  ]);
  t.is(readFileSync(`${dbPath}-wal.corrupt-20250102T030405Z`, 'utf8'), 'wal');
});

test('a second quarantine in the same second gets a distinct name', (t) => {
  const dataDir = tempDataDir(t);
  const dbPath = join(dataDir, DATABASE_FILE_NAME);
  const clock = fakeClock();
  writeFileSync(dbPath, 'garbage one '.repeat(100));
  openStore({ dataDir, checkpoint: true, logger: capturingLogger(), clock }).store.close();
  writeFileSync(dbPath, 'garbage two '.repeat(100));
  const second = openForTest(t, { dataDir, clock });
  t.is(second.quarantinedPath, `${dbPath}.corrupt-20240305T060708Z-1`);
  t.regex(readFileSync(`${dbPath}.corrupt-20240305T060708Z`, 'utf8'), /garbage one/);
  t.regex(readFileSync(`${dbPath}.corrupt-20240305T060708Z-1`, 'utf8'), /garbage two/);
});

test('a SQLite file that is not an ecsd store is quarantined, not mixed into', (t) => {
  const dataDir = tempDataDir(t);
  const dbPath = join(dataDir, DATABASE_FILE_NAME);
  const foreign = new BetterSqlite3(dbPath);
  foreign.exec('CREATE TABLE tasks (id INTEGER); INSERT INTO tasks VALUES (1)');
  foreign.close();
  const opened = openForTest(t, { dataDir, clock: fakeClock() });
  t.truthy(opened.quarantinedPath);
  t.deepEqual(opened.store.listTasks(), []);
});

test('the identity side file is not used when the database still has the instance', (t) => {
  const dataDir = tempDataDir(t);
  const first = openStore({ dataDir, checkpoint: true, logger: capturingLogger() });
  first.store.saveInstance({ cluster: 'prod', containerInstanceArn: 'arn:ci/1', registration: { a: 1 } });
  first.store.close();
  const sideFile = join(dataDir, INSTANCE_IDENTITY_FILE_NAME);
  t.deepEqual(JSON.parse(readFileSync(sideFile, 'utf8')), {
    version: 1,
    instance: { cluster: 'prod', containerInstanceArn: 'arn:ci/1' },
  });
  const { store } = openForTest(t, { dataDir });
  t.deepEqual(store.getInstance(), { cluster: 'prod', containerInstanceArn: 'arn:ci/1', registration: { a: 1 } });
});

test('a malformed identity side file is ignored with a warning and left in place', (t) => {
  const dataDir = tempDataDir(t);
  const sideFile = join(dataDir, INSTANCE_IDENTITY_FILE_NAME);
  writeFileSync(sideFile, '{"instance": {"cluster": 42}}');
  const logger = capturingLogger();
  const { store } = openForTest(t, { dataDir, logger });
  t.is(store.getInstance(), undefined);
  t.true(logger.lines.some((line) => line.level === 'warn' && line.fields.path === sideFile));
  t.true(existsSync(sideFile));
});

test('openStoreReadOnly reads what the agent wrote and answers undefined where there is no store', (t) => {
  const dataDir = tempDataDir(t);
  t.is(openStoreReadOnly({ dataDir }), undefined);
  const writer = openForTest(t, { dataDir });
  writer.store.putDesiredTask(taskSpec(TASK_ARN));
  const reader = openStoreReadOnly({ dataDir });
  t.truthy(reader);
  t.deepEqual(
    reader?.listTasks().map((task) => task.arn),
    [TASK_ARN],
  );
  t.deepEqual(
    reader?.listContainers(TASK_ARN).map((container) => container.name),
    ['app', 'sidecar'],
  );
  reader?.close();
});

test('a truncated database file with its WAL deleted is quarantined with a logged reason, not reset silently', (t) => {
  const dataDir = tempDataDir(t);
  const dbPath = join(dataDir, DATABASE_FILE_NAME);
  const before = openStore({ dataDir, checkpoint: true, logger: capturingLogger() });
  before.store.saveInstance({ cluster: 'prod', containerInstanceArn: 'arn:ci/1' });
  before.store.putDesiredTask(taskSpec(TASK_ARN));
  before.store.close();
  truncateSync(dbPath, 0);
  rmSync(`${dbPath}-wal`, { force: true });
  rmSync(`${dbPath}-shm`, { force: true });

  const capture = createCapturingLogger();
  const opened = openForTest(t, { dataDir, logger: capture.logger, clock: fakeClock() });
  const expected = `${dbPath}.corrupt-20240305T060708Z`;
  t.is(opened.quarantinedPath, expected);
  t.true(existsSync(expected), 'moved aside, not deleted');
  t.is(statSync(expected).size, 0);
  t.deepEqual(opened.store.listTasks(), []);
  const reset = capture.lines.find((line) => line.level === 'error' || line.level === 'warn');
  t.truthy(reset, 'the reset is logged at warn or above');
  t.regex(reset?.msg ?? '', /starting with an empty store/);
  t.regex(String(reset?.fields['cause']), /empty/);
  t.is(reset?.fields['quarantinedPath'], expected);
});

test('migrating an existing database logs at warn with the versions and the reason', (t) => {
  const dataDir = tempDataDir(t);
  const dbPath = join(dataDir, DATABASE_FILE_NAME);
  const old = new BetterSqlite3(dbPath);
  old.pragma('journal_mode = WAL');
  migrate(old, 1000, MIGRATIONS.slice(0, 1));
  old.close();

  const capture = createCapturingLogger();
  openForTest(t, { dataDir, logger: capture.logger });
  const warn = capture.lines.find((line) => line.level === 'warn' && /migrat/.test(line.msg));
  t.truthy(warn, 'a warn line for the migration');
  t.is(warn?.fields['fromVersion'], 1);
  t.is(warn?.fields['toVersion'], LATEST_SCHEMA_VERSION);
  t.is(warn?.fields['path'], dbPath);
  t.regex(String(warn?.fields['reason']), /outbox index by task/);

  // A brand-new store is created, not migrated: no warning.
  const fresh = createCapturingLogger();
  openForTest(t, { logger: fresh.logger });
  t.deepEqual(
    fresh.lines.filter((line) => line.level === 'warn'),
    [],
  );
});

test('an existing data directory looser than 0700 is tightened to 0700 with a warn line', (t) => {
  const dataDir = tempDataDir(t);
  chmodSync(dataDir, 0o755);
  const capture = createCapturingLogger();
  openForTest(t, { dataDir, logger: capture.logger });
  t.is(mode(dataDir).toString(8), '700');
  const warn = capture.lines.find((line) => line.level === 'warn' && line.fields['path'] === dataDir);
  t.truthy(warn);
  t.is(warn?.fields['previousMode'], '755');
  t.is(warn?.fields['mode'], '700');
});

test('a data directory already 0700 is left alone without a warning', (t) => {
  const dataDir = tempDataDir(t);
  chmodSync(dataDir, 0o700);
  const capture = createCapturingLogger();
  openForTest(t, { dataDir, logger: capture.logger });
  t.is(mode(dataDir).toString(8), '700');
  t.deepEqual(
    capture.lines.filter((line) => line.level === 'warn'),
    [],
  );
});

test('WAL and shared-memory files left with a loose mode are tightened to 0600', (t) => {
  const dataDir = tempDataDir(t);
  const first = openStore({ dataDir, checkpoint: true, logger: capturingLogger() });
  first.store.putDesiredTask(taskSpec(TASK_ARN));
  const path = first.path!;
  // Keep the WAL: copy the files while the writer holds them open, as after a SIGKILL.
  first.store.close();
  writeFileSync(`${path}-wal`, '', { mode: 0o644 });
  chmodSync(`${path}-wal`, 0o644);
  writeFileSync(`${path}-shm`, '', { mode: 0o666 });
  chmodSync(`${path}-shm`, 0o666);
  const { store } = openForTest(t, { dataDir });
  store.putDesiredTask(taskSpec(`${TASK_ARN}-2`));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) t.is(mode(file).toString(8), '600', file);
});
