/**
 * Shared by the image cleanup tests: an in-memory store, image records, an engine whose removals are
 * recorded (and can be refused as Docker's 409 conflict), and the image-cleanup loop built on them with a
 * fake clock (nothing fires unless the test moves time) and the runtime's store-only fixed-point check on.
 */
import type { CleanupAction } from '../reconcilers/images/cleanup-actions.js';
import type { CleanupSettings } from '../reconcilers/images/cleanup-input.js';
import { createImageCleanupLoop, type ImageCleanupDeps } from '../reconcilers/images/cleanup-loop.js';
import type { LoopDeps } from '../reconcilers/runtime/types.js';
import type { DockerEngine, ObservedContainer, ObservedImage } from '../src/docker/types.js';
import { DockerApiError } from '../src/errors.js';
import { silentLogger } from '../src/logging/types.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import { openStore } from '../src/store/index.js';
import type { DesiredStateStore, ImageRecord } from '../src/store/records.js';
import { FakeClock } from './helpers/fake-clock.js';
import { capturingLogger } from './store-fixtures.js';

export const HOUR = 3_600_000;
export const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);

export const SETTINGS: CleanupSettings = {
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

export function memoryStore(): DesiredStateStore {
  return openStore({ dataDir: '/nonexistent', checkpoint: false, logger: silentLogger }).store;
}

export function record(id: string, names: string[], pulledAtMs = NOW - 2 * HOUR): ImageRecord {
  return { imageId: id, names, sizeBytes: 100, pulledAtMs, lastUsedAtMs: pulledAtMs, pullSucceeded: true };
}

export function observed(id: string, repoTags: string[], createdAtMs = NOW - 2 * HOUR): ObservedImage {
  return { id, repoTags, repoDigests: [], sizeBytes: 100, createdAtMs };
}

export function container(id: string, imageId: string, overrides: Partial<ObservedContainer> = {}): ObservedContainer {
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

/** An engine whose removals are recorded; `refuse` names refs that fail as Docker's 409 conflict does. */
export function recordingEngine(refuse: ReadonlySet<string> = new Set(), nonEcs: ObservedContainer[] = []) {
  const removed: string[] = [];
  const engine: ImageCleanupDeps['engine'] = {
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
    listContainers: async () => nonEcs.map((c) => ({ id: c.id, labels: c.labels, state: c.state })),
    inspectContainer: async (id) => nonEcs.find((c) => c.id === id),
  } satisfies Partial<DockerEngine> as ImageCleanupDeps['engine'];
  return { engine, removed };
}

/** A disk of 1000 bytes, `usedPercent` full (read at each measurement). */
export function disk(usedPercent: () => number): ImageCleanupDeps['diskUsage'] {
  return async () => ({
    totalBytes: 1000,
    freeBytes: 1000 - usedPercent() * 10,
    usedBytes: usedPercent() * 10,
    usedPercent: usedPercent(),
  });
}

export interface CleanupLoopOptions {
  overrides?: Partial<ImageCleanupDeps>;
  runtime?: Partial<LoopDeps<CleanupAction>>;
  clock?: FakeClock;
}

/** The image-cleanup loop over `store` and `engine`; untracked cleanup off unless the overrides say. */
export function cleanupLoop(
  store: DesiredStateStore,
  engine: ImageCleanupDeps['engine'],
  options: CleanupLoopOptions = {},
) {
  const metrics = createMetricsRegistry();
  const logger = capturingLogger();
  const clock = options.clock ?? new FakeClock(NOW);
  const cleanup = createImageCleanupLoop({
    engine,
    store,
    images: { all: () => [], refresh: async () => undefined },
    ecsContainers: () => [],
    invalidatePresence: () => {},
    sourcesReady: () => true,
    dockerRootDir: '/var/lib/docker',
    diskUsage: disk(() => 10),
    settings: { ...SETTINGS, config: { ...SETTINGS.config, enableUntrackedImageCleanup: false } },
    metrics: metrics.images,
    logger,
    clock,
    schedule: { cycleIntervalMs: 30 * 60_000, diskCheckIntervalMs: 60_000 },
    ...options.overrides,
    runtime: {
      store,
      clock,
      logger,
      metrics,
      pollIntervalMs: 60_000,
      resyncIntervalMs: 24 * HOUR,
      maxConcurrentReconciles: 1,
      maxQueueDepth: 10,
      checkStoreOnlyFixedPoint: true,
      random: () => 0.5,
      ...options.runtime,
    },
  });
  return { cleanup, metrics, logger, clock };
}
