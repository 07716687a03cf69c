/**
 * Image cleanup's place in the agent: the settings read from the configuration, the `image-cleanup` loop
 * built on the informer's caches and the store, and its start/stop (with its two schedules) with the other
 * loops. Off altogether with ECS_DISABLE_IMAGE_CLEANUP, and with ECS_IMAGE_PULL_BEHAVIOR=prefer-cached
 * (fact sheet 7.4: that behaviour counts on cached images staying) — the disk-pressure check included,
 * since an operator who turned cleanup off does not expect images to vanish; ECSD_IMAGE_GC_HIGH_PERCENT=100
 * turns off only the disk-pressure part.
 */

import type { CleanupAction } from '../../reconcilers/images/cleanup-actions.js';
import type { CleanupSettings } from '../../reconcilers/images/cleanup-input.js';
import { createImageCleanupLoop, DISK_CHECK_INTERVAL_MS } from '../../reconcilers/images/cleanup-loop.js';
import type { MutationLimiter } from '../../reconcilers/runtime/mutation-limiter.js';
import type { LoopDeps } from '../../reconcilers/runtime/types.js';
import type { Clock } from '../clock.js';
import type { AgentConfig } from '../config/index.js';
import type { Informer } from '../docker/informer.js';
import type { DockerEngine } from '../docker/types.js';
import { diskUsage } from '../host/disk-usage.js';
import type { Logger } from '../logging/types.js';
import type { ImageFamilies } from '../metrics/images.js';
import type { DesiredStateStore } from '../store/records.js';
import type { Manager } from './manager.js';

export interface ImageCleanupWiring {
  manager: Manager;
  config: AgentConfig;
  engine: DockerEngine;
  store: DesiredStateStore;
  informer: Pick<Informer, 'images' | 'containers'>;
  dockerRootDir: string;
  invalidatePresence: (ref: string) => void;
  sourcesReady: () => boolean;
  metrics: ImageFamilies;
  logger: Logger;
  clock: Clock;
  /** The agent's one bound on Docker mutations, shared with the other loops. */
  mutations: Pick<MutationLimiter, 'run'>;
  /** What every loop shares of the runtime (the agent's `runtimeFor`). */
  runtime: LoopDeps<CleanupAction>;
}

export function cleanupSettings(config: AgentConfig): CleanupSettings {
  return {
    config: {
      imageMinimumCleanupAgeMs: config.imageMinimumCleanupAgeMs,
      nonEcsImageMinimumCleanupAgeMs: config.nonEcsImageMinimumCleanupAgeMs,
      numImagesDeletePerCycle: config.numImagesDeletePerCycle,
      numNonEcsContainersDeletePerCycle: config.numNonEcsContainersDeletePerCycle,
      // Upstream judges non-ECS containers by the task cleanup wait (fact sheet 7.4 step 3).
      nonEcsContainerCleanupWaitMs: config.engineTaskCleanupWaitDurationMs,
      enableUntrackedImageCleanup: config.enableUntrackedImageCleanup,
      imageGcHighPercent: config.imageGcHighPercent,
      imageGcLowPercent: config.imageGcLowPercent,
    },
    excludeUntrackedImages: config.excludeUntrackedImages,
    pinnedImages: config.pinnedImages,
    prepullImages: config.prepullImages,
  };
}

/** Adds the image-cleanup loop to the loops phase, or logs why there is none. */
export function addImageCleanup(wiring: ImageCleanupWiring): void {
  const { config, logger } = wiring;
  if (config.disableImageCleanup || config.imagePullBehavior === 'prefer-cached') {
    logger.info('image cleanup off', {
      why: config.disableImageCleanup ? 'ECS_DISABLE_IMAGE_CLEANUP=true' : 'ECS_IMAGE_PULL_BEHAVIOR=prefer-cached',
    });
    return;
  }
  const cleanup = createImageCleanupLoop({
    engine: wiring.engine,
    store: wiring.store,
    images: wiring.informer.images,
    ecsContainers: () => wiring.informer.containers.all(),
    invalidatePresence: wiring.invalidatePresence,
    sourcesReady: wiring.sourcesReady,
    dockerRootDir: wiring.dockerRootDir,
    diskUsage,
    settings: cleanupSettings(config),
    metrics: wiring.metrics,
    logger,
    clock: wiring.clock,
    mutations: wiring.mutations,
    schedule: { cycleIntervalMs: config.imageCleanupIntervalMs, diskCheckIntervalMs: DISK_CHECK_INTERVAL_MS },
    // A read-only engine (the dry-run view) plans and removes nothing, whatever the runtime was told.
    runtime: { ...wiring.runtime, dryRun: (wiring.runtime.dryRun ?? false) || wiring.engine.readOnly },
  });
  wiring.manager.add('loops', {
    name: 'image-cleanup-loop',
    start: () => cleanup.start(),
    stop: (deadlineMs) => cleanup.stop(deadlineMs),
  });
}
