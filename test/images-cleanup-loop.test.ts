/**
 * The image-cleanup loop: its plan (every deletion an action with its reason, between start-cycle and
 * finish-cycle), the cycle rules (a cycle ends: the re-plan after it is empty; requests join a waiting cycle;
 * a disk check during a running cycle is skipped), a refused removal skipped within the cycle, dry-run, the
 * sources-ready gate and the two schedules on a fake clock.
 */
import test from 'ava';
import {
  type CleanupAction,
  type CleanupActual,
  planCleanupCycle,
  SOURCES_READY_RECHECK_MS,
} from '../reconcilers/images/cleanup-actions.js';
import { CleanupCycles } from '../reconcilers/images/cleanup-cycles.js';
import { buildCleanupInput } from '../reconcilers/images/cleanup-input.js';
import type { ImageCleanupInput } from '../reconcilers/images/plan-cleanup.js';
import type { DockerEngine } from '../src/docker/types.js';
import { FakeClock } from './helpers/fake-clock.js';
import {
  cleanupLoop,
  container,
  disk,
  HOUR,
  memoryStore,
  NOW,
  observed,
  record,
  recordingEngine,
  SETTINGS,
} from './images-cleanup-fixtures.js';

/** Input with two old tracked images, an old non-ECS container and an old non-ECS image; disk as given. */
function input(usedBytes?: number): ImageCleanupInput {
  const store = memoryStore();
  store.putImage(record('sha256:a', ['a:1'], NOW - 5 * HOUR));
  store.putImage(record('sha256:b', ['b:1'], NOW - 4 * HOUR));
  return buildCleanupInput(
    {
      store,
      images: [observed('sha256:other', ['other:1'])],
      containers: [container('non-ecs', 'sha256:gone')],
    },
    { ...SETTINGS, config: { ...SETTINGS.config, numImagesDeletePerCycle: 2 } },
    {
      trigger: 'interval',
      nowMs: NOW,
      ...(usedBytes === undefined ? {} : { disk: { totalBytes: 1000, usedBytes } }),
    },
  );
}

const observedActual = (usedBytes?: number): CleanupActual => ({
  state: 'observed',
  startedCycle: 0,
  input: input(usedBytes),
});

const summary = (actions: readonly CleanupAction[]) => actions.map((action) => [action.kind, action.reason]);

const PLAN_CASES: Array<{
  name: string;
  desired: Parameters<typeof planCleanupCycle>[0];
  actual: CleanupActual;
  expect: Array<[string, RegExp]>;
  requeueAfterMs?: number;
}> = [
  { name: 'no cycle due', desired: undefined, actual: observedActual(), expect: [] },
  {
    name: 'the cycle is taken already',
    desired: { cycle: 3, trigger: 'interval' },
    actual: { ...observedActual(), startedCycle: 3 },
    expect: [],
  },
  {
    name: 'sources not ready: nothing, looked at again soon',
    desired: { cycle: 1, trigger: 'interval' },
    actual: { state: 'sources-not-ready', startedCycle: 0 },
    expect: [],
    requeueAfterMs: SOURCES_READY_RECHECK_MS,
  },
  {
    name: 'an interval cycle: tracked by age and count, then the untracked container (the untracked image is past the budget)',
    desired: { cycle: 1, trigger: 'interval' },
    actual: observedActual(),
    expect: [
      ['start-cycle', /^interval cycle 1: 3 deletion\(s\) planned \(disk use unknown\)$/],
      [
        'remove-image',
        /^interval cycle 1, image 1 of at most 2 per cycle \(ECS_NUM_IMAGES_DELETE_PER_CYCLE\): least recently used image a:1 \(last used 5h00m ago\), unused, pulled 5h00m ago, more than ECS_IMAGE_MINIMUM_CLEANUP_AGE \(1h00m\)$/,
      ],
      ['remove-image', /^interval cycle 1, image 2 of at most 2 per cycle .*image b:1 .*pulled 4h00m ago/],
      [
        'remove-container',
        /^interval cycle 1, untracked container 1 of at most 5 per cycle \(NONECS_NUM_CONTAINERS_DELETE_PER_CYCLE\): non-ECS container non-ecs is exited and finished more than 3h00m ago$/,
      ],
      // Two tracked removals spent the per-cycle number: the untracked image would need a third.
      ['finish-cycle', /^interval cycle 1: done after its 3 deletion\(s\)$/],
    ],
  },
  {
    name: 'a disk-pressure cycle: only what the watermarks ask for, with the percentages',
    desired: { cycle: 2, trigger: 'disk-pressure' },
    actual: observedActual(900),
    expect: [
      ['start-cycle', /^disk-pressure cycle 2: 1 deletion\(s\) planned \(disk 90\.0 % used, projected 80\.0 %\)$/],
      [
        'remove-image',
        /^disk-pressure cycle 2, disk-pressure removal 1, beyond the per-cycle number: disk pressure: 90\.0 % used, at or above ECSD_IMAGE_GC_HIGH_PERCENT \(85\); removing the least recently used image a:1 \(projected 90\.0 → 80\.0 %, target ECSD_IMAGE_GC_LOW_PERCENT 80\)$/,
      ],
      ['finish-cycle', /^disk-pressure cycle 2: done after its 1 deletion\(s\)$/],
    ],
  },
];

