/**
 * Image cleanup over a real (in-memory) store: the planner's input as the store, the pulls in flight and the
 * informer's cache give it (in use = any task still in the store, by name in any spelling or by image ID,
 * including local images ecsd never pulled), the job's execution of a plan with an engine that fails one
 * removal, the sources-ready gate and the disk-pressure check, and the start-up pre-pull through the images
 * loop.
 */
import test from 'ava';
import { createImageCleanup, type ImageCleanupDeps } from '../reconcilers/images/cleanup.js';
import {
  buildCleanupInput,
  type CleanupSettings,
  UPSTREAM_EXCLUDED_IMAGES,
} from '../reconcilers/images/cleanup-input.js';
import { createImagesLoop } from '../reconcilers/images/loop.js';
import { planImageCleanup } from '../reconcilers/images/plan-cleanup.js';
import { createMutationLimiter } from '../reconcilers/runtime/mutation-limiter.js';
import { systemClock } from '../src/clock.js';
import type { DockerEngine, ObservedContainer, ObservedImage } from '../src/docker/types.js';
import { LABEL_TASK_ARN } from '../src/docker/types.js';
import { DockerApiError } from '../src/errors.js';
import { silentLogger } from '../src/logging/types.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import { openStore } from '../src/store/index.js';
import type { DesiredStateStore, ImageRecord } from '../src/store/records.js';
import { containerSpec, taskSpecWith } from './helpers/specs.js';
import { waitFor } from './helpers/wait-for.js';
import { capturingLogger } from './store-fixtures.js';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);

const SETTINGS: CleanupSettings = {
  config: {
    imageMinimumCleanupAgeMs: HOUR,
    nonEcsImageMinimumCleanupAgeMs: HOUR,
    numImagesDeletePerCycle: 10,
    numNonEcsContainersDeletePerCycle: 5,
    nonEcsContainerCleanupWaitMs: 3 * HOUR,
    enableUntrackedImageCleanup: true,
    imageGcHighPercent: 85,
    imageGcLowPercent: 80,
  },
  excludeUntrackedImages: ['excluded:1'],
  pinnedImages: ['pinned:1'],
  prepullImages: [],
};

function memoryStore(): DesiredStateStore {
  return openStore({ dataDir: '/nonexistent', checkpoint: false, logger: silentLogger }).store;
}

function record(id: string, names: string[], pulledAtMs = NOW - 2 * HOUR): ImageRecord {
  return { imageId: id, names, sizeBytes: 100, pulledAtMs, lastUsedAtMs: pulledAtMs, pullSucceeded: true };
}

function observed(id: string, repoTags: string[], createdAtMs = NOW - 2 * HOUR): ObservedImage {
  return { id, repoTags, repoDigests: [], sizeBytes: 100, createdAtMs };
}

function addTask(store: DesiredStateStore, n: number, image: string, imageId?: string): string {
  const arn = `arn:aws:ecs:us-east-1:111122223333:task/demo/${n.toString().padStart(4, '0')}`;
  store.putDesiredTask(taskSpecWith(arn, [containerSpec('app', { image })]));
  if (imageId !== undefined) {
    store.recordObservation({ taskArn: arn, containers: [{ name: 'app', patch: { imageId } }] });
  }
  return arn;
}

function container(id: string, imageId: string, overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id,
    name: id,
    labels: {},
    state: 'exited',
    running: false,
    exitCode: 0,
    oomKilled: false,
    health: 'none',
    imageId,
    image: imageId,
    createdAtMs: NOW - 10 * HOUR,
    finishedAtMs: NOW - 5 * HOUR,
    portBindings: [],
    observedAtMs: 0,
    ...overrides,
  };
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

/** An engine whose removals are recorded; `refuse` names refs that fail as Docker's 409 conflict does. */
function recordingEngine(refuse: Set<string>) {
  const removed: string[] = [];
  const engine: ImageCleanupDeps['engine'] = {
    readOnly: false,
    async removeImage(ref) {
      if (refuse.has(ref)) {
        throw new DockerApiError(`conflict: unable to remove repository reference "${ref}"`, {
          errorClass: 'terminal',
        });
      }
      removed.push(ref);
    },
    async removeContainer(id) {
      removed.push(`container:${id}`);
    },
    listContainers: async () => [],
    inspectContainer: async () => undefined,
  } satisfies Partial<DockerEngine> as ImageCleanupDeps['engine'];
  return { engine, removed };
}

