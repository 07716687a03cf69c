/**
 * The image cleanup job (fact sheet 7.4 and the ecsd disk-pressure extension): every
 * ECS_IMAGE_CLEANUP_INTERVAL a full cycle, and on a short interval a look at the Docker data root's disk,
 * which runs a `disk-pressure` cycle at ECSD_IMAGE_GC_HIGH_PERCENT or more. A cycle reads the state
 * (cleanup-input.ts), plans (plan-cleanup.ts: data, with a reason per deletion) and executes each deletion
 * as one action:
 * - an image: `docker rmi` per name (by ID when it has none); "no such image" is success (the engine's
 *   removeImage says so); the name leaves the record at once, and the record goes when no name remains;
 * - a non-ECS container: removed with its anonymous volumes, as upstream.
 * A failed deletion is logged with its reason, counted, and skipped: the cycle goes on with the next one.
 *
 * Nothing runs before sources-ready (kubelet's rule): an image no stored task names may belong to a task a
 * source has not written yet. Cycles never overlap: a disk check while a cycle runs is skipped. On a
 * read-only (dry-run) engine each deletion is logged as what would be done, and nothing is removed.
 */
import type { Clock } from '../../src/clock.js';
import type { ImageIndex } from '../../src/docker/informer-images.js';
import type { DockerEngine, ObservedContainer } from '../../src/docker/types.js';
import { errorMessage } from '../../src/errors.js';
import type { DiskUsage } from '../../src/host/disk-usage.js';
import type { Logger } from '../../src/logging/types.js';
import type { ImageFamilies } from '../../src/metrics/images.js';
import type { DesiredStateStore } from '../../src/store/records.js';
import { type ScheduledJob, scheduleJob } from '../runtime/schedule.js';
import { buildCleanupInput, type CleanupSettings, listNonEcsContainers } from './cleanup-input.js';
import {
  type CleanupDeletion,
  type CleanupTrigger,
  type ImageCleanupPlan,
  planImageCleanup,
  type RemoveImageDeletion,
} from './plan-cleanup.js';

/** How often the disk is looked at between cycles: statfs is cheap, and a filling disk can fill in minutes. */
export const DISK_CHECK_INTERVAL_MS = 60_000;

export interface ImageCleanupDeps {
  engine: Pick<DockerEngine, 'readOnly' | 'removeImage' | 'removeContainer' | 'listContainers' | 'inspectContainer'>;
  store: Pick<
    DesiredStateStore,
    'listImages' | 'listTasks' | 'listContainers' | 'listImagePulls' | 'getImage' | 'putImage' | 'deleteImage'
  >;
  /** The informer's image cache: untracked images, and refreshed after each removal. */
  images: Pick<ImageIndex, 'all' | 'refresh'>;
  /** The informer's ECS containers (what they run counts as in use). */
  ecsContainers: () => readonly ObservedContainer[];
  /** Told of every name removed, so the containers loop's presence cache does not keep a removed image. */
  invalidatePresence: (ref: string) => void;
  sourcesReady: () => boolean;
  /** The Docker data root (`docker info` DockerRootDir) and how to measure its filesystem. */
  dockerRootDir: string;
  diskUsage: (path: string) => Promise<DiskUsage>;
  settings: CleanupSettings;
  metrics: Pick<ImageFamilies, 'cleanupRemoved' | 'cleanupFailed'>;
  logger: Logger;
  clock: Clock;
}

export interface CleanupCycleResult {
  trigger: CleanupTrigger;
  plan: ImageCleanupPlan;
  /** Deletions done (or, dry-run, that would be done). */
  removed: CleanupDeletion[];
  /** Deletions that failed, with the engine's message; skipped for this cycle. */
  failed: Array<{ deletion: CleanupDeletion; error: string }>;
}

export type CleanupSkip = 'sources-not-ready' | 'cycle-running' | 'below-high-watermark';

export interface ImageCleanup {
  /** One cycle now; `skipped` says why none ran. */
  runCycle(trigger: CleanupTrigger, signal: AbortSignal): Promise<CleanupCycleResult | { skipped: CleanupSkip }>;
  /** Measures the disk; runs a `disk-pressure` cycle when it is at or above the high watermark. */
  checkDiskPressure(signal: AbortSignal): Promise<CleanupCycleResult | { skipped: CleanupSkip }>;
}

