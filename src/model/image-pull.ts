/**
 * The image-pull vocabularies (fact sheet 7): where a pull of one reference stands, why one failed, and how
 * it ended for metrics. Closed string unions, so metric labels and stored values stay bounded by construction.
 */

/** `pulling`: in flight; `succeeded` / `failed`: the latest pull ended so. */
export const IMAGE_PULL_STATES = ['pulling', 'succeeded', 'failed'] as const;
export type ImagePullState = (typeof IMAGE_PULL_STATES)[number];

/**
 * Why a pull failed, from the engine's (and so the registry's) message. Only `network`, `rate_limited`,
 * `timeout` and `unknown` are worth another attempt: a wrong password or a missing repository stays so, and a
 * full disk is not fixed by pulling again a second later.
 */
export const PULL_FAILURE_KINDS = [
  'auth',
  'not_found',
  'rate_limited',
  'network',
  'disk_full',
  'timeout',
  'unknown',
] as const;
export type PullFailureKind = (typeof PULL_FAILURE_KINDS)[number];

/** `ecs_agent_image_pulls_total{result}`: a success, or the failure's kind. */
export const PULL_RESULTS = ['success', ...PULL_FAILURE_KINDS] as const;
export type PullResult = (typeof PULL_RESULTS)[number];

export function isImagePullState(value: string): value is ImagePullState {
  return (IMAGE_PULL_STATES as readonly string[]).includes(value);
}

export function isPullFailureKind(value: string): value is PullFailureKind {
  return (PULL_FAILURE_KINDS as readonly string[]).includes(value);
}

/**
 * What started an image cleanup cycle: the scheduled ECS_IMAGE_CLEANUP_INTERVAL cycle, or the disk-pressure
 * check (ECSD_IMAGE_GC_HIGH_PERCENT). The label of `ecs_agent_image_cleanup_removed_total{trigger}`.
 */
export const IMAGE_CLEANUP_TRIGGERS = ['interval', 'disk-pressure'] as const;
export type ImageCleanupTrigger = (typeof IMAGE_CLEANUP_TRIGGERS)[number];
