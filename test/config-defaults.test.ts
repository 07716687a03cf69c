// Defaults with nothing set (Linux defaults of the README table and the fact sheet), the frozen result,
// and the schema being the one source of names and defaults.
import test from 'ava';
import { type AgentConfig, configSchema, loadConfig } from '../src/config/index.js';

const noFile = (): undefined => undefined;
const load = (env: Record<string, string> = {}) => loadConfig({ env, readFile: noFile });

test('defaults for a representative set of variables', (t) => {
  const { config, warnings } = load();
  t.deepEqual(warnings, []);
  t.like(config, {
    cluster: 'default',
    dockerHost: 'unix:///var/run/docker.sock',
    dataDir: '/data/',
    dataDirSet: false,
    checkpoint: false,
    external: false,
    acceptInsecureCert: false,
    logLevel: 'info',
    logLevelOnInstance: 'info',
    logRolloverType: 'size',
    logMaxFileSizeMB: 5,
    logMaxRollCount: 24,
    logOutputFormat: 'logfmt',
    containerStopTimeoutMs: 30_000,
    containerStartTimeoutMs: 180_000,
    containerCreateTimeoutMs: 240_000,
    imagePullTimeoutMs: 7_200_000,
    imagePullInactivityTimeoutMs: 60_000,
    manifestPullTimeoutMs: 60_000,
    reservedMemoryMiB: 0,
    enableTaskCpuMemLimit: true,
    enableTaskCpuMemLimitExplicit: false,
    cgroupPath: '/sys/fs/cgroup',
    cgroupCpuPeriodMs: 100,
    imagePullBehavior: 'default',
    engineTaskCleanupWaitDurationMs: 10_800_000,
    engineTaskCleanupWaitDurationJitterMs: 0,
    imageCleanupIntervalMs: 1_800_000,
    imageMinimumCleanupAgeMs: 3_600_000,
    numImagesDeletePerCycle: 5,
    numNonEcsContainersDeletePerCycle: 5,
    disableImageCleanup: false,
    pollingMetricsWaitDurationMs: 10_000,
    enableHighDensityEni: true,
    excludeIpv6PortBinding: true,
    enableFirelensAsync: true,
    configFilePath: '/etc/ecs/ecs.config',
    pollIntervalMs: 1000,
    resyncIntervalMs: 300_000,
    maxConcurrentReconciles: 10,
    maxConcurrentDockerMutations: 10,
    imageGcHighPercent: 85,
    imageGcLowPercent: 80,
  });
  t.deepEqual(config.pinnedImages, []);
  t.deepEqual(config.prepullImages, []);
  t.deepEqual(config.reservedPorts, [22, 2375, 2376, 51678, 51679]);
  t.deepEqual(config.reservedPortsUdp, []);
  t.deepEqual(config.availableLoggingDrivers, ['json-file', 'none']);
  t.deepEqual(config.taskMetadataRpsLimit, { steady: 40, burst: 60 });
  t.deepEqual(config.instanceAttributes, {});
  t.deepEqual(config.containerInstanceTags, {});
  t.deepEqual(config.metricsAddress, { host: '127.0.0.1', port: 51680 });
  t.deepEqual(config.introspectionAddress, { host: '127.0.0.1', port: 51678 });
  t.deepEqual(config.taskMetadataAddress, { host: '127.0.0.1', port: 51679 });
  for (const unset of ['awsRegion', 'backendHost', 'logFile', 'engineAuthData', 'dynamicHostPortRange', 'tasksDir']) {
    t.false(unset in config, unset);
  }
  t.is(config.taskPidsLimit, undefined);
});

test('every source is "default" when nothing is set', (t) => {
  const { sources } = load();
  t.true(Object.keys(sources).length > 100);
  t.deepEqual(new Set(Object.values(sources)), new Set(['default']));
});

test('an empty variable counts as unset: empty ECS_CLUSTER is "default"', (t) => {
  const { config, sources } = load({ ECS_CLUSTER: '', ECS_LOGLEVEL: '   ' });
  t.is(config.cluster, 'default');
  t.is(sources['ECS_CLUSTER'], 'default');
  t.is(config.logLevel, 'info');
});

test('the config object is deeply frozen', (t) => {
  const { config } = load({ ECS_INSTANCE_ATTRIBUTES: '{"stack":"prod"}' });
  t.true(Object.isFrozen(config));
  t.true(Object.isFrozen(config.reservedPorts));
  t.true(Object.isFrozen(config.metricsAddress));
  t.true(Object.isFrozen(config.instanceAttributes));
  t.throws(() => {
    (config as { cluster: string }).cluster = 'other';
  });
  t.throws(() => {
    config.reservedPorts.push(1);
  });
  t.throws(() => {
    (config.instanceAttributes as Record<string, string>)['x'] = 'y';
  });
});

test('two loads do not share mutable state through the defaults', (t) => {
  const first = load({ ECS_ENABLE_PROMETHEUS_METRICS: 'true' });
  const second = load();
  t.true(first.config.reservedPorts.includes(51680));
  t.false(second.config.reservedPorts.includes(51680));
});

