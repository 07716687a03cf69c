// Sources and precedence: flags > environment > ecs.config > defaults; the ecs.config path and how a
// missing or unreadable file is handled; the settings upstream derives from other variables.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig } from '../src/config/index.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecsd-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('environment over ecs.config over defaults, read from a real file via ECSD_CONFIG_FILE', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'ecs.config');
  writeFileSync(path, 'ECS_CLUSTER=from-file\nECS_CONTAINER_STOP_TIMEOUT=45s\nECS_RESERVED_MEMORY=64\n');
  const { config, sources, warnings } = loadConfig({
    env: { ECSD_CONFIG_FILE: path, ECS_CLUSTER: 'from-env' },
  });
  t.deepEqual(warnings, []);
  t.is(config.cluster, 'from-env');
  t.is(sources['ECS_CLUSTER'], 'env');
  t.is(config.containerStopTimeoutMs, 45_000);
  t.is(sources['ECS_CONTAINER_STOP_TIMEOUT'], 'file');
  t.is(config.reservedMemoryMiB, 64);
  t.is(config.containerStartTimeoutMs, 180_000);
  t.is(sources['ECS_CONTAINER_START_TIMEOUT'], 'default');
  t.is(config.configFilePath, path);
  t.is(sources['ECSD_CONFIG_FILE'], 'env');
});

test('an empty environment value does not hide the file value', (t) => {
  const { config, sources } = loadConfig({
    env: { ECS_CLUSTER: '' },
    readFile: () => 'ECS_CLUSTER=from-file',
  });
  t.is(config.cluster, 'from-file');
  t.is(sources['ECS_CLUSTER'], 'file');
});

test('the default path is /etc/ecs/ecs.config; --config-file beats ECSD_CONFIG_FILE', (t) => {
  const read: string[] = [];
  const readFile = (path: string): string | undefined => {
    read.push(path);
    return undefined;
  };
  loadConfig({ env: {}, readFile });
  loadConfig({ env: { ECSD_CONFIG_FILE: '/from/env' }, readFile });
  const flagged = loadConfig({
    env: { ECSD_CONFIG_FILE: '/from/env' },
    flags: { configFilePath: '/from/flag' },
    readFile,
  });
  t.deepEqual(read, ['/etc/ecs/ecs.config', '/from/env', '/from/flag']);
  t.is(flagged.config.configFilePath, '/from/flag');
  t.is(flagged.sources['ECSD_CONFIG_FILE'], 'flag');
});

test('a missing ecs.config is fine with the real reader', (t) => {
  const dir = tempDir(t);
  const { config } = loadConfig({ env: { ECSD_CONFIG_FILE: join(dir, 'absent.config') } });
  t.is(config.cluster, 'default');
});

test('an unreadable ecs.config is a ConfigError naming ECSD_CONFIG_FILE and the path', (t) => {
  const dir = tempDir(t);
  const error = t.throws(() => loadConfig({ env: { ECSD_CONFIG_FILE: dir } }), { instanceOf: ConfigError });
  t.is(error?.issues[0]?.variable, 'ECSD_CONFIG_FILE');
  t.is(error?.issues[0]?.value, dir);
  t.regex(error?.message ?? '', /EISDIR/);
});

test('ECSD_CONFIG_FILE inside the file itself is ignored with a warning', (t) => {
  const { config, warnings } = loadConfig({ env: {}, readFile: () => 'ECSD_CONFIG_FILE=/elsewhere\n' });
  t.is(config.configFilePath, '/etc/ecs/ecs.config');
  t.is(warnings.length, 1);
  t.regex(warnings[0]!, /ECSD_CONFIG_FILE/);
});

test('flags beat the environment: -loglevel sets both outputs, --tasks-dir beats ECSD_TASKS_DIR, -k', (t) => {
  const { config, sources } = loadConfig({
    env: { ECS_LOGLEVEL: 'warn', ECS_LOGLEVEL_ON_INSTANCE: 'error', ECSD_TASKS_DIR: '/env/tasks' },
    flags: { logLevel: 'debug', tasksDir: '/flag/tasks', acceptInsecureCert: true },
    readFile: () => 'ECSD_TASKS_DIR=/file/tasks',
  });
  t.is(config.logLevel, 'debug');
  t.is(config.logLevelOnInstance, 'debug');
  t.is(sources['ECS_LOGLEVEL'], 'flag');
  t.is(sources['ECS_LOGLEVEL_ON_INSTANCE'], 'flag');
  t.is(config.tasksDir, '/flag/tasks');
  t.is(sources['ECSD_TASKS_DIR'], 'flag');
  t.true(config.acceptInsecureCert);
  t.is(sources['-k'], 'flag');
});

test('-loglevel wins over -loglevel-driver and -loglevel-on-instance, as upstream', (t) => {
  const { config } = loadConfig({
    env: {},
    flags: { logLevel: 'error', logLevelDriver: 'debug', logLevelOnInstance: 'debug' },
    readFile: () => undefined,
  });
  t.is(config.logLevel, 'error');
  t.is(config.logLevelOnInstance, 'error');
});

