/**
 * Image cleanup over a real (in-memory) store: the planner's input as the store, the pulls in flight and the
 * informer's cache give it (in use = any task still in the store, by name in any spelling or by image ID,
 * including local images ecsd never pulled), the image-cleanup loop's execution of a cycle with an engine
 * that fails one removal, the sources-ready gate, the disk-pressure check and dry-run, and the start-up
 * pre-pull through the images loop.
 */
import test from 'ava';
import { buildCleanupInput, UPSTREAM_EXCLUDED_IMAGES } from '../reconcilers/images/cleanup-input.js';
import { createImagesLoop } from '../reconcilers/images/loop.js';
import { planImageCleanup } from '../reconcilers/images/plan-cleanup.js';
import { createMutationLimiter } from '../reconcilers/runtime/mutation-limiter.js';
import { systemClock } from '../src/clock.js';
import type { DockerEngine } from '../src/docker/types.js';
import { LABEL_TASK_ARN } from '../src/docker/types.js';
import { silentLogger } from '../src/logging/types.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import type { DesiredStateStore } from '../src/store/records.js';
import { fastLoopRuntime } from './helpers/runtime-harness.js';
import { containerSpec, taskSpecWith } from './helpers/specs.js';
import { waitFor } from './helpers/wait-for.js';
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

function addTask(store: DesiredStateStore, n: number, image: string, imageId?: string): string {
  const arn = `arn:aws:ecs:us-east-1:111122223333:task/demo/${n.toString().padStart(4, '0')}`;
  store.putDesiredTask(taskSpecWith(arn, [containerSpec('app', { image })]));
  if (imageId !== undefined) {
    store.recordObservation({ taskArn: arn, containers: [{ name: 'app', patch: { imageId } }] });
  }
  return arn;
}

test('in use is any task still in the store, by name in any spelling or by image ID; pulls in flight hold theirs', (t) => {
  const store = memoryStore();
  // Stopped tasks still hold their images until cleaned up (deleted from the store).
  const byName = addTask(store, 1, 'docker.io/library/app:1');
  store.putDesiredTask({ ...store.getTask(byName)!.spec, desiredStatus: 'STOPPED' });
  const byId = addTask(store, 2, 'retagged:9', 'sha256:b');
  store.putImage(record('sha256:a', ['app:1']));
  store.putImage(record('sha256:b', ['old-name:2']));
  store.putImage(record('sha256:c', ['pulling:3']));
  store.putImage(record('sha256:d', ['free:4']));
  store.putImagePull({
    ref: 'docker.io/library/pulling:3',
    state: 'pulling',
    startedAtMs: NOW,
    currentBytes: 0,
    totalBytes: 0,
    attempts: 1,
  });

  const input = buildCleanupInput({ store, images: [], containers: [] }, SETTINGS, { trigger: 'interval', nowMs: NOW });
  const byImage = new Map(input.tracked.map((image) => [image.imageId, image]));
  t.deepEqual(byImage.get('sha256:a')?.referencingTaskArns, [byName]);
  t.deepEqual(byImage.get('sha256:b')?.referencingTaskArns, [byId]);
  t.true(byImage.get('sha256:c')?.pullInFlight);
  t.deepEqual(byImage.get('sha256:d')?.referencingTaskArns, []);
  t.false(byImage.get('sha256:d')?.pullInFlight);
  t.deepEqual(
    planImageCleanup(input).deletions.map((d) => (d.kind === 'remove-image' ? d.imageId : d.containerId)),
    ['sha256:d'],
  );
});