for (const { name, desired, actual, expect, requeueAfterMs } of PLAN_CASES) {
  test(`plan: ${name}`, (t) => {
    const plan = planCleanupCycle(desired, actual, NOW);
    const got = summary(plan.actions);
    t.deepEqual(
      got.map(([kind]) => kind),
      expect.map(([kind]) => kind),
    );
    expect.forEach(([, reason], i) => {
      t.regex(String(got[i]?.[1]), reason);
    });
    t.is(plan.requeueAfterMs, requeueAfterMs);
  });
}

test('plan: the untracked image is planned when the tracked ones leave room, with the budget it used', (t) => {
  const actual = observedActual();
  if (actual.state !== 'observed') return t.fail();
  const roomy = {
    ...actual,
    input: { ...actual.input, config: { ...actual.input.config, numImagesDeletePerCycle: 3 } },
  };
  const image = planCleanupCycle({ cycle: 1, trigger: 'interval' }, roomy, NOW).actions.find(
    (action) => action.kind === 'remove-image' && action.deletion.step === 'untracked',
  );
  t.regex(
    String(image?.reason),
    /^interval cycle 1, untracked image 1 \(ECS_ENABLE_UNTRACKED_IMAGE_CLEANUP\), within ECS_NUM_IMAGES_DELETE_PER_CYCLE \(3\) less the tracked removals: non-ECS image other:1 \(sha256:other\)/,
  );
});

test('cycles: a request joins a waiting cycle (interval wins); during a running one a disk check is skipped', (t) => {
  const cycles = new CleanupCycles();
  t.is(cycles.request('disk-pressure'), 'new');
  t.is(cycles.request('interval'), 'joined');
  t.deepEqual(cycles.due(), { cycle: 1, trigger: 'interval' });
  t.is(cycles.request('disk-pressure'), 'joined');
  t.deepEqual(cycles.due(), { cycle: 1, trigger: 'interval' });
  cycles.start({ cycle: 1, trigger: 'interval' }, 2);
  t.is(cycles.startedCycle(), 1);
  t.is(cycles.request('disk-pressure'), 'skipped-cycle-running');
  t.is(cycles.request('interval'), 'new', 'an interval request is never lost: it runs after this cycle');
  t.deepEqual(cycles.due(), { cycle: 2, trigger: 'interval' });
  t.is(cycles.finish(1)?.planned, 2);
  t.is(cycles.request('disk-pressure'), 'joined');
});

