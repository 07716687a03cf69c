// The text parsers behind every variable: Go durations, Go booleans, ecs.config lines.
import test from 'ava';
import { formatDurationMs, loadConfig, parseEcsConfigFile, parseGoBool, parseGoDuration } from '../src/config/index.js';
import { parseImageList } from '../src/config/scalars.js';

const durations: Array<[string, number]> = [
  ['10m', 600_000],
  ['1h30m', 5_400_000],
  ['500ms', 500],
  ['1.5h', 5_400_000],
  ['90s', 90_000],
  ['.5s', 500],
  ['1.s', 1000],
  ['2h45m30.5s', 9_930_500],
  ['1500us', 1.5],
  ['1500µs', 1.5],
  ['1500μs', 1.5],
  ['2000000ns', 2],
  ['0', 0],
  ['-10s', -10_000],
  ['+3m', 180_000],
  ['-0', 0],
];
for (const [text, ms] of durations) {
  test(`duration ${text} is ${ms}ms`, (t) => {
    t.deepEqual(parseGoDuration(text), { ok: true, ms });
  });
}

for (const text of ['', '10', '1.5', 'abc', 'm', '.s', '1x', '1h 30m', '1d', '5 s', 'ms10', '-', '1e3s']) {
  test(`duration ${JSON.stringify(text)} is rejected`, (t) => {
    t.false(parseGoDuration(text).ok);
  });
}

test('a duration beyond int64 nanoseconds is rejected, as in Go', (t) => {
  t.true(parseGoDuration('2562047h').ok);
  t.false(parseGoDuration('2562048h').ok);
});

test('formatted durations are short and parse back to the same value', (t) => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [500, '500ms'],
    [1500, '1.5s'],
    [90_000, '1m30s'],
    [10_800_000, '3h'],
    [5_400_000, '1h30m'],
    [0.25, '250us'],
  ];
  for (const [ms, text] of cases) {
    t.is(formatDurationMs(ms), text);
    t.deepEqual(parseGoDuration(text), { ok: true, ms });
  }
});

test('booleans accept exactly the spellings of Go strconv.ParseBool', (t) => {
  for (const text of ['1', 't', 'T', 'TRUE', 'true', 'True']) t.deepEqual(parseGoBool(text), { ok: true, value: true });
  for (const text of ['0', 'f', 'F', 'FALSE', 'false', 'False']) {
    t.deepEqual(parseGoBool(text), { ok: true, value: false });
  }
  for (const text of ['yes', 'no', 'on', 'tRuE', 'y', '2', '']) t.false(parseGoBool(text).ok, text);
});

test('ecs.config lines split at the first "=", are trimmed, and lines without "=" or starting with # are skipped', (t) => {
  const file = parseEcsConfigFile(
    [
      'ECS_CLUSTER=prod',
      '  ECS_LOGLEVEL = debug  ',
      '# ECS_CLUSTER=commented',
      'ECS_INSTANCE_ATTRIBUTES={"a":"b=c"}',
      'not a setting',
      '',
      'ECS_ENGINE_AUTH_DATA="quoted"',
      'ECS_CLUSTER=later-wins',
      '=no-key',
    ].join('\r\n'),
  );
  t.deepEqual(Object.fromEntries(file), {
    ECS_CLUSTER: 'later-wins',
    ECS_LOGLEVEL: 'debug',
    ECS_INSTANCE_ATTRIBUTES: '{"a":"b=c"}',
    ECS_ENGINE_AUTH_DATA: '"quoted"',
  });
});

test('image lists (ECSD_PINNED_IMAGES, ECSD_PREPULL_IMAGES) read as a comma list or as a JSON array', (t) => {
  const load = (env: Record<string, string>) => loadConfig({ env, readFile: () => undefined }).config;
  t.deepEqual(load({ ECSD_PINNED_IMAGES: ' busybox:latest, 127.0.0.1:5000/app@sha256:abc ,' }).pinnedImages, [
    'busybox:latest',
    '127.0.0.1:5000/app@sha256:abc',
  ]);
  t.deepEqual(load({ ECSD_PREPULL_IMAGES: '["busybox:latest", "nginx:1.25"]' }).prepullImages, [
    'busybox:latest',
    'nginx:1.25',
  ]);
  t.deepEqual(parseImageList('a,b'), { ok: true, value: ['a', 'b'] });
  t.false(parseImageList('[a,b]').ok, 'text starting with [ is JSON, so a broken array is an error');
});

test('the disk-pressure watermarks: low below high is accepted', (t) => {
  const { config } = loadConfig({
    env: { ECSD_IMAGE_GC_HIGH_PERCENT: '95', ECSD_IMAGE_GC_LOW_PERCENT: '90' },
    readFile: () => undefined,
  });
  t.is(config.imageGcHighPercent, 95);
  t.is(config.imageGcLowPercent, 90);
});