test('the schema maps each variable to a distinct AgentConfig field, and every default lands in the config', (t) => {
  const { config } = load();
  const fields = new Set<string>();
  for (const spec of configSchema().specs.values()) {
    t.false(fields.has(spec.field), `${spec.variable}: field ${spec.field} used twice`);
    fields.add(spec.field);
    if (spec.defaultValue !== undefined || spec.derivedDefault !== undefined) {
      t.true(spec.field in config, `${spec.variable} → ${spec.field} missing from the config`);
    }
  }
});

test('the upstream README variables and the fact-sheet Linux ones are all known', (t) => {
  const known = new Set(configSchema().specs.keys());
  const expected = [
    'ECS_CLUSTER',
    'ECS_RESERVED_PORTS',
    'ECS_RESERVED_PORTS_UDP',
    'ECS_ENGINE_AUTH_TYPE',
    'ECS_ENGINE_AUTH_DATA',
    'AWS_DEFAULT_REGION',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'DOCKER_HOST',
    'ECS_LOGLEVEL',
    'ECS_LOGLEVEL_ON_INSTANCE',
    'ECS_LOGFILE',
    'ECS_CHECKPOINT',
    'ECS_DATADIR',
    'ECS_UPDATES_ENABLED',
    'ECS_DISABLE_METRICS',
    'ECS_POLL_METRICS',
    'ECS_POLLING_METRICS_WAIT_DURATION',
    'ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT',
    'ECS_RESERVED_MEMORY',
    'ECS_AVAILABLE_LOGGING_DRIVERS',
    'ECS_DISABLE_PRIVILEGED',
    'ECS_SELINUX_CAPABLE',
    'ECS_APPARMOR_CAPABLE',
    'ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION',
    'ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION_JITTER',
    'ECS_MANIFEST_PULL_TIMEOUT',
    'ECS_CONTAINER_STOP_TIMEOUT',
    'ECS_CONTAINER_START_TIMEOUT',
    'ECS_CONTAINER_CREATE_TIMEOUT',
    'ECS_ENABLE_TASK_IAM_ROLE',
    'ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST',
    'ECS_DISABLE_IMAGE_CLEANUP',
    'ECS_IMAGE_CLEANUP_INTERVAL',
    'ECS_IMAGE_MINIMUM_CLEANUP_AGE',
    'NON_ECS_IMAGE_MINIMUM_CLEANUP_AGE',
    'ECS_NUM_IMAGES_DELETE_PER_CYCLE',
    'ECS_IMAGE_PULL_BEHAVIOR',
    'ECS_IMAGE_PULL_INACTIVITY_TIMEOUT',
    'ECS_IMAGE_PULL_TIMEOUT',
    'ECS_INSTANCE_ATTRIBUTES',
    'ECS_ENABLE_TASK_ENI',
    'ECS_ENABLE_HIGH_DENSITY_ENI',
    'ECS_CNI_PLUGINS_PATH',
    'ECS_AWSVPC_BLOCK_IMDS',
    'ECS_AWSVPC_ADDITIONAL_LOCAL_ROUTES',
    'ECS_ENABLE_CONTAINER_METADATA',
    'ECS_HOST_DATA_DIR',
    'ECS_ENABLE_TASK_CPU_MEM_LIMIT',
    'ECS_CGROUP_PATH',
    'ECS_CGROUP_CPU_PERIOD',
    'ECS_AGENT_HEALTHCHECK_HOST',
    'ECS_TASK_METADATA_RPS_LIMIT',
    'ECS_SHARED_VOLUME_MATCH_FULL_CONFIG',
    'ECS_CONTAINER_INSTANCE_PROPAGATE_TAGS_FROM',
    'ECS_CONTAINER_INSTANCE_TAGS',
    'ECS_ENABLE_UNTRACKED_IMAGE_CLEANUP',
    'ECS_EXCLUDE_UNTRACKED_IMAGE',
    'ECS_DISABLE_DOCKER_HEALTH_CHECK',
    'ECS_NVIDIA_RUNTIME',
    'ECS_ALTERNATE_CREDENTIAL_PROFILE',
    'ECS_ENABLE_SPOT_INSTANCE_DRAINING',
    'ECS_LOG_ROLLOVER_TYPE',
    'ECS_LOG_OUTPUT_FORMAT',
    'ECS_LOG_MAX_FILE_SIZE_MB',
    'ECS_LOG_MAX_ROLL_COUNT',
    'ECS_LOG_DRIVER',
    'ECS_LOG_OPTS',
    'ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE',
    'ECS_FSX_WINDOWS_FILE_SERVER_SUPPORTED',
    'ECS_BACKEND_HOST',
    'ECS_EXTERNAL',
    'ECS_DYNAMIC_HOST_PORT_RANGE',
    'ECS_TASK_PIDS_LIMIT',
  ];
  t.deepEqual(
    expected.filter((name) => !known.has(name)),
    [],
  );
});

test('AgentConfig fields used by the agent have the documented types', (t) => {
  const { config } = load({ ECS_DYNAMIC_HOST_PORT_RANGE: '40000-40100', ECS_TASK_PIDS_LIMIT: '100' });
  const typed: Pick<AgentConfig, 'dynamicHostPortRange' | 'taskPidsLimit'> = config;
  t.deepEqual(typed.dynamicHostPortRange, { startPort: 40000, endPort: 40100 });
  t.is(typed.taskPidsLimit, 100);
});