test('a cycle ends: the re-plan after its deletions is empty, and the per-cycle number holds', async (t) => {
  const store = memoryStore();
  for (const [i, id] of ['a', 'b', 'c'].entries())
    store.putImage(record(`sha256:${id}`, [`${id}:1`], NOW - (5 - i) * HOUR));
  const { engine, removed } = recordingEngine();
  let slots = 0;
  const { cleanup, metrics } = cleanupLoop(store, engine, {
    overrides: {
      settings: { ...SETTINGS, config: { ...SETTINGS.config, numImagesDeletePerCycle: 1 } },
      // The agent's Docker mutation bound: every removal goes through it.
      mutations: {
        run: <T>(fn: () => Promise<T>) => {
          slots += 1;
          return fn();
        },
      },
    },
  });
  cleanup.requestCycle('interval');
  await cleanup.loop.syncOnce();
  t.deepEqual(removed, ['a:1']);
  // The runtime planned again after applying (to verify): the taken cycle gives nothing.
  t.deepEqual(cleanup.loop.lastPlans().get('cycle')?.actions, []);
  t.is(await metrics.sampleValue('ecs_agent_reconcile_total', { loop: 'image-cleanup', result: 'requeue' }), 1);
  // A resync, or any other look at the key, deletes nothing more within the cycle.
  await cleanup.loop.syncOnce();
  await cleanup.loop.syncOnce();
  t.deepEqual(removed, ['a:1']);
  t.is(cleanup.requestCycle('interval'), 'new');
  await cleanup.loop.syncOnce();
  t.deepEqual(removed, ['a:1', 'b:1']);
  t.is(cleanup.lastCycle()?.cycle, 2);
  t.is(slots, 2);
});

test('a cycle with nothing to delete is taken and finished, and not looked at again', async (t) => {
  const store = memoryStore();
  store.putImage(record('sha256:young', ['young:1'], NOW - 60_000));
  const { engine, removed } = recordingEngine();
  const { cleanup, metrics, logger } = cleanupLoop(store, engine);
  cleanup.requestCycle('interval');
  // The runtime's fixed-point check is on (fixture): start-cycle and finish-cycle alone must plan nothing after.
  await cleanup.loop.syncOnce();
  t.deepEqual(removed, []);
  t.like(cleanup.lastCycle(), { cycle: 1, planned: 0, finished: true });
  t.is(cleanup.loop.lastTerminalError('cycle'), undefined);
  t.is(await metrics.sampleValue('ecs_agent_reconcile_total', { loop: 'image-cleanup', result: 'requeue' }), 0);
  t.like(logger.lines.find((line) => line.msg === 'image cleanup cycle done')?.fields, { planned: 0, removed: 0 });
});

test('a refused removal is skipped and the next deletion of the same cycle is done; the key is not retried', async (t) => {
  const store = memoryStore();
  store.putImage(record('sha256:a', ['a:1'], NOW - 5 * HOUR));
  store.putImage(record('sha256:b', ['b:1'], NOW - 4 * HOUR));
  const attempts: string[] = [];
  const { engine: recording, removed } = recordingEngine(new Set(['a:1']));
  const engine = {
    ...recording,
    removeImage: async (ref: string, options?: Parameters<DockerEngine['removeImage']>[1]) => {
      attempts.push(ref);
      return recording.removeImage(ref, options);
    },
  };
  const clock = new FakeClock(NOW);
  const { cleanup, metrics } = cleanupLoop(store, engine, { clock });
  cleanup.requestCycle('interval');
  await cleanup.loop.syncOnce();
  t.deepEqual(removed, ['b:1']);
  t.deepEqual(
    cleanup.lastCycle()?.failed.map((f) => f.error.includes('conflict')),
    [true],
  );
  t.true(cleanup.lastCycle()?.finished);
  // No backoff retry is pending: time passing brings no second attempt at a:1.
  await clock.advanceAsync(10 * 60_000);
  await cleanup.loop.syncOnce();
  t.deepEqual(attempts, ['a:1', 'b:1']);
  t.is(await metrics.sampleValue('ecs_agent_reconcile_errors_total', { loop: 'image-cleanup' }), 0);
});

