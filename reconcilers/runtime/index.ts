/** The loop runtime's public surface: loops import from here. */
export {
  createItemExponentialBackoff,
  DEFAULT_BASE_BACKOFF_MS,
  DEFAULT_MAX_BACKOFF_MS,
  type ItemBackoff,
} from './backoff.js';
export { createLoop, DEFAULT_MAX_PARALLEL_ACTIONS_PER_KEY } from './loop.js';
export {
  createMutationLimiter,
  DEFAULT_MAX_CONCURRENT_DOCKER_MUTATIONS,
  type MutationLimiter,
} from './mutation-limiter.js';
export {
  createBucketRateLimiter,
  createControllerRateLimiter,
  createMaxOfRateLimiter,
  DEFAULT_RETRY_BURST,
  DEFAULT_RETRY_QPS,
} from './rate-limiter.js';
export { RESYNC_JITTER_FRACTION } from './triggers.js';
export {
  LOOP_STATES,
  type Loop,
  type LoopAction,
  type LoopChange,
  type LoopDefinition,
  type LoopDeps,
  type LoopPlan,
  type LoopState,
  type LoopWatch,
  type TerminalErrorRecord,
} from './types.js';
export { WorkQueue, type WorkQueueOptions } from './work-queue.js';
