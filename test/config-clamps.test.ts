// Every value upstream silently corrects: to the limit or to the default, per variable, with one warning
// naming the variable, the value given and the value used.
import test from 'ava';
import { configSchema, loadConfig } from '../src/config/index.js';

interface ClampCase {
  variable: string;
  given: string;
  field: string;
  /** undefined: the variable ends up unset. */
  expected: unknown;
  /** Text the warning must contain besides the variable; null: no warning. */
  warning: string | null;
}

const cases: ClampCase[] = [
  // README: polling metrics wait is clamped into [5s, 20s].
  {
    variable: 'ECS_POLLING_METRICS_WAIT_DURATION',
    given: '1s',
    field: 'pollingMetricsWaitDurationMs',
    expected: 5_000,
    warning: 'using 5s',
  },
  {
    variable: 'ECS_POLLING_METRICS_WAIT_DURATION',
    given: '21s',
    field: 'pollingMetricsWaitDurationMs',
    expected: 20_000,
    warning: 'using 20s',
  },
  {
    variable: 'ECS_POLLING_METRICS_WAIT_DURATION',
    given: '0s',
    field: 'pollingMetricsWaitDurationMs',
    expected: 10_000,
    warning: 'default 10s',
  },
  {
    variable: 'ECS_POLLING_METRICS_WAIT_DURATION',
    given: '20s',
    field: 'pollingMetricsWaitDurationMs',
    expected: 20_000,
    warning: null,
  },
  // uint16: anything outside 0-65535 is 0.
  { variable: 'ECS_RESERVED_MEMORY', given: '-1', field: 'reservedMemoryMiB', expected: 0, warning: 'default 0' },
  { variable: 'ECS_RESERVED_MEMORY', given: '70000', field: 'reservedMemoryMiB', expected: 0, warning: 'default 0' },
  { variable: 'ECS_RESERVED_MEMORY', given: '65535', field: 'reservedMemoryMiB', expected: 65_535, warning: null },
  // Fact sheet 8: below 1s → 3h.
  {
    variable: 'ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION',
    given: '500ms',
    field: 'engineTaskCleanupWaitDurationMs',
    expected: 10_800_000,
    warning: 'default 3h',
  },
  {
    variable: 'ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION',
    given: '0',
    field: 'engineTaskCleanupWaitDurationMs',
    expected: 10_800_000,
    warning: 'default 3h',
  },
  {
    variable: 'ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION',
    given: '1s',
    field: 'engineTaskCleanupWaitDurationMs',
    expected: 1_000,
    warning: null,
  },
  // Fact sheet 4.9 minimums: below → the minimum; zero → the default.
  {
    variable: 'ECS_MANIFEST_PULL_TIMEOUT',
    given: '10s',
    field: 'manifestPullTimeoutMs',
    expected: 30_000,
    warning: 'using 30s',
  },
  {
    variable: 'ECS_MANIFEST_PULL_TIMEOUT',
    given: '0s',
    field: 'manifestPullTimeoutMs',
    expected: 60_000,
    warning: 'default 1m',
  },
  {
    variable: 'ECS_CONTAINER_STOP_TIMEOUT',
    given: '500ms',
    field: 'containerStopTimeoutMs',
    expected: 1_000,
    warning: 'using 1s',
  },
  {
    variable: 'ECS_CONTAINER_STOP_TIMEOUT',
    given: '-10s',
    field: 'containerStopTimeoutMs',
    expected: 1_000,
    warning: 'using 1s',
  },
  {
    variable: 'ECS_CONTAINER_STOP_TIMEOUT',
    given: '0s',
    field: 'containerStopTimeoutMs',
    expected: 30_000,
    warning: 'default 30s',
  },
  {
    variable: 'ECS_CONTAINER_START_TIMEOUT',
    given: '10s',
    field: 'containerStartTimeoutMs',
    expected: 45_000,
    warning: 'using 45s',
  },
  {
    variable: 'ECS_CONTAINER_START_TIMEOUT',
    given: '0s',
    field: 'containerStartTimeoutMs',
    expected: 180_000,
    warning: 'default 3m',
  },
  {
    variable: 'ECS_CONTAINER_CREATE_TIMEOUT',
    given: '30s',
    field: 'containerCreateTimeoutMs',
    expected: 60_000,
    warning: 'using 1m',
  },
  {
    variable: 'ECS_CONTAINER_CREATE_TIMEOUT',
    given: '-10s',
    field: 'containerCreateTimeoutMs',
    expected: 60_000,
    warning: 'using 1m',
  },
  {
    variable: 'ECS_CONTAINER_CREATE_TIMEOUT',
    given: '0s',
    field: 'containerCreateTimeoutMs',
    expected: 240_000,
    warning: 'default 4m',
  },
  {
    variable: 'ECS_CONTAINER_CREATE_TIMEOUT',
    given: '1m',
    field: 'containerCreateTimeoutMs',
    expected: 60_000,
    warning: null,
  },
  {
    variable: 'ECS_IMAGE_PULL_INACTIVITY_TIMEOUT',
    given: '5s',
    field: 'imagePullInactivityTimeoutMs',
    expected: 60_000,
    warning: 'using 1m',
  },
  {
    variable: 'ECS_IMAGE_PULL_INACTIVITY_TIMEOUT',
    given: '-10s',
    field: 'imagePullInactivityTimeoutMs',
    expected: 60_000,
    warning: 'using 1m',
  },
  // Fact sheet 7.4 / README: cleanup interval below 10m and a per-cycle count below 1 are ignored.
  {
    variable: 'ECS_IMAGE_CLEANUP_INTERVAL',
    given: '1m',
    field: 'imageCleanupIntervalMs',
    expected: 1_800_000,
    warning: 'default 30m',
  },
  {
    variable: 'ECS_IMAGE_CLEANUP_INTERVAL',
    given: '10m',
    field: 'imageCleanupIntervalMs',
    expected: 600_000,
    warning: null,
  },
  {
    variable: 'ECS_NUM_IMAGES_DELETE_PER_CYCLE',
    given: '-1',
    field: 'numImagesDeletePerCycle',
    expected: 5,
    warning: 'default 5',
  },
  {
    variable: 'ECS_NUM_IMAGES_DELETE_PER_CYCLE',
    given: '0',
    field: 'numImagesDeletePerCycle',
    expected: 5,
    warning: 'default 5',
  },
  // Fact sheet 9: cpu period outside [8ms, 100ms] → 100ms.
  {
    variable: 'ECS_CGROUP_CPU_PERIOD',
    given: '5ms',
    field: 'cgroupCpuPeriodMs',
    expected: 100,
    warning: 'default 100ms',
  },
  {
    variable: 'ECS_CGROUP_CPU_PERIOD',
    given: '200ms',
    field: 'cgroupCpuPeriodMs',
    expected: 100,
    warning: 'default 100ms',
  },
  { variable: 'ECS_CGROUP_CPU_PERIOD', given: '10ms', field: 'cgroupCpuPeriodMs', expected: 10, warning: null },
  // Fact sheet 5.5: a rate at or below 0 → 40,60.
  {
    variable: 'ECS_TASK_METADATA_RPS_LIMIT',
    given: '-10,10',
    field: 'taskMetadataRpsLimit',
    expected: { steady: 40, burst: 60 },
    warning: 'default 40,60',
  },
  {
    variable: 'ECS_TASK_METADATA_RPS_LIMIT',
    given: '10,0',
    field: 'taskMetadataRpsLimit',
    expected: { steady: 40, burst: 60 },
    warning: 'default 40,60',
  },
  {
    variable: 'ECS_TASK_METADATA_RPS_LIMIT',
    given: '  10 ,5  ',
    field: 'taskMetadataRpsLimit',
    expected: { steady: 10, burst: 5 },
    warning: null,
  },
  // Fact sheet 11: a size at or below 0 is ignored.
  { variable: 'ECS_LOG_MAX_FILE_SIZE_MB', given: '0', field: 'logMaxFileSizeMB', expected: 5, warning: 'default 5' },
  { variable: 'ECS_LOG_MAX_FILE_SIZE_MB', given: '-2.5', field: 'logMaxFileSizeMB', expected: 5, warning: 'default 5' },
  { variable: 'ECS_LOG_MAX_FILE_SIZE_MB', given: '0.5', field: 'logMaxFileSizeMB', expected: 0.5, warning: null },
  // README: pids limit outside 1-4194304 means unlimited.
  { variable: 'ECS_TASK_PIDS_LIMIT', given: '0', field: 'taskPidsLimit', expected: undefined, warning: 'left unset' },
  {
    variable: 'ECS_TASK_PIDS_LIMIT',
    given: '4194305',
    field: 'taskPidsLimit',
    expected: undefined,
    warning: 'left unset',
  },
  { variable: 'ECS_TASK_PIDS_LIMIT', given: '4194304', field: 'taskPidsLimit', expected: 4_194_304, warning: null },
  // Upstream's zero-value merge: 0 or an empty list means "use the default".
  {
    variable: 'ECS_IMAGE_PULL_TIMEOUT',
    given: '0',
    field: 'imagePullTimeoutMs',
    expected: 7_200_000,
    warning: 'default 2h',
  },
  {
    variable: 'ECS_IMAGE_MINIMUM_CLEANUP_AGE',
    given: '0s',
    field: 'imageMinimumCleanupAgeMs',
    expected: 3_600_000,
    warning: 'default 1h',
  },
  {
    variable: 'NON_ECS_IMAGE_MINIMUM_CLEANUP_AGE',
    given: '0s',
    field: 'nonEcsImageMinimumCleanupAgeMs',
    expected: 3_600_000,
    warning: 'default 1h',
  },
  {
    variable: 'NONECS_NUM_CONTAINERS_DELETE_PER_CYCLE',
    given: '0',
    field: 'numNonEcsContainersDeletePerCycle',
    expected: 5,
    warning: 'default 5',
  },
  {
    variable: 'ECS_RESERVED_PORTS',
    given: '[]',
    field: 'reservedPorts',
    expected: [22, 2375, 2376, 51678, 51679],
    warning: 'default [22',
  },
  {
    variable: 'ECS_AVAILABLE_LOGGING_DRIVERS',
    given: '[]',
    field: 'availableLoggingDrivers',
    expected: ['json-file', 'none'],
    warning: 'default ["json-file"',
  },
];

