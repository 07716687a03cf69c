/**
 * Runs one pull of one image reference to its end and records it: the pull record goes `pulling` (with
 * progress, written at most once per `progressWriteIntervalMs`) → `succeeded` / `failed`, and a success
 * also writes the image state record of fact sheet 7.3 (imageId, names, size, pulledAt, lastUsedAt,
 * pullSucceeded) that `once` and the cleanup read.
 *
 * Attempts: up to 5 for failures that may pass (pull-errors.ts), 1.1 s → 5 s doubling between them (fact
 * sheet 4.9); one only when the caller said a retry is not worth it. Each attempt is bounded overall
 * (ECS_IMAGE_PULL_TIMEOUT) and by inactivity (ECS_IMAGE_PULL_INACTIVITY_TIMEOUT: no progress line for that
 * long aborts the stream) and holds a slot of the shared Docker mutation bound. A pull failure is an outcome,
 * recorded for the waiting containers to judge, never thrown: only the agent's shutdown (the signal) and
 * store failures end a run with an error.
 */
import type { Clock } from '../../src/clock.js';
import type { PullAuthTarget } from '../../src/docker/pull-auth.js';
import type { DockerEngine, ObservedImage, RegistryAuth } from '../../src/docker/types.js';
import { errorMessage } from '../../src/errors.js';
import type { Logger } from '../../src/logging/types.js';
import type { ImageFamilies } from '../../src/metrics/images.js';
import type { PullFailureKind } from '../../src/model/image-pull.js';
import type { RegistryAuthSpec } from '../../src/model/task.js';
import type { DesiredStateStore, ImagePullRecord, ImageRecord } from '../../src/store/records.js';
import type { MutationLimiter } from '../runtime/mutation-limiter.js';
import { classifyPullFailure, isRetryablePullFailure, pullFailureReason } from './pull-errors.js';
import { PullProgressTracker } from './pull-progress.js';

/** Fact sheet 4.9: 5 attempts, 1.1 s first wait, doubling, at most 5 s. */
export const PULL_MAX_ATTEMPTS = 5;
export const PULL_FIRST_BACKOFF_MS = 1_100;
export const PULL_MAX_BACKOFF_MS = 5_000;
/** Progress is worth a store write (and a wake of the waiting tasks) about once a second, not per line. */
export const PROGRESS_WRITE_INTERVAL_MS = 1_000;

export interface PullRunnerDeps {
  engine: Pick<DockerEngine, 'pullImage'>;
  /** Inspects the image now and updates the informer's cache, so the engine's answer is known when recorded. */
  refreshImage: (ref: string) => Promise<ObservedImage | undefined>;
  store: Pick<
    DesiredStateStore,
    'getImagePull' | 'putImagePull' | 'listImages' | 'putImage' | 'transaction' | 'writerFor'
  >;
  /** Told after a pull, so the containers loop's presence cache sees the new image at once. */
  invalidatePresence: (ref: string) => void;
  mutations: MutationLimiter;
  metrics: ImageFamilies;
  logger: Logger;
  clock: Clock;
  /**
   * Registry credentials for a pull (ECR, ECS_ENGINE_AUTH_TYPE; src/docker/pull-auth.ts); undefined: anonymous.
   * A rejection fails the attempt like a failed pull, classified by pull-errors.ts. Never logged.
   */
  authFor?: (target: PullAuthTarget, signal: AbortSignal) => Promise<RegistryAuth | undefined>;
  pullTimeoutMs: number;
  inactivityTimeoutMs: number;
}

export interface PullRequest {
  ref: string;
  image: string;
  retry: boolean;
  /** The first waiting container's task and `registryAuthentication` (plan.ts: the pull uses its credentials). */
  taskArn?: string;
  registryAuth?: RegistryAuthSpec;
}

export function backoffBeforeAttempt(attempt: number): number {
  return Math.min(PULL_MAX_BACKOFF_MS, PULL_FIRST_BACKOFF_MS * 2 ** (attempt - 2));
}