test('-loglevel-driver sets stdout only; the file level still follows ECS_LOGLEVEL from the environment', (t) => {
  const { config } = loadConfig({
    env: { ECS_LOGLEVEL: 'warn' },
    flags: { logLevelDriver: 'debug' },
    readFile: () => undefined,
  });
  t.is(config.logLevel, 'debug');
  t.is(config.logLevelOnInstance, 'warn');
  const instanceOnly = loadConfig({ env: {}, flags: { logLevelOnInstance: 'crit' }, readFile: () => undefined });
  t.is(instanceOnly.config.logLevel, 'info');
  t.is(instanceOnly.config.logLevelOnInstance, 'crit');
});

test('log levels: critical→crit, none→off, any case; the file level is off when ECS_LOG_DRIVER is set', (t) => {
  const aliases = loadConfig({
    env: { ECS_LOGLEVEL: 'CRITICAL', ECS_LOGLEVEL_ON_INSTANCE: 'none' },
    readFile: () => undefined,
  });
  t.is(aliases.config.logLevel, 'crit');
  t.is(aliases.config.logLevelOnInstance, 'off');
  const driver = loadConfig({ env: { ECS_LOGLEVEL: 'debug', ECS_LOG_DRIVER: 'awslogs' }, readFile: () => undefined });
  t.is(driver.config.logLevelOnInstance, 'off');
  t.is(driver.config.logLevel, 'debug');
});

test('checkpoint defaults to on exactly when ECS_DATADIR is given, from the environment or the file', (t) => {
  const none = loadConfig({ env: {}, readFile: () => undefined }).config;
  t.false(none.checkpoint);
  t.false(none.dataDirSet);
  const fromFile = loadConfig({ env: {}, readFile: () => 'ECS_DATADIR=/var/lib/ecsd' }).config;
  t.true(fromFile.checkpoint);
  t.true(fromFile.dataDirSet);
  t.is(fromFile.dataDir, '/var/lib/ecsd');
  const forcedOff = loadConfig({ env: { ECS_DATADIR: '/d', ECS_CHECKPOINT: 'false' }, readFile: () => undefined });
  t.false(forcedOff.config.checkpoint);
  const forcedOn = loadConfig({ env: { ECS_CHECKPOINT: 'true' }, readFile: () => undefined });
  t.true(forcedOn.config.checkpoint);
  t.is(forcedOn.config.dataDir, '/data/');
});

test('ECS_ENABLE_TASK_CPU_MEM_LIMIT records whether it was set explicitly', (t) => {
  const unset = loadConfig({ env: {}, readFile: () => undefined }).config;
  t.true(unset.enableTaskCpuMemLimit);
  t.false(unset.enableTaskCpuMemLimitExplicit);
  const set = loadConfig({ env: {}, readFile: () => 'ECS_ENABLE_TASK_CPU_MEM_LIMIT=true' }).config;
  t.true(set.enableTaskCpuMemLimit);
  t.true(set.enableTaskCpuMemLimitExplicit);
});

test('values parse into their typed forms: lists, maps, ranges, addresses, aliases', (t) => {
  const { config } = loadConfig({
    env: {
      ECS_RESERVED_PORTS: '[22, 80, 5000, 8080]',
      ECS_INSTANCE_ATTRIBUTES: '{"stack": "prod"}',
      ECS_AWSVPC_ADDITIONAL_LOCAL_ROUTES: '["10.0.15.0/24","fd00::/8"]',
      ECS_EXCLUDE_UNTRACKED_IMAGE: 'alpine:latest, amazonlinux:2',
      ECS_DYNAMIC_HOST_PORT_RANGE: '100-200',
      ECSD_METRICS_ADDRESS: '[::1]:9100',
      ECS_LOG_ROLLOVER_TYPE: 'date',
      ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION: '1h30m',
      ECS_IMAGE_PULL_BEHAVIOR: 'prefer-cached',
      ECS_CLUSTER: '  padded  ',
    },
    readFile: () => undefined,
  });
  t.deepEqual(config.reservedPorts, [22, 80, 5000, 8080]);
  t.deepEqual(config.instanceAttributes, { stack: 'prod' });
  t.deepEqual(config.awsvpcAdditionalLocalRoutes, ['10.0.15.0/24', 'fd00::/8']);
  t.deepEqual(config.excludeUntrackedImages, ['alpine:latest', 'amazonlinux:2']);
  t.deepEqual(config.dynamicHostPortRange, { startPort: 100, endPort: 200 });
  t.deepEqual(config.metricsAddress, { host: '::1', port: 9100 });
  t.is(config.logRolloverType, 'hourly');
  t.is(config.engineTaskCleanupWaitDurationMs, 5_400_000);
  t.is(config.imagePullBehavior, 'prefer-cached');
  t.is(config.cluster, 'padded');
});

test('unknown ECS_ variables warn (upstream ignores them); task-container variables and others are silent', (t) => {
  const { warnings } = loadConfig({
    env: { ECS_NOT_A_SETTING: '1', ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/x', PATH: '/bin' },
    readFile: () => 'ECS_ALSO_UNKNOWN=2\nFOO=bar',
  });
  t.deepEqual(warnings, [
    'unknown variable ECS_NOT_A_SETTING (from env) is ignored',
    'unknown variable ECS_ALSO_UNKNOWN (from file) is ignored',
  ]);
});