test('untracked images: a local image a task uses is in use though never pulled; so is one any container runs', (t) => {
  const store = memoryStore();
  addTask(store, 1, 'local-build:dev');
  const images = [
    observed('sha256:local', ['local-build:dev']),
    observed('sha256:by-container', ['someone-elses:1']),
    observed('sha256:dangling', ['<none>:<none>']),
    observed('sha256:free', ['free:1']),
  ];
  const containers = [
    container('ecs-one', 'sha256:by-container', { labels: { [LABEL_TASK_ARN]: 'arn:x' }, taskArn: 'arn:x' }),
    container('non-ecs', 'sha256:other'),
  ];
  const input = buildCleanupInput({ store, images, containers }, SETTINGS, { trigger: 'interval', nowMs: NOW });
  const inUse = Object.fromEntries(input.untrackedImages.map((image) => [image.imageId, image.inUse]));
  t.deepEqual(inUse, {
    'sha256:local': true,
    'sha256:by-container': true,
    'sha256:dangling': false,
    'sha256:free': false,
  });
  t.deepEqual(input.untrackedImages.find((i) => i.imageId === 'sha256:dangling')?.repoTags, []);
  t.deepEqual(
    input.untrackedContainers.map((c) => c.id),
    ['non-ecs'],
  );
  t.deepEqual(input.excluded, ['excluded:1', ...UPSTREAM_EXCLUDED_IMAGES]);
  t.deepEqual(input.pinned, ['pinned:1']);
});

test('one failed removal is logged, counted and skipped; the cycle goes on and records follow the names', async (t) => {
  const store = memoryStore();
  store.putImage(record('sha256:a', ['a:1', 'a:2'], NOW - 5 * HOUR));
  store.putImage(record('sha256:b', ['b:1'], NOW - 4 * HOUR));
  store.putImage(record('sha256:c', [], NOW - 3 * HOUR));
  const { engine, removed } = recordingEngine(new Set(['a:2']));
  const { cleanup, metrics, logger } = cleanupLoop(store, engine);
  t.is(cleanup.requestCycle('interval'), 'new');
  await cleanup.loop.syncOnce();
  const cycle = cleanup.lastCycle();
  if (cycle === undefined) return t.fail('no cycle ran');
  t.deepEqual(removed, ['a:1', 'b:1', 'sha256:c']);
  t.true(cycle.finished);
  t.deepEqual(
    cycle.failed.map((f) => f.deletion.kind === 'remove-image' && f.deletion.imageId),
    ['sha256:a'],
  );
  // a:1 went, so the record keeps only the name that is left; b and c are gone with their last name.
  t.deepEqual(store.getImage('sha256:a')?.names, ['a:2']);
  t.is(store.getImage('sha256:b'), undefined);
  t.is(store.getImage('sha256:c'), undefined);
  t.is(await metrics.sampleValue('ecs_agent_image_cleanup_removed_total', { trigger: 'interval' }), 2);
  t.is(await metrics.sampleValue('ecs_agent_image_cleanup_removed_total', { trigger: 'disk-pressure' }), 0);
  t.is(await metrics.sampleValue('ecs_agent_image_cleanup_errors_total'), 1);
  const removals = logger.lines.filter((line) => line.msg === 'image removed');
  t.is(removals.length, 2);
  t.regex(String(removals[0]?.fields['reason']), /least recently used image b:1/);
  t.regex(
    String(logger.lines.find((line) => line.msg.startsWith('image cleanup removal failed'))?.fields['error']),
    /conflict/,
  );
  // The refusal is the cycle's outcome, not the loop's: no reconcile failed, nothing is retried.
  t.is(await metrics.sampleValue('ecs_agent_reconcile_errors_total', { loop: 'image-cleanup' }), 0);
  t.is(cleanup.loop.lastTerminalError('cycle'), undefined);
});