function cleanupDeps(
  store: DesiredStateStore,
  engine: ImageCleanupDeps['engine'],
  overrides: Partial<ImageCleanupDeps> = {},
) {
  const metrics = createMetricsRegistry();
  const logger = capturingLogger();
  const deps: ImageCleanupDeps = {
    engine,
    store,
    images: { all: () => [], refresh: async () => undefined },
    ecsContainers: () => [],
    invalidatePresence: () => {},
    sourcesReady: () => true,
    dockerRootDir: '/var/lib/docker',
    diskUsage: async () => ({ totalBytes: 1000, freeBytes: 900, usedBytes: 100, usedPercent: 10 }),
    settings: { ...SETTINGS, config: { ...SETTINGS.config, enableUntrackedImageCleanup: false } },
    metrics: metrics.images,
    logger,
    clock: { ...systemClock, nowMs: () => NOW },
    ...overrides,
  };
  return { deps, metrics, logger };
}

test('one failed removal is logged, counted and skipped; the cycle goes on and records follow the names', async (t) => {
  const store = memoryStore();
  store.putImage(record('sha256:a', ['a:1', 'a:2'], NOW - 5 * HOUR));
  store.putImage(record('sha256:b', ['b:1'], NOW - 4 * HOUR));
  store.putImage(record('sha256:c', [], NOW - 3 * HOUR));
  const { engine, removed } = recordingEngine(new Set(['a:2']));
  const { deps, metrics, logger } = cleanupDeps(store, engine);
  const result = await createImageCleanup(deps).runCycle('interval', new AbortController().signal);
  if ('skipped' in result) return t.fail(`skipped: ${result.skipped}`);
  t.deepEqual(removed, ['a:1', 'b:1', 'sha256:c']);
  t.deepEqual(
    result.failed.map((f) => f.deletion.kind === 'remove-image' && f.deletion.imageId),
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
});

test('nothing runs before sources-ready; the disk check runs a cycle only at the high watermark', async (t) => {
  const store = memoryStore();
  store.putImage(record('sha256:a', ['a:1']));
  const { engine, removed } = recordingEngine(new Set());
  let ready = false;
  let usedPercent = 50;
  const { deps, metrics } = cleanupDeps(store, engine, {
    sourcesReady: () => ready,
    diskUsage: async () => ({
      totalBytes: 1000,
      freeBytes: 1000 - usedPercent * 10,
      usedBytes: usedPercent * 10,
      usedPercent,
    }),
  });
  const cleanup = createImageCleanup(deps);
  const signal = new AbortController().signal;
  t.deepEqual(await cleanup.runCycle('interval', signal), { skipped: 'sources-not-ready' });
  t.deepEqual(await cleanup.checkDiskPressure(signal), { skipped: 'sources-not-ready' });
  ready = true;
  t.deepEqual(await cleanup.checkDiskPressure(signal), { skipped: 'below-high-watermark' });
  t.deepEqual(removed, []);
  usedPercent = 90;
  const result = await cleanup.checkDiskPressure(signal);
  if ('skipped' in result) return t.fail(`skipped: ${result.skipped}`);
  t.deepEqual(removed, ['a:1']);
  t.is(result.removed[0]?.step, 'disk-pressure');
  t.is(await metrics.sampleValue('ecs_agent_image_cleanup_removed_total', { trigger: 'disk-pressure' }), 1);
});

test('a dry-run engine removes nothing and logs what it would remove', async (t) => {
  const store = memoryStore();
  store.putImage(record('sha256:a', ['a:1']));
  const { engine, removed } = recordingEngine(new Set());
  const { deps, logger } = cleanupDeps(store, { ...engine, readOnly: true });
  await createImageCleanup(deps).runCycle('interval', new AbortController().signal);
  t.deepEqual(removed, []);
  t.truthy(store.getImage('sha256:a'));
  t.truthy(logger.lines.find((line) => line.msg === 'dry-run: would remove-image'));
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
    runtime: {
      clock: systemClock,
      logger: silentLogger,
      metrics,
      pollIntervalMs: 10,
      resyncIntervalMs: 60_000,
      maxConcurrentReconciles: 2,
      maxQueueDepth: 100,
    },
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