export function createImageCleanup(deps: ImageCleanupDeps): ImageCleanup {
  const logger = deps.logger;
  let running = false;

  const measure = async (): Promise<{ totalBytes: number; usedBytes: number; usedPercent: number } | undefined> => {
    try {
      const usage = await deps.diskUsage(deps.dockerRootDir);
      // The planner compares used/total; total here is df's used + available, so its percent is df's Use%.
      return {
        totalBytes: usage.usedBytes + usage.freeBytes,
        usedBytes: usage.usedBytes,
        usedPercent: usage.usedPercent,
      };
    } catch (error) {
      logger.warn('cannot measure the Docker data root; no disk-pressure step', {
        path: deps.dockerRootDir,
        error: errorMessage(error),
      });
      return undefined;
    }
  };

  const cycle = async (
    trigger: CleanupTrigger,
    signal: AbortSignal,
    disk: { totalBytes: number; usedBytes: number } | undefined,
  ): Promise<CleanupCycleResult> => {
    const untracked = deps.settings.config.enableUntrackedImageCleanup;
    const nonEcs = untracked ? await listNonEcsContainers(deps.engine, signal) : [];
    const input = buildCleanupInput(
      { store: deps.store, images: deps.images.all(), containers: [...deps.ecsContainers(), ...nonEcs] },
      deps.settings,
      { trigger, nowMs: deps.clock.nowMs(), ...(disk === undefined ? {} : { disk }) },
    );
    const plan = planImageCleanup(input);
    const result: CleanupCycleResult = { trigger, plan, removed: [], failed: [] };
    for (const deletion of plan.deletions) {
      if (signal.aborted) break;
      const error = await execute(deletion, signal);
      if (error === undefined) {
        result.removed.push(deletion);
        if (!deps.engine.readOnly) deps.metrics.cleanupRemoved(trigger);
      } else {
        result.failed.push({ deletion, error });
        deps.metrics.cleanupFailed();
      }
    }
    logger.info('image cleanup cycle done', {
      trigger,
      planned: plan.deletions.length,
      removed: result.removed.length,
      failed: result.failed.length,
      ...(plan.diskUsedPercent === undefined ? {} : { diskUsedPercent: Math.round(plan.diskUsedPercent * 10) / 10 }),
    });
    return result;
  };

  /** One deletion; undefined when done, else the reason it failed (logged here). */
  const execute = async (deletion: CleanupDeletion, signal: AbortSignal): Promise<string | undefined> => {
    const what =
      deletion.kind === 'remove-image' ? { imageId: deletion.imageId } : { container: deletion.containerName };
    if (deps.engine.readOnly) {
      logger.info(`dry-run: would ${deletion.kind}`, { ...what, step: deletion.step, reason: deletion.reason });
      return undefined;
    }
    try {
      if (deletion.kind === 'remove-container') {
        await deps.engine.removeContainer(deletion.containerId, { removeVolumes: true }, { signal });
      } else {
        await removeImage(deletion, signal);
      }
      logger.info(deletion.kind === 'remove-image' ? 'image removed' : 'non-ECS container removed', {
        ...what,
        ...(deletion.kind === 'remove-image' ? { names: deletion.refs } : {}),
        step: deletion.step,
        reason: deletion.reason,
      });
      return undefined;
    } catch (error) {
      const message = errorMessage(error);
      logger.warn('image cleanup removal failed; skipped this cycle', {
        ...what,
        step: deletion.step,
        reason: deletion.reason,
        error: message,
      });
      return message;
    }
  };

  /** Each name in turn; a name is off the record as soon as it is gone, so a failure later keeps the rest. */
  const removeImage = async (deletion: RemoveImageDeletion, signal: AbortSignal): Promise<void> => {
    try {
      for (const ref of deletion.refs) {
        await deps.engine.removeImage(ref, { signal });
        deps.invalidatePresence(ref);
        if (!deletion.tracked) continue;
        const record = deps.store.getImage(deletion.imageId);
        if (record === undefined) continue;
        const names = record.names.filter((name) => name !== ref);
        if (names.length === 0 || ref === deletion.imageId) deps.store.deleteImage(deletion.imageId);
        else deps.store.putImage({ ...record, names });
      }
    } finally {
      // The cache learns the outcome now rather than at the next event, whatever happened.
      await deps.images.refresh(deletion.imageId).catch(() => undefined);
    }
  };

  const exclusive = async (
    run: () => Promise<CleanupCycleResult | { skipped: CleanupSkip }>,
  ): Promise<CleanupCycleResult | { skipped: CleanupSkip }> => {
    if (!deps.sourcesReady()) return { skipped: 'sources-not-ready' };
    if (running) return { skipped: 'cycle-running' };
    running = true;
    try {
      return await run();
    } finally {
      running = false;
    }
  };

  return {
    runCycle: (trigger, signal) => exclusive(async () => cycle(trigger, signal, await measure())),
    checkDiskPressure: (signal) =>
      exclusive(async () => {
        const disk = await measure();
        const high = deps.settings.config.imageGcHighPercent;
        if (disk === undefined || high >= 100 || disk.usedPercent < high) return { skipped: 'below-high-watermark' };
        return cycle('disk-pressure', signal, disk);
      }),
  };
}

export interface ImageCleanupSchedule {
  cycleIntervalMs: number;
  diskCheckIntervalMs: number;
}

export interface ImageCleanupJob {
  start(): void;
  /** Ends both schedules and aborts a cycle in progress between its removals. */
  stop(): Promise<void>;
}

/** The two schedules on the runtime's timers (intervals, not wall-clock: `scheduleJob({ everyMs })`). */
export function scheduleImageCleanup(
  cleanup: ImageCleanup,
  schedule: ImageCleanupSchedule,
  deps: { clock: Clock; logger: Logger },
): ImageCleanupJob {
  const abort = new AbortController();
  const skipped = (result: CleanupCycleResult | { skipped: CleanupSkip }): void => {
    if ('skipped' in result && result.skipped !== 'below-high-watermark') {
      deps.logger.debug('image cleanup skipped', { why: result.skipped });
    }
  };
  const jobs: ScheduledJob[] = [
    scheduleJob(
      'image-cleanup',
      // ±10 %, like the resync: hosts started together do not all hit their registries' images at once.
      { everyMs: schedule.cycleIntervalMs, jitterFraction: 0.1 },
      async () => skipped(await cleanup.runCycle('interval', abort.signal)),
      deps,
    ),
    scheduleJob(
      'image-disk-pressure',
      { everyMs: schedule.diskCheckIntervalMs },
      async () => skipped(await cleanup.checkDiskPressure(abort.signal)),
      deps,
    ),
  ];
  return {
    start() {
      for (const job of jobs) job.start();
    },
    async stop() {
      abort.abort();
      await Promise.all(jobs.map((job) => job.stop()));
    },
  };
}