test('nothing runs before sources-ready; the disk check asks for a cycle only at the high watermark', async (t) => {
  const store = memoryStore();
  store.putImage(record('sha256:a', ['a:1']));
  const { engine, removed } = recordingEngine();
  let ready = false;
  let usedPercent = 50;
  const { cleanup, metrics } = cleanupLoop(store, engine, {
    overrides: { sourcesReady: () => ready, diskUsage: disk(() => usedPercent) },
  });
  t.is(await cleanup.checkDiskPressure(), 'below-high-watermark');
  t.is(cleanup.requestCycle('interval'), 'new');
  await cleanup.loop.syncOnce();
  t.deepEqual(removed, []);
  t.is(cleanup.lastCycle(), undefined, 'the cycle waits for the gate; it is not taken');
  t.deepEqual(cleanup.loop.lastPlans().get('cycle')?.actions, []);
  ready = true;
  usedPercent = 90;
  // The disk check joins the cycle that waits (an interval cycle also removes what the watermarks ask for).
  t.is(await cleanup.checkDiskPressure(), 'joined');
  await cleanup.loop.syncOnce();
  t.deepEqual(removed, ['a:1']);
  t.is(cleanup.lastCycle()?.removed[0]?.step, 'tracked');
  usedPercent = 90;
  store.putImage(record('sha256:b', ['b:1']));
  t.is(await cleanup.checkDiskPressure(), 'new');
  await cleanup.loop.syncOnce();
  t.deepEqual(removed, ['a:1', 'b:1']);
  t.is(cleanup.lastCycle()?.removed[0]?.step, 'disk-pressure');
  t.is(await metrics.sampleValue('ecs_agent_image_cleanup_removed_total', { trigger: 'disk-pressure' }), 1);
});

test('a dry-run loop removes nothing, and logs and counts what it would remove and why', async (t) => {
  const store = memoryStore();
  store.putImage(record('sha256:a', ['a:1']));
  const { engine, removed } = recordingEngine();
  const { cleanup, logger, metrics } = cleanupLoop(store, engine, { runtime: { dryRun: true } });
  cleanup.requestCycle('interval');
  await cleanup.loop.syncOnce();
  t.deepEqual(removed, []);
  t.truthy(store.getImage('sha256:a'));
  const line = logger.lines.find((l) => l.msg === 'dry-run: would remove-image');
  t.regex(
    String(line?.fields['reason']),
    /^interval cycle 1, image 1 of at most 10 per cycle .*least recently used image a:1/,
  );
  t.is(
    await metrics.sampleValue('ecs_agent_planned_actions_total', { loop: 'image-cleanup', action: 'remove-image' }),
    1,
  );
});

test('ECSD_PREPULL_IMAGES are pulled once at start through the images loop, with no task asking', async (t) => {
  const store = memoryStore();
  const pulls: string[] = [];
  const engine = {
    async pullImage(ref: string) {
      pulls.push(ref);
    },
  } as unknown as Pick<DockerEngine, 'pullImage'>;
  const metrics = createMetricsRegistry();
  const loop = createImagesLoop({
    store,
    presence: { present: async () => new Set(), invalidate: () => {} },
    settings: { behavior: 'default', dependentContainersUpfront: false },
    nowMs: () => Date.now(),
    prepull: { images: ['warm:1'], agentStartMs: Date.now() },
    runner: {
      engine,
      refreshImage: async () => observed('sha256:warm', ['warm:1']),
      store,
      invalidatePresence: () => {},
      mutations: createMutationLimiter({ limit: 2 }),
      metrics: metrics.images,
      logger: silentLogger,
      clock: systemClock,
      pullTimeoutMs: 60_000,
      inactivityTimeoutMs: 60_000,
    },
    runtime: fastLoopRuntime(metrics, 2),
  });
  loop.start();
  try {
    await waitFor(
      'the pre-pull recorded',
      () => store.getImagePull('docker.io/library/warm:1')?.state === 'succeeded',
      {
        timeoutMs: 5_000,
        intervalMs: 5,
      },
    );
    await loop.syncOnce();
    t.deepEqual(pulls, ['docker.io/library/warm:1']);
    t.deepEqual(store.getImage('sha256:warm')?.names, ['warm:1']);
  } finally {
    await loop.stop(1_000);
  }
});
