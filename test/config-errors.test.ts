// Malformed values are rejected — every one in a single ConfigError, each issue naming the variable, the
// value and what is expected — and the error is terminal (exit code 5).
import test from 'ava';
import { CONFIG_EXIT_CODE, ConfigError, type ConfigIssue, loadConfig } from '../src/config/index.js';
import { EcsdError } from '../src/errors.js';

function rejected(env: Record<string, string>, fileText?: string): ConfigError {
  try {
    loadConfig({ env, readFile: () => fileText });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const malformed: Array<{ variable: string; value: string; expected: RegExp }> = [
  { variable: 'ECS_CONTAINER_STOP_TIMEOUT', value: '30', expected: /Go duration.*missing unit/ },
  { variable: 'ECS_IMAGE_CLEANUP_INTERVAL', value: 'ten minutes', expected: /Go duration/ },
  { variable: 'ECS_CHECKPOINT', value: 'yes', expected: /boolean/ },
  { variable: 'ECS_ENABLE_TASK_IAM_ROLE', value: 'on', expected: /boolean/ },
  { variable: 'ECS_RESERVED_PORTS', value: '[22,80', expected: /JSON array.*invalid JSON/ },
  { variable: 'ECS_RESERVED_PORTS', value: '22,80', expected: /JSON array/ },
  { variable: 'ECS_RESERVED_PORTS', value: '[22,"http"]', expected: /item 1 must be an integer/ },
  { variable: 'ECS_RESERVED_PORTS', value: '[22,65536]', expected: /item 1 must be at most 65535/ },
  { variable: 'ECS_RESERVED_PORTS_UDP', value: '[-1]', expected: /item 0 must be at least 0/ },
  {
    variable: 'ECS_AVAILABLE_LOGGING_DRIVERS',
    value: '["json-file","carrier-pigeon"]',
    expected: /item 1 must be one of/,
  },
  {
    variable: 'ECS_AWSVPC_ADDITIONAL_LOCAL_ROUTES',
    value: '["300.300.300.300/64"]',
    expected: /item 0 must be a valid cidr/,
  },
  { variable: 'ECS_INSTANCE_ATTRIBUTES', value: 'This is not valid JSON', expected: /JSON object/ },
  { variable: 'ECS_INSTANCE_ATTRIBUTES', value: '["a"]', expected: /not a JSON object/ },
  { variable: 'ECS_CONTAINER_INSTANCE_TAGS', value: '{"k":1}', expected: /key "k" must be a string/ },
  { variable: 'ECS_DYNAMIC_HOST_PORT_RANGE', value: '100:200', expected: /start-end/ },
  {
    variable: 'ECS_DYNAMIC_HOST_PORT_RANGE',
    value: '0-70000',
    expected: /startPort must be at least 1; endPort must be at most 65535/,
  },
  { variable: 'ECS_DYNAMIC_HOST_PORT_RANGE', value: '300-200', expected: /start port is greater than end port/ },
  { variable: 'ECSD_METRICS_ADDRESS', value: '127.0.0.1:70000', expected: /port must be at most 65535/ },
  { variable: 'ECSD_INTROSPECTION_ADDRESS', value: 'localhost', expected: /host:port/ },
  { variable: 'ECS_IMAGE_PULL_BEHAVIOR', value: 'sometimes', expected: /one of default, always, once, prefer-cached/ },
  {
    variable: 'ECS_LOGLEVEL',
    value: 'verbose',
    expected: /one of debug, info, warn, error, crit, off, critical, none/,
  },
  { variable: 'ECS_LOG_ROLLOVER_TYPE', value: 'weekly', expected: /one of size, hourly, none, date/ },
  { variable: 'ECS_LOG_OUTPUT_FORMAT', value: 'xml', expected: /one of logfmt, json/ },
  { variable: 'ECS_ENGINE_AUTH_TYPE', value: 'basic', expected: /one of docker, dockercfg/ },
  { variable: 'ECS_RESERVED_MEMORY', value: '32MiB', expected: /integer/ },
  { variable: 'ECS_NUM_IMAGES_DELETE_PER_CYCLE', value: '2.5', expected: /integer/ },
  { variable: 'ECS_LOG_MAX_FILE_SIZE_MB', value: 'ten', expected: /number/ },
  { variable: 'ECS_LOG_MAX_ROLL_COUNT', value: '-1', expected: /must be at least 0/ },
  { variable: 'ECS_TASK_METADATA_RPS_LIMIT', value: '10', expected: /steady,burst/ },
  { variable: 'ECS_TASK_METADATA_RPS_LIMIT', value: '10,x', expected: /steady,burst/ },
  { variable: 'ECS_IMAGE_PULL_TIMEOUT', value: '-1h', expected: /must be at least 0s/ },
  { variable: 'ECSD_POLL_INTERVAL', value: '10ms', expected: /must be at least 50ms/ },
  { variable: 'ECSD_RESYNC_INTERVAL', value: '5s', expected: /must be at least 10s/ },
  { variable: 'ECSD_MAX_CONCURRENT_RECONCILES', value: '0', expected: /must be at least 1/ },
  { variable: 'ECSD_MAX_CONCURRENT_RECONCILES', value: '257', expected: /must be at most 256/ },
  { variable: 'ECSD_IMAGE_GC_HIGH_PERCENT', value: '101', expected: /must be at most 100/ },
  { variable: 'ECSD_IMAGE_GC_HIGH_PERCENT', value: '85%', expected: /integer/ },
  { variable: 'ECSD_IMAGE_GC_LOW_PERCENT', value: '-1', expected: /must be at least 0/ },
  { variable: 'ECSD_PINNED_IMAGES', value: '["busybox:latest"', expected: /JSON array.*invalid JSON/ },
  { variable: 'ECSD_PINNED_IMAGES', value: '["busybox:latest",3]', expected: /item 1 must be a string/ },
  { variable: 'ECSD_PREPULL_IMAGES', value: '[""]', expected: /item 0 must NOT have fewer than 1 characters/ },
  { variable: 'DOCKER_HOST', value: '/var/run/docker.sock', expected: /unix:\/\/\/var\/run\/docker.sock/ },
];

for (const c of malformed) {
  test(`${c.variable}=${c.value} is rejected, naming the variable`, (t) => {
    const error = rejected({ [c.variable]: c.value });
    t.is(error.issues.length, 1);
    const issue = error.issues[0]!;
    t.is(issue.variable, c.variable);
    t.is(issue.value, c.value);
    t.is(issue.source, 'env');
    t.regex(issue.expected, c.expected);
    t.true(error.message.includes(c.variable));
  });
}

test('every invalid value is reported at once, from the environment and the file, one per line', (t) => {
  const env = Object.fromEntries(malformed.map((c) => [c.variable, c.value]));
  const error = rejected(env, 'ECS_CONTAINER_START_TIMEOUT=soon\nECSD_POLL_INTERVALL=1s\n');
  const variables = new Set(error.issues.map((issue) => issue.variable));
  for (const c of malformed) t.true(variables.has(c.variable), c.variable);
  t.true(variables.has('ECS_CONTAINER_START_TIMEOUT'));
  t.true(variables.has('ECSD_POLL_INTERVALL'));
  t.is(error.issues.find((issue) => issue.variable === 'ECS_CONTAINER_START_TIMEOUT')?.source, 'file');
  const lines = error.message.split('\n');
  t.is(lines.length, error.issues.length + 1);
  t.regex(lines[0]!, new RegExp(`^${error.issues.length} invalid configuration values:$`));
});

test('the disk-pressure low watermark must be below the high one, whichever of the two was set', (t) => {
  const lowAtHigh = rejected({ ECSD_IMAGE_GC_LOW_PERCENT: '85' });
  t.like(lowAtHigh.issues, [{ variable: 'ECSD_IMAGE_GC_LOW_PERCENT', value: '85', source: 'env' }]);
  t.regex(lowAtHigh.issues[0]!.expected, /LOW_PERCENT \(85\) below ECSD_IMAGE_GC_HIGH_PERCENT \(85\)/);
  // Only high set, below the default low (80): the variable that was given is the one named.
  const highBelowLow = rejected({ ECSD_IMAGE_GC_HIGH_PERCENT: '70' });
  t.like(highBelowLow.issues, [{ variable: 'ECSD_IMAGE_GC_HIGH_PERCENT', value: '70', source: 'env' }]);
  t.regex(highBelowLow.issues[0]!.expected, /LOW_PERCENT \(80\) below ECSD_IMAGE_GC_HIGH_PERCENT \(70\)/);
  t.is(rejected({ ECSD_IMAGE_GC_HIGH_PERCENT: '50', ECSD_IMAGE_GC_LOW_PERCENT: '60' }).issues.length, 1);
});

test('an unknown ECSD_ variable is an error that suggests the closest name', (t) => {
  const error = rejected({ ECSD_TASK_DIR: '/tasks', ECSD_NONSENSE_XYZ: '1' });
  const byName = new Map(error.issues.map((issue): [string, ConfigIssue] => [issue.variable, issue]));
  t.regex(byName.get('ECSD_TASK_DIR')?.expected ?? '', /did you mean ECSD_TASKS_DIR\?/);
  t.notRegex(byName.get('ECSD_NONSENSE_XYZ')?.expected ?? '', /did you mean/);
  t.is(byName.get('ECSD_TASK_DIR')?.value, '/tasks');
});

test('a flag value is validated like the variable it overrides', (t) => {
  const error = t.throws(() => loadConfig({ env: {}, flags: { logLevel: 'loud' }, readFile: () => undefined }), {
    instanceOf: ConfigError,
  });
  t.deepEqual(
    error?.issues.map((issue) => [issue.variable, issue.source]),
    [
      ['ECS_LOGLEVEL', 'flag'],
      ['ECS_LOGLEVEL_ON_INSTANCE', 'flag'],
    ],
  );
});

test('ECS_EXTERNAL=true without AWS_DEFAULT_REGION is rejected (fact sheet 10)', (t) => {
  const error = rejected({ ECS_EXTERNAL: 'true' });
  t.is(error.issues[0]?.variable, 'AWS_DEFAULT_REGION');
  t.notThrows(() =>
    loadConfig({ env: { ECS_EXTERNAL: 'true', AWS_DEFAULT_REGION: 'us-west-2' }, readFile: () => undefined }),
  );
});

test('a secret never appears in an error, even when malformed', (t) => {
  const error = rejected({
    ECS_ENGINE_AUTH_TYPE: 'bogus',
    ECS_ENGINE_AUTH_DATA: 'hunter2-secret',
    ECS_CHECKPOINT: 'x',
  });
  t.false(error.message.includes('hunter2'));
  t.false(JSON.stringify(error.issues).includes('hunter2'));
});

test('ConfigError is a terminal EcsdError with code ConfigError, and the exit code is 5', (t) => {
  const error = rejected({ ECS_CHECKPOINT: 'maybe' });
  t.true(error instanceof EcsdError);
  t.is(error.code, 'ConfigError');
  t.is(error.errorClass, 'terminal');
  t.true(error.terminal);
  t.is(CONFIG_EXIT_CODE, 5);
  t.true(Object.isFrozen(error.issues));
});

test('ConfigError can be built directly with a message and issues', (t) => {
  const error = new ConfigError('no tasks dir', {
    issues: [{ variable: 'ECSD_TASKS_DIR', value: '', expected: 'a directory' }],
  });
  t.is(error.message, 'no tasks dir');
  t.is(error.issues[0]?.variable, 'ECSD_TASKS_DIR');
  t.deepEqual(error.context['variables'], ['ECSD_TASKS_DIR']);
});