export async function runPull(deps: PullRunnerDeps, request: PullRequest, signal: AbortSignal): Promise<void> {
  const { ref, image } = request;
  const logger = deps.logger.child({ image });
  const startedAtMs = deps.clock.nowMs();
  const previous = deps.store.getImagePull(ref);
  const base: ImagePullRecord = {
    ref,
    state: 'pulling',
    startedAtMs,
    currentBytes: 0,
    totalBytes: 0,
    attempts: 1,
    ...(previous?.lastSucceededAtMs === undefined ? {} : { lastSucceededAtMs: previous.lastSucceededAtMs }),
    ...(previous?.imageId === undefined ? {} : { imageId: previous.imageId }),
  };
  deps.store.putImagePull(base);
  deps.metrics.pullStarted();
  logger.info('pulling image', { ref, retry: request.retry });
  const maxAttempts = request.retry ? PULL_MAX_ATTEMPTS : 1;
  let failure: { kind: PullFailureKind; reason: string } | undefined;
  let attempts = 1;
  try {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      attempts = attempt;
      if (attempt > 1) {
        await deps.clock.sleep(backoffBeforeAttempt(attempt), signal);
        deps.store.putImagePull({ ...base, attempts: attempt });
      }
      try {
        await pullOnce(deps, request, { ...base, attempts: attempt }, signal, logger);
        failure = undefined;
        break;
      } catch (error) {
        if (signal.aborted) throw error;
        const kind = classifyPullFailure(error);
        failure = { kind, reason: pullFailureReason(error, image) };
        const again = attempt < maxAttempts && isRetryablePullFailure(kind);
        logger.warn(again ? 'image pull failed; retrying' : 'image pull failed', {
          ref,
          attempt,
          kind,
          error: errorMessage(error),
        });
        if (!again) break;
      }
    }
  } catch (error) {
    // Cancelled (shutdown): the record stays `pulling`; with no pull in flight after a restart it is pulled again.
    deps.metrics.pullEnded();
    throw error;
  }
  deps.metrics.pullEnded();
  const finishedAtMs = deps.clock.nowMs();
  const seconds = Math.max(0, finishedAtMs - startedAtMs) / 1000;
  if (failure !== undefined) {
    deps.metrics.observePull(failure.kind, seconds);
    deps.store.putImagePull({
      ...base,
      state: 'failed',
      attempts,
      finishedAtMs,
      reason: failure.reason,
      failure: failure.kind,
    });
    return;
  }
  const observed = await deps.refreshImage(image);
  deps.invalidatePresence(ref);
  deps.metrics.observePull('success', seconds);
  logger.info('image pulled', { ref, imageId: observed?.id, seconds });
  deps.store.transaction(() => {
    const last = deps.store.getImagePull(ref) ?? base;
    deps.store.putImagePull({
      ...base,
      state: 'succeeded',
      attempts,
      currentBytes: last.currentBytes,
      totalBytes: last.totalBytes,
      finishedAtMs,
      lastSucceededAtMs: finishedAtMs,
      ...(observed === undefined ? {} : { imageId: observed.id }),
    });
    if (observed !== undefined) recordImage(deps.store, observed, image, finishedAtMs);
  });
}

async function pullOnce(
  deps: PullRunnerDeps,
  request: PullRequest,
  record: ImagePullRecord,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  const tracker = new PullProgressTracker();
  let lastWriteMs = deps.clock.nowMs();
  let writtenTotalBytes = 0;
  // Asked on every attempt: a cached ECR token costs nothing, and a retry after an ECR failure asks again.
  const target: PullAuthTarget = {
    ref: record.ref,
    image: request.image,
    ...(request.taskArn === undefined ? {} : { taskArn: request.taskArn }),
    ...(request.registryAuth === undefined ? {} : { registryAuth: request.registryAuth }),
  };
  const auth = deps.authFor === undefined ? undefined : await deps.authFor(target, signal);
  await deps.mutations.run(
    () =>
      deps.engine.pullImage(
        record.ref,
        {
          ...(auth === undefined ? {} : { auth }),
          inactivityTimeoutMs: deps.inactivityTimeoutMs,
          onProgress: (progress) => {
            const milestone = tracker.add(progress);
            if (milestone !== undefined) logger.info('image pull progress', { ref: record.ref, layer: milestone });
            const nowMs = deps.clock.nowMs();
            const totals = tracker.totals();
            // A newly sized layer is written at once (the waiting text learns the size); bytes once a second.
            if (totals.totalBytes === writtenTotalBytes && nowMs - lastWriteMs < PROGRESS_WRITE_INTERVAL_MS) return;
            lastWriteMs = nowMs;
            writtenTotalBytes = totals.totalBytes;
            deps.store.putImagePull({ ...record, ...totals });
          },
        },
        { signal, timeoutMs: deps.pullTimeoutMs },
      ),
    signal,
  );
  deps.store.putImagePull({ ...record, ...tracker.totals() });
}

/**
 * The image state record (fact sheet 7.3): created at the first pull (pulledAt = lastUsedAt = now), the name
 * moved off any other image that held it, `pullSucceeded` set.
 */
function recordImage(
  store: Pick<DesiredStateStore, 'listImages' | 'putImage'>,
  observed: ObservedImage,
  image: string,
  nowMs: number,
): void {
  const all = store.listImages();
  for (const other of all) {
    if (other.imageId === observed.id || !other.names.includes(image)) continue;
    store.putImage({ ...other, names: other.names.filter((name) => name !== image) });
  }
  const current = all.find((record) => record.imageId === observed.id);
  const next: ImageRecord = {
    imageId: observed.id,
    names: current === undefined ? [image] : [...new Set([...current.names, image])],
    sizeBytes: observed.sizeBytes,
    pulledAtMs: current?.pulledAtMs ?? nowMs,
    lastUsedAtMs: current?.lastUsedAtMs ?? nowMs,
    pullSucceeded: true,
  };
  store.putImage(next);
}