test('dry-run: the plan shows each deletion with its reason and the engine is untouched', async (t) => {
  const store = memoryStore();
  store.putImage(record('sha256:a', ['a:1'], NOW - 5 * HOUR));
  const { engine, removed } = recordingEngine();
  const { cleanup, logger } = cleanupLoop(store, engine, { runtime: { dryRun: true } });
  cleanup.requestCycle('interval');
  await cleanup.loop.syncOnce();
  const actions = cleanup.loop.lastPlans().get('cycle')?.actions ?? [];
  t.deepEqual(
    actions.map((action) => action.kind),
    ['start-cycle', 'remove-image', 'finish-cycle'],
  );
  t.regex(actions[1]?.reason ?? '', /least recently used image a:1/);
  t.deepEqual(removed, []);
  t.truthy(store.getImage('sha256:a'));
  t.is(cleanup.lastCycle(), undefined, 'nothing applied: not even the cycle was taken');
  t.is(logger.lines.filter((line) => line.msg === 'dry-run: would remove-image').length, 1);
});

test('sources not ready: nothing is planned, the cycle waits and runs once the gate opens', async (t) => {
  const store = memoryStore();
  store.putImage(record('sha256:a', ['a:1']));
  const { engine, removed } = recordingEngine();
  let ready = false;
  let observed = 0;
  const clock = new FakeClock(NOW);
  const { cleanup } = cleanupLoop(store, engine, {
    clock,
    overrides: {
      sourcesReady: () => ready,
      images: {
        all: () => {
          observed += 1;
          return [];
        },
        refresh: async () => undefined,
      },
    },
  });
  cleanup.requestCycle('interval');
  await cleanup.loop.syncOnce();
  t.deepEqual(cleanup.loop.lastPlans().get('cycle'), { actions: [], requeueAfterMs: SOURCES_READY_RECHECK_MS });
  t.is(observed, 0, 'nothing of Docker or the store is read for a plan before the gate');
  await clock.advanceAsync(SOURCES_READY_RECHECK_MS);
  t.deepEqual(removed, []);
  ready = true;
  await clock.advanceAsync(SOURCES_READY_RECHECK_MS);
  await cleanup.loop.syncOnce();
  t.deepEqual(removed, ['a:1']);
});

test('the schedules wake the loop: the disk check at the high watermark, the interval cycle on its period', async (t) => {
  const store = memoryStore();
  store.putImage(record('sha256:a', ['a:1'], NOW - 5 * HOUR));
  store.putImage(record('sha256:b', ['b:1'], NOW - 4 * HOUR));
  const { engine, removed } = recordingEngine();
  let usedPercent = 50;
  const clock = new FakeClock(NOW);
  const { cleanup } = cleanupLoop(store, engine, { clock, overrides: { diskUsage: disk(() => usedPercent) } });
  cleanup.start();
  t.teardown(() => cleanup.stop(1_000));
  await clock.advanceAsync(60_000);
  t.deepEqual(removed, [], 'below the high watermark the disk check asks for nothing');
  usedPercent = 90;
  await clock.advanceAsync(60_000);
  await cleanup.loop.syncOnce();
  t.deepEqual(removed, ['a:1']);
  t.is(cleanup.lastCycle()?.trigger, 'disk-pressure');
  usedPercent = 50;
  // The interval cycle comes at 30 minutes ± 10 % (the fixture's jitter source gives exactly 30).
  await clock.advanceAsync(28 * 60_000);
  await cleanup.loop.syncOnce();
  t.deepEqual(removed, ['a:1', 'b:1']);
  t.is(cleanup.lastCycle()?.trigger, 'interval');
});