for (const c of cases) {
  test(`${c.variable}=${c.given} → ${JSON.stringify(c.expected)}`, (t) => {
    const { config, warnings, sources } = loadConfig({ env: { [c.variable]: c.given }, readFile: () => undefined });
    t.deepEqual((config as unknown as Record<string, unknown>)[c.field], c.expected);
    t.is(sources[c.variable], 'env');
    if (c.warning === null) {
      t.deepEqual(warnings, []);
      return;
    }
    t.is(warnings.length, 1, 'exactly one warning');
    t.true(warnings[0]!.startsWith(`${c.variable}=`), warnings[0]);
    t.true(warnings[0]!.includes(c.warning), `"${warnings[0]}" should mention "${c.warning}"`);
  });
}

test('every clamped or zero-defaulted variable in the schema has a case above', (t) => {
  const covered = new Set(cases.map((c) => c.variable));
  const clamped = [...configSchema().specs.values()].filter(
    (spec) => spec.clampMin !== undefined || spec.clampMax !== undefined || spec.zeroDefault,
  );
  t.true(clamped.length >= 20);
  t.deepEqual(
    clamped.map((spec) => spec.variable).filter((variable) => !covered.has(variable)),
    [],
  );
});

test('the defaults themselves are never clamped', (t) => {
  t.deepEqual(loadConfig({ env: {}, readFile: () => undefined }).warnings, []);
});

test('ECS_ENABLE_PROMETHEUS_METRICS adds 51680 to the reserved ports, once', (t) => {
  const explicit = loadConfig({
    env: { ECS_ENABLE_PROMETHEUS_METRICS: 'true', ECS_RESERVED_PORTS: '[22,51680]' },
    readFile: () => undefined,
  });
  t.deepEqual(explicit.config.reservedPorts, [22, 51680]);
  const defaults = loadConfig({ env: { ECS_ENABLE_PROMETHEUS_METRICS: 'true' }, readFile: () => undefined });
  t.deepEqual(defaults.config.reservedPorts, [22, 2375, 2376, 51678, 51679, 51680]);
});
