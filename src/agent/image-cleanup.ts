/**
 * Image cleanup's place in the agent: the settings read from the configuration, the job built on the
 * informer's caches and the store, and its start/stop with the loops. Off altogether with
 * ECS_DISABLE_IMAGE_CLEANUP, and with ECS_IMAGE_PULL_BEHAVIOR=prefer-cached (fact sheet 7.4: that behaviour
 * counts on cached images staying) — the disk-pressure check included, since an operator who turned cleanup
 * off does not expect images to vanish; ECSD_IMAGE_GC_HIGH_PERCENT=100 turns off only the disk-pressure part.
 */

import { createImageCleanup, DISK_CHECK_INTERVAL_MS, scheduleImageCleanup } from '../../reconcilers/images/cleanup.js';
import type { CleanupSettings } from '../../reconcilers/images/cleanup-input.js';
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

/** Adds the cleanup job to the loops phase, or logs why there is none. */
export function addImageCleanup(wiring: ImageCleanupWiring): void {
  const { config, logger } = wiring;
  if (config.disableImageCleanup || config.imagePullBehavior === 'prefer-cached') {
    logger.info('image cleanup off', {
      why: config.disableImageCleanup ? 'ECS_DISABLE_IMAGE_CLEANUP=true' : 'ECS_IMAGE_PULL_BEHAVIOR=prefer-cached',
    });
    return;
  }
  const cleanup = createImageCleanup({
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
  });
  const job = scheduleImageCleanup(
    cleanup,
    { cycleIntervalMs: config.imageCleanupIntervalMs, diskCheckIntervalMs: DISK_CHECK_INTERVAL_MS },
    { clock: wiring.clock, logger },
  );
  wiring.manager.add('loops', {
    name: 'image-cleanup',
    start: () => job.start(),
    stop: () => job.stop(),
  });
}
