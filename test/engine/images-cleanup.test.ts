/**
 * Image cleanup against the real engine: one cycle of the image-cleanup loop the agent runs, asked for
 * directly instead of waiting for its schedule, with image records aged hours back against a one-hour minimum age instead of waiting. Every
 * image is made here with a unique name (a commit of the test image with a run label, so each has its own
 * ID) and removed at the end. Untracked cleanup stays off: on a shared engine it would judge other
 * people's images.
 */
import { randomUUID } from 'node:crypto';
import test from 'ava';
import type { CleanupSettings } from '../../reconcilers/images/cleanup-input.js';
import { createImageCleanupLoop } from '../../reconcilers/images/cleanup-loop.js';
import { systemClock } from '../../src/clock.js';
import { createDockerEngine, createInformer, LABEL_TASK_ARN } from '../../src/docker/index.js';
import { diskUsage } from '../../src/host/disk-usage.js';
import { silentLogger } from '../../src/logging/types.js';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { openStore } from '../../src/store/index.js';
import { docker, TEST_IMAGE } from '../helpers/agent-process.js';
import { containerSpec, taskSpecWith } from '../helpers/specs.js';
import { capturingLogger } from '../store-fixtures.js';

const HOUR = 3_600_000;

test('a cycle removes old unused images, never one a running task uses nor a pinned one, and goes past a failed removal', async (t) => {
  const run = randomUUID().slice(0, 8);
  const label = `ecsd-test.images-cleanup=${run}`;
  const repo = `ecsd-test-cleanup-${run}`;
  const containers: string[] = [];
  const images: string[] = [];
  t.teardown(async () => {
    for (const id of containers) await docker('rm', '-f', id).catch(() => {});
    for (const ref of images) await docker('rmi', '-f', ref).catch(() => {});
  });
  /** A distinct image (its own ID) under `names`. */
  const makeImage = async (names: string[]): Promise<string> => {
    const source = await docker('create', '--label', label, TEST_IMAGE, 'true');
    try {
      images.push(...names);
      // A label naming the image makes its config, and so its ID, its own.
      const id = await docker('commit', '--change', `LABEL ecsd-test.image=${names[0]}`, source, names[0]!);
      for (const name of names.slice(1)) await docker('tag', names[0]!, name);
      return id;
    } finally {
      await docker('rm', '-f', source).catch(() => {});
    }
  };
  const oldOne = await makeImage([`${repo}:old-one`]);
  const oldTwo = await makeImage([`${repo}:old-two`, `${repo}:old-two-alias`]);
  const running = await makeImage([`${repo}:running`]);
  const pinned = await makeImage([`${repo}:pinned`]);
  const held = await makeImage([`${repo}:held`]);

  // A running task container (the task is in the store) and a stopped non-ECS container holding `held`.
  const taskArn = `arn:aws:ecs:us-west-2:123456789012:task/ecsd-test/${run}`;
  containers.push(
    await docker(
      'run',
      '-d',
      '--init',
      '--label',
      label,
      '--label',
      `${LABEL_TASK_ARN}=${taskArn}`,
      `${repo}:running`,
      'sleep',
      '300',
    ),
  );
  containers.push(await docker('create', '--label', label, `${repo}:held`, 'true'));

  const store = openStore({ dataDir: '/nonexistent', checkpoint: false, logger: silentLogger }).store;
  store.putDesiredTask(taskSpecWith(taskArn, [containerSpec('app', { image: `${repo}:running` })]));
  const now = Date.now();
  // Least recently used first: `held` is tried first and fails, then the cycle goes on; the in-use and the
  // pinned ones are older than all and are still never chosen.
  const records: Array<[string, string[], number]> = [
    [running, [`${repo}:running`], 10],
    [pinned, [`${repo}:pinned`], 9],
    [held, [`${repo}:held`], 8],
    [oldOne, [`${repo}:old-one`], 7],
    [oldTwo, [`${repo}:old-two`, `${repo}:old-two-alias`], 6],
  ];
  for (const [imageId, names, hoursAgo] of records) {
    const atMs = now - hoursAgo * HOUR;
    store.putImage({ imageId, names, sizeBytes: 1, pulledAtMs: atMs, lastUsedAtMs: atMs, pullSucceeded: true });
  }

  const engine = createDockerEngine({ dockerHost: 'unix:///var/run/docker.sock', logger: silentLogger });
  const informer = createInformer({
    engine,
    labelFilter: [LABEL_TASK_ARN, label],
    resyncIntervalMs: 60_000,
    logger: silentLogger,
    clock: systemClock,
  });
  await informer.start();
  t.teardown(() => informer.stop());
  const settings: CleanupSettings = {
    config: {
      imageMinimumCleanupAgeMs: HOUR,
      nonEcsImageMinimumCleanupAgeMs: HOUR,
      numImagesDeletePerCycle: 10,
      numNonEcsContainersDeletePerCycle: 0,
      nonEcsContainerCleanupWaitMs: HOUR,
      enableUntrackedImageCleanup: false,
      // The shared host's disk is whatever it is: no disk-pressure removals in this test.
      imageGcHighPercent: 100,
      imageGcLowPercent: 99,
    },
    excludeUntrackedImages: [],
    pinnedImages: [`${repo}:pinned`],
    prepullImages: [],
  };
  const metrics = createMetricsRegistry();
  const logger = capturingLogger();
  const info = await engine.info();
  const cleanup = createImageCleanupLoop({
    engine,
    store,
    images: informer.images,
    ecsContainers: () => informer.containers.all(),
    invalidatePresence: () => {},
    sourcesReady: () => true,
    dockerRootDir: info.dockerRootDir,
    diskUsage,
    settings,
    metrics: metrics.images,
    logger,
    clock: systemClock,
    schedule: { cycleIntervalMs: 30 * 60_000, diskCheckIntervalMs: 60_000 },
    runtime: {
      store,
      clock: systemClock,
      logger,
      metrics,
      pollIntervalMs: 60_000,
      resyncIntervalMs: 3_600_000,
      maxConcurrentReconciles: 1,
      maxQueueDepth: 10,
      checkStoreOnlyFixedPoint: true,
    },
  });
  // The loop is not started (its schedules would wait 30 minutes): the cycle is asked for and synced.
  cleanup.requestCycle('interval');
  await cleanup.loop.syncOnce();
  t.teardown(() => cleanup.stop(1_000));
  const result = cleanup.lastCycle();
  if (result === undefined) return t.fail('no cycle ran');

  const exists = (ref: string) =>
    docker('image', 'inspect', ref).then(
      () => true,
      () => false,
    );
  t.false(await exists(oldOne));
  t.false(await exists(oldTwo), 'both names untagged, so the image is gone');
  t.true(await exists(running), 'the image of a running task is never removed');
  t.true(await exists(pinned), 'a pinned image is never removed');
  t.true(await exists(held), 'docker refused: a stopped container uses it');
  t.deepEqual(
    store
      .listImages()
      .map((r) => r.imageId)
      .sort(),
    [running, pinned, held].sort(),
  );
  const attempted = logger.lines
    .filter((l) => l.msg === 'image removed' || l.msg.startsWith('image cleanup removal failed'))
    .map((l) => l.fields['imageId']);
  t.deepEqual(attempted, [held, oldOne, oldTwo], 'the running and pinned images were never even tried');
  t.deepEqual(
    result.failed.map((f) => f.deletion.kind === 'remove-image' && f.deletion.imageId),
    [held],
  );
  t.regex(result.failed[0]?.error ?? '', /conflict|being used|stopped container/i);
  t.is(await metrics.sampleValue('ecs_agent_image_cleanup_removed_total', { trigger: 'interval' }), 2);
  t.is(await metrics.sampleValue('ecs_agent_image_cleanup_errors_total'), 1);
});
