/**
 * The image-cleanup loop (fact sheet 7.4 and the ecsd disk-pressure extension) on the shared runtime, with
 * one key (`cycle`). Desired: the cycle due (cleanup-cycles.ts). Actual: the cycle taken last and — for a
 * due cycle not yet taken, once the sources are ready — what cleanup-input.ts reads (the store's records,
 * tasks and pulls in flight, the informer's images and containers, non-ECS containers when untracked cleanup
 * is on) and the Docker data root's disk. The plan (cleanup-actions.ts) is every deletion of the cycle as an
 * action with its reason; apply performs exactly one (cleanup.ts). In dry-run (`LoopDeps.dryRun`) each
 * planned deletion is logged with its reason and counted (`ecs_agent_planned_actions_total`), and nothing
 * is removed.
 *
 * Two schedules wake the key, on the runtime's timers (schedule.ts): every ECS_IMAGE_CLEANUP_INTERVAL (±10 %)
 * an `interval` cycle, and every 60 s a look at the disk, which asks for a `disk-pressure` cycle at
 * ECSD_IMAGE_GC_HIGH_PERCENT or more.
 */
import type { Clock } from '../../src/clock.js';
import type { ImageIndex } from '../../src/docker/informer-images.js';
import type { DockerEngine, ObservedContainer } from '../../src/docker/types.js';
import { errorMessage } from '../../src/errors.js';
import type { DiskUsage } from '../../src/host/disk-usage.js';
import type { Logger } from '../../src/logging/types.js';
import type { ImageFamilies } from '../../src/metrics/images.js';
import type { DesiredStateStore } from '../../src/store/records.js';
import { createLoop } from '../runtime/loop.js';
import type { MutationLimiter } from '../runtime/mutation-limiter.js';
import { type ScheduledJob, scheduleJob } from '../runtime/schedule.js';
import type { Loop, LoopDefinition, LoopDeps, LoopPlan } from '../runtime/types.js';
import { createCleanupExecutor } from './cleanup.js';
import {
  CLEANUP_ACTION_KINDS,
  CLEANUP_BOOKKEEPING_KINDS,
  type CleanupAction,
  type CleanupActual,
  type CleanupDesired,
  planCleanupCycle,
} from './cleanup-actions.js';
import { type CleanupCycleSummary, CleanupCycles, type CycleRequestOutcome } from './cleanup-cycles.js';
import { buildCleanupInput, type CleanupSettings, listNonEcsContainers } from './cleanup-input.js';
import type { CleanupTrigger } from './plan-cleanup.js';

export const IMAGE_CLEANUP_LOOP = 'image-cleanup';
/** The loop's one key: cycles never overlap because the runtime never works on one key twice at once. */
export const IMAGE_CLEANUP_KEY = 'cycle';
/** How often the disk is looked at between cycles: statfs is cheap, and a filling disk can fill in minutes. */
export const DISK_CHECK_INTERVAL_MS = 60_000;

export interface ImageCleanupDeps {
  engine: Pick<DockerEngine, 'removeImage' | 'removeContainer' | 'listContainers' | 'inspectContainer'>;
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
  /** The agent's one bound on Docker mutations (removals hold a slot each). */
  mutations?: Pick<MutationLimiter, 'run'>;
}

export interface ImageCleanupSchedule {
  cycleIntervalMs: number;
  diskCheckIntervalMs: number;
}

export type DiskCheckOutcome = CycleRequestOutcome | 'below-high-watermark' | 'disk-unmeasured' | 'disk-pressure-off';

export interface ImageCleanupLoop {
  readonly loop: Loop<CleanupAction>;
  /** Asks for a cycle and wakes the loop (what the interval schedule does). */
  requestCycle(trigger: CleanupTrigger): CycleRequestOutcome;
  /** Measures the disk; at or above the high watermark asks for a `disk-pressure` cycle (the 60 s check). */
  checkDiskPressure(): Promise<DiskCheckOutcome>;
  /** The cycle taken last, finished or still running. */
  lastCycle(): CleanupCycleSummary | undefined;
  /** Starts the loop and both schedules. */
  start(): void;
  /** Ends the schedules, then stops the loop (a cycle in progress is aborted between its removals at the deadline). */
  stop(deadlineMs: number): Promise<void>;
}

interface MeasuredDisk {
  totalBytes: number;
  usedBytes: number;
  usedPercent: number;
}

export interface ImageCleanupLoopParts {
  cycles: CleanupCycles;
  measure: () => Promise<MeasuredDisk | undefined>;
  /** Aborted when the loop stops: the non-ECS container listing of an observe. */
  observeSignal: AbortSignal;
}

