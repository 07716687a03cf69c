/**
 * One image cleanup deletion, as the image-cleanup loop applies it (cleanup-loop.ts; fact sheet 7.4):
 * - an image: `docker rmi` per name (by ID when it has none); "no such image" is success (the engine's
 *   removeImage says so); the name leaves the record at once, and the record goes when no name remains;
 * - a non-ECS container: removed with its anonymous volumes, as upstream.
 * A failed deletion is logged with its reason, counted, and reported as an outcome, never thrown: one
 * refusal (an image a stopped container still uses) must not stop the cycle's other deletions, and the
 * runtime would otherwise retry the whole cycle. Only an abort (shutdown) is thrown, to end the cycle.
 */
import type { ImageIndex } from '../../src/docker/informer-images.js';
import type { DockerEngine } from '../../src/docker/types.js';
import { errorMessage } from '../../src/errors.js';
import type { Logger } from '../../src/logging/types.js';
import type { ImageFamilies } from '../../src/metrics/images.js';
import type { DesiredStateStore } from '../../src/store/records.js';
import type { MutationLimiter } from '../runtime/mutation-limiter.js';
import type { CleanupDeletion, CleanupTrigger, RemoveImageDeletion } from './plan-cleanup.js';

export interface CleanupExecutorDeps {
  engine: Pick<DockerEngine, 'removeImage' | 'removeContainer'>;
  store: Pick<DesiredStateStore, 'getImage' | 'putImage' | 'deleteImage'>;
  /** The informer's image cache, refreshed after each removal. */
  images: Pick<ImageIndex, 'refresh'>;
  /** Told of every name removed, so the containers loop's presence cache does not keep a removed image. */
  invalidatePresence: (ref: string) => void;
  metrics: Pick<ImageFamilies, 'cleanupRemoved' | 'cleanupFailed'>;
  logger: Logger;
  /** The agent's one bound on Docker mutations: each removal holds a slot while it runs. */
  mutations?: Pick<MutationLimiter, 'run'>;
}

export type DeletionOutcome = { ok: true } | { ok: false; error: string };

export interface CleanupExecutor {
  /** Performs one deletion; a failure comes back as `{ ok: false }` (logged and counted here). */
  execute(deletion: CleanupDeletion, trigger: CleanupTrigger, signal: AbortSignal): Promise<DeletionOutcome>;
}

export function createCleanupExecutor(deps: CleanupExecutorDeps): CleanupExecutor {
  const { logger } = deps;
  const bounded = <T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> =>
    deps.mutations === undefined ? fn() : deps.mutations.run(fn, signal);

  /** Each name in turn; a name is off the record as soon as it is gone, so a failure later keeps the rest. */
  const removeImage = async (deletion: RemoveImageDeletion, signal: AbortSignal): Promise<void> => {
    try {
      for (const ref of deletion.refs) {
        await bounded(() => deps.engine.removeImage(ref, { signal }), signal);
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

  return {
    async execute(deletion, trigger, signal) {
      const what =
        deletion.kind === 'remove-image' ? { imageId: deletion.imageId } : { container: deletion.containerName };
      try {
        if (deletion.kind === 'remove-container') {
          await bounded(
            () => deps.engine.removeContainer(deletion.containerId, { removeVolumes: true }, { signal }),
            signal,
          );
        } else {
          await removeImage(deletion, signal);
        }
      } catch (error) {
        // Shutdown: the cycle ends here; the runtime counts the abort, not a refused removal.
        if (signal.aborted) throw error;
        const message = errorMessage(error);
        deps.metrics.cleanupFailed();
        logger.warn('image cleanup removal failed; skipped this cycle', {
          ...what,
          step: deletion.step,
          reason: deletion.reason,
          error: message,
        });
        return { ok: false, error: message };
      }
      deps.metrics.cleanupRemoved(trigger);
      logger.info(deletion.kind === 'remove-image' ? 'image removed' : 'non-ECS container removed', {
        ...what,
        ...(deletion.kind === 'remove-image' ? { names: deletion.refs } : {}),
        step: deletion.step,
        reason: deletion.reason,
      });
      return { ok: true };
    },
  };
}