export function imageCleanupLoopDefinition(
  deps: ImageCleanupDeps,
  parts: ImageCleanupLoopParts,
): LoopDefinition<CleanupDesired, CleanupActual, CleanupAction> {
  const { cycles, measure } = parts;
  const executor = createCleanupExecutor(deps);
  return {
    name: IMAGE_CLEANUP_LOOP,
    actionKinds: CLEANUP_ACTION_KINDS,
    // The cycle record is the loop's own memory, never Docker: a plan of these alone (a cycle with nothing to
    // delete) is a fixed point, since planning a taken cycle again gives nothing.
    storeOnlyActionKinds: CLEANUP_BOOKKEEPING_KINDS,
    // Only the schedules wake the key: store writes (its own record deletions included) never do.
    watchedTables: [],
    keys: () => [IMAGE_CLEANUP_KEY],
    keysForChange: () => [],
    readDesired: (key) => (key === IMAGE_CLEANUP_KEY ? cycles.due() : undefined),
    async observe(_key, desired) {
      const startedCycle = cycles.startedCycle();
      if (desired === undefined || desired.cycle <= startedCycle) return { state: 'nothing-due', startedCycle };
      if (!deps.sourcesReady()) return { state: 'sources-not-ready', startedCycle };
      const disk = await measure();
      const nonEcs = deps.settings.config.enableUntrackedImageCleanup
        ? await listNonEcsContainers(deps.engine, parts.observeSignal)
        : [];
      const input = buildCleanupInput(
        { store: deps.store, images: deps.images.all(), containers: [...deps.ecsContainers(), ...nonEcs] },
        deps.settings,
        {
          trigger: desired.trigger,
          nowMs: deps.clock.nowMs(),
          ...(disk === undefined ? {} : { disk: { totalBytes: disk.totalBytes, usedBytes: disk.usedBytes } }),
        },
      );
      return { state: 'observed', startedCycle, input };
    },
    plan: (desired, actual, nowMs) => planCleanupCycle(desired, actual, nowMs),
    async apply(_key, action, signal) {
      switch (action.kind) {
        case 'start-cycle':
          cycles.start(action.request, action.planned);
          return;
        case 'finish-cycle': {
          const summary = cycles.finish(action.request.cycle);
          if (summary === undefined) return;
          deps.logger.info('image cleanup cycle done', {
            cycle: summary.cycle,
            trigger: summary.trigger,
            planned: summary.planned,
            removed: summary.removed.length,
            failed: summary.failed.length,
          });
          return;
        }
        default: {
          const outcome = await executor.execute(action.deletion, action.request.trigger, signal);
          cycles.recordDeletion(action.request.cycle, action.deletion, outcome.ok ? undefined : outcome.error);
        }
      }
    },
  };
}

export function createImageCleanupLoop(
  deps: ImageCleanupDeps & { schedule: ImageCleanupSchedule; runtime: LoopDeps<CleanupAction> },
): ImageCleanupLoop {
  const { logger, runtime } = deps;
  const cycles = new CleanupCycles();
  const observeAbort = new AbortController();
  const measure = async (): Promise<MeasuredDisk | undefined> => {
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
  const dryRun = runtime.dryRun ?? false;
  const loop = createLoop(imageCleanupLoopDefinition(deps, { cycles, measure, observeSignal: observeAbort.signal }), {
    ...runtime,
    onPlan: (key: string, plan: LoopPlan<CleanupAction>) => {
      // The runtime counts planned actions in both modes but logs a dry-run plan at debug only: what cleanup
      // would delete, and why, is what an operator runs a dry-run to see.
      if (dryRun) logDryRun(logger, plan);
      runtime.onPlan?.(key, plan);
    },
  });

  const requestCycle = (trigger: CleanupTrigger): CycleRequestOutcome => {
    const outcome = cycles.request(trigger);
    if (outcome === 'skipped-cycle-running') logger.debug('image cleanup cycle running; disk check skipped');
    else loop.nudge(IMAGE_CLEANUP_KEY);
    return outcome;
  };
  const checkDiskPressure = async (): Promise<DiskCheckOutcome> => {
    const high = deps.settings.config.imageGcHighPercent;
    // 100 turns the extension off: a full disk is then left to the interval cycle alone.
    if (high >= 100) return 'disk-pressure-off';
    const disk = await measure();
    if (disk === undefined) return 'disk-unmeasured';
    if (disk.usedPercent < high) return 'below-high-watermark';
    return requestCycle('disk-pressure');
  };
  const scheduleDeps = {
    clock: deps.clock,
    logger,
    ...(runtime.random === undefined ? {} : { random: runtime.random }),
  };
  const jobs: ScheduledJob[] = [
    // ±10 %, like the resync: hosts started together do not all hit their registries' images at once.
    scheduleJob(
      'image-cleanup',
      { everyMs: deps.schedule.cycleIntervalMs, jitterFraction: 0.1 },
      () => {
        requestCycle('interval');
      },
      scheduleDeps,
    ),
    scheduleJob(
      'image-disk-pressure',
      { everyMs: deps.schedule.diskCheckIntervalMs },
      async () => {
        await checkDiskPressure();
      },
      scheduleDeps,
    ),
  ];

  return {
    loop,
    requestCycle,
    checkDiskPressure,
    lastCycle: () => cycles.lastCycle(),
    start() {
      loop.start();
      for (const job of jobs) job.start();
    },
    async stop(deadlineMs) {
      await Promise.all(jobs.map((job) => job.stop()));
      observeAbort.abort();
      await loop.stop(deadlineMs);
    },
  };
}

function logDryRun(logger: Logger, plan: LoopPlan<CleanupAction>): void {
  for (const action of plan.actions) {
    if (action.kind === 'remove-image') {
      logger.info('dry-run: would remove-image', {
        imageId: action.deletion.imageId,
        names: action.deletion.refs,
        reason: action.reason,
      });
    } else if (action.kind === 'remove-container') {
      logger.info('dry-run: would remove-container', {
        container: action.deletion.containerName,
        reason: action.reason,
      });
    }
  }
}
