/**
 * Which images (and non-ECS containers) one image cleanup cycle removes, and why: a pure function of the
 * image records, what Docker holds, the configuration and the time. The image-cleanup loop turns each
 * deletion into an action with its reason (cleanup-actions.ts); dry-run logs them.
 *
 * Upstream's cycle (fact sheet 7.4, `docker_image_manager.go`), in its order:
 * 1. Tracked candidates: every image record none of whose names is excluded.
 * 2. Up to ECS_NUM_IMAGES_DELETE_PER_CYCLE times: among candidates pulled more than
 *    ECS_IMAGE_MINIMUM_CLEANUP_AGE ago (strictly) with no references, the smallest LastUsedAt goes; each of
 *    its names is untagged in turn (by ID when it has none).
 * 3. With ECS_ENABLE_UNTRACKED_IMAGE_CLEANUP: up to NONECS_NUM_CONTAINERS_DELETE_PER_CYCLE non-ECS containers
 *    in status exited, dead or created that finished more than the task cleanup wait ago; then non-ECS images
 *    (not an image of a record, no excluded tag), smallest first, created more than
 *    NON_ECS_IMAGE_MINIMUM_CLEANUP_AGE ago, one removal per tag (by ID with one tag or none), up to the
 *    per-cycle number less the tracked removals.
 * Differences on purpose, each making cleanup remove less or never the wrong thing:
 * - The non-ECS budget is exactly the per-cycle number less the tracked removals. Upstream counts one fewer
 *   tracked removal when all of them happened, so it removes one non-ECS image more than the operator allowed.
 * - An image with a pull in flight, or one a non-ECS container uses, is never chosen (upstream relies on a
 *   pull/delete lock and on `docker rmi` refusing an image in use, and spends the cycle's budget on it).
 * - Names compare as Docker resolves them (`busybox` = `docker.io/library/busybox:latest`), not as strings.
 * - Non-ECS containers go oldest-finished first (upstream: Go's random map order).
 * ecsd extensions:
 * - Pinned images (ECSD_PINNED_IMAGES) and pre-pulled images (ECSD_PREPULL_IMAGES) are excluded like
 *   ECS_EXCLUDE_UNTRACKED_IMAGE, from tracked and non-ECS cleanup alike.
 * - Disk pressure: when the Docker data root's filesystem is ECSD_IMAGE_GC_HIGH_PERCENT full or more, the
 *   least recently used eligible images (the same eligibility: age, no reference, not excluded; non-ECS images
 *   only when untracked cleanup is on) are removed until the projected use is at or below
 *   ECSD_IMAGE_GC_LOW_PERCENT, beyond the per-cycle number. The projection subtracts each image's size,
 *   which overstates what a removal frees when images share layers: the next check measures again and
 *   removes more if needed (kubelet's image GC works the same way).
 */
import { normalizeImageRef } from '../../src/docker/informer-images.js';
import type { ImageCleanupTrigger } from '../../src/model/image-pull.js';

/** An image this agent pulled or uses (the store's image record, fact sheet 7.3) and what holds it. */
export interface TrackedImage {
  imageId: string;
  names: readonly string[];
  sizeBytes: number;
  pulledAtMs: number;
  lastUsedAtMs: number;
  pullSucceeded: boolean;
  /** Tasks not yet cleaned up whose containers use this image. Any: the image stays. */
  referencingTaskArns: readonly string[];
  /** A pull of one of its names is running. */
  pullInFlight: boolean;
}

/** An image in Docker with no record (pulled by someone else). */
export interface UntrackedImage {
  imageId: string;
  repoTags: readonly string[];
  sizeBytes: number;
  createdAtMs: number;
  /** A container (any, running or not) uses it: `docker rmi` would refuse. */
  inUse: boolean;
}

/** A container in Docker that is not one of this agent's tasks. */
export interface UntrackedContainer {
  id: string;
  name: string;
  /** Docker's State.Status. */
  status: string;
  /** State.FinishedAt; a container never started has Docker's zero time (far in the past). */
  finishedAtMs: number;
}

export interface ImageCleanupConfig {
  imageMinimumCleanupAgeMs: number;
  nonEcsImageMinimumCleanupAgeMs: number;
  numImagesDeletePerCycle: number;
  numNonEcsContainersDeletePerCycle: number;
  /** How long a non-ECS container must have been finished (upstream: the task cleanup wait). */
  nonEcsContainerCleanupWaitMs: number;
  enableUntrackedImageCleanup: boolean;
  imageGcHighPercent: number;
  imageGcLowPercent: number;
}

export interface DiskState {
  totalBytes: number;
  usedBytes: number;
}

/** The closed union lives with the metric vocabularies (its values are a metric label). */
export type CleanupTrigger = ImageCleanupTrigger;

export interface ImageCleanupInput {
  tracked: readonly TrackedImage[];
  untrackedImages: readonly UntrackedImage[];
  untrackedContainers: readonly UntrackedContainer[];
  /**
   * Names never removed: ECS_EXCLUDE_UNTRACKED_IMAGE, the pause image, `amazon/amazon-ecs-agent:latest`
   * (fact sheet 7.4). Assembled by the caller.
   */
  excluded: readonly string[];
  /** ECSD_PINNED_IMAGES. */
  pinned: readonly string[];
  /** ECSD_PREPULL_IMAGES. */
  prepull: readonly string[];
  config: ImageCleanupConfig;
  /** The Docker data root's filesystem; without it there is no disk-pressure step. */
  disk?: DiskState;
  /**
   * `interval`: the scheduled cycle (upstream's steps, then disk pressure). `disk-pressure`: a check between
   * cycles, which removes only what the watermarks ask for.
   */
  trigger: CleanupTrigger;
  nowMs: number;
}

export type CleanupStep = 'tracked' | 'untracked' | 'disk-pressure';

export interface RemoveImageDeletion {
  kind: 'remove-image';
  imageId: string;
  /** What to `docker rmi`, in order: each name, or the image ID when it has none. */
  refs: string[];
  sizeBytes: number;
  /** The image has a record to delete once its names are gone. */
  tracked: boolean;
  step: CleanupStep;
  reason: string;
}

export interface RemoveContainerDeletion {
  kind: 'remove-container';
  containerId: string;
  containerName: string;
  step: 'untracked';
  reason: string;
}

export type CleanupDeletion = RemoveImageDeletion | RemoveContainerDeletion;

export interface ImageCleanupPlan {
  /** In the order upstream would make them. */
  deletions: CleanupDeletion[];
  /** Disk use (%) before, and projected after the plan's image removals; absent without `disk`. */
  diskUsedPercent?: number;
  projectedUsedPercent?: number;
}

/** Docker's status words of containers that no longer run (upstream's non-ECS container filter). */
const FINISHED_STATUSES: ReadonlySet<string> = new Set(['exited', 'dead', 'created']);

export function planImageCleanup(input: ImageCleanupInput): ImageCleanupPlan {
  const { config, nowMs } = input;
  const protectedNames = new Set([...input.excluded, ...input.pinned, ...input.prepull].map(normalizeImageRef));
  const deletions: CleanupDeletion[] = [];
  const chosen = new Set<string>();

  const trackedEligible = input.tracked
    .filter((image) => !image.names.some((name) => protectedNames.has(normalizeImageRef(name))))
    .filter((image) => nowMs - image.pulledAtMs > config.imageMinimumCleanupAgeMs)
    .filter((image) => image.referencingTaskArns.length === 0 && !image.pullInFlight)
    .sort((a, b) => a.lastUsedAtMs - b.lastUsedAtMs || compare(a.imageId, b.imageId));

  const trackedIds = new Set(input.tracked.map((image) => image.imageId));
  const untrackedEligible = input.untrackedImages
    .filter((image) => !trackedIds.has(image.imageId) && !image.inUse)
    .filter((image) => !image.repoTags.some((tag) => protectedNames.has(normalizeImageRef(tag))))
    .filter((image) => nowMs - image.createdAtMs > config.nonEcsImageMinimumCleanupAgeMs);

  if (input.trigger === 'interval') {
    const perCycle = Math.max(1, config.numImagesDeletePerCycle);
    for (const image of trackedEligible.slice(0, perCycle)) {
      chosen.add(image.imageId);
      deletions.push(trackedDeletion(image, 'tracked', trackedReason(image, config, nowMs)));
    }
    if (config.enableUntrackedImageCleanup) {
      deletions.push(...untrackedContainerDeletions(input.untrackedContainers, config, nowMs));
      let budget = perCycle - chosen.size;
      const smallestFirst = [...untrackedEligible].sort(
        (a, b) => a.sizeBytes - b.sizeBytes || compare(a.imageId, b.imageId),
      );
      for (const image of smallestFirst) {
        if (budget <= 0) break;
        // As upstream: the budget is checked per image, and each untagged name of a multi-tag image counts
        // as one removal (so such an image is removed whole, even past the budget).
        const refs = image.repoTags.length > 1 ? [...image.repoTags] : [image.imageId];
        budget -= refs.length;
        chosen.add(image.imageId);
        deletions.push({
          kind: 'remove-image',
          imageId: image.imageId,
          refs,
          sizeBytes: image.sizeBytes,
          tracked: false,
          step: 'untracked',
          reason: `non-ECS image ${describeUntracked(image)} (${image.sizeBytes} bytes, the smallest left) created ${ago(nowMs - image.createdAtMs)} ago, more than NON_ECS_IMAGE_MINIMUM_CLEANUP_AGE (${ago(config.nonEcsImageMinimumCleanupAgeMs)})`,
        });
      }
    }
  }

  if (input.disk === undefined || input.disk.totalBytes <= 0) return { deletions };
  const percent = (usedBytes: number): number => (100 * usedBytes) / input.disk!.totalBytes;
  const diskUsedPercent = percent(input.disk.usedBytes);
  let projectedBytes = input.disk.usedBytes;
  for (const deletion of deletions) {
    if (deletion.kind === 'remove-image' && chosen.has(deletion.imageId)) projectedBytes -= deletion.sizeBytes;
  }
  // 100 % turns the extension off: a full disk is then left to the interval cycle alone.
  const underPressure = config.imageGcHighPercent < 100 && diskUsedPercent >= config.imageGcHighPercent;
  if (underPressure) {
    const candidates: Array<{ lastUsedMs: number; deletion: RemoveImageDeletion }> = [];
    for (const image of trackedEligible) {
      if (chosen.has(image.imageId)) continue;
      candidates.push({ lastUsedMs: image.lastUsedAtMs, deletion: trackedDeletion(image, 'disk-pressure', '') });
    }
    if (config.enableUntrackedImageCleanup) {
      for (const image of untrackedEligible) {
        if (chosen.has(image.imageId)) continue;
        // A non-ECS image has no last-used time: its creation stands in (upstream's own TODO says the same).
        const refs = image.repoTags.length > 1 ? [...image.repoTags] : [image.imageId];
        candidates.push({
          lastUsedMs: image.createdAtMs,
          deletion: {
            kind: 'remove-image',
            imageId: image.imageId,
            refs,
            sizeBytes: image.sizeBytes,
            tracked: false,
            step: 'disk-pressure',
            reason: '',
          },
        });
      }
    }
    candidates.sort((a, b) => a.lastUsedMs - b.lastUsedMs || compare(a.deletion.imageId, b.deletion.imageId));
    for (const { deletion } of candidates) {
      if (percent(projectedBytes) <= config.imageGcLowPercent) break;
      const before = percent(projectedBytes);
      projectedBytes -= deletion.sizeBytes;
      const name = deletion.tracked
        ? describeTracked(deletion)
        : describeUntracked({ imageId: deletion.imageId, repoTags: deletion.refs });
      deletion.reason = `disk pressure: ${formatPercent(diskUsedPercent)} % used, at or above ECSD_IMAGE_GC_HIGH_PERCENT (${config.imageGcHighPercent}); removing the least recently used ${name} (projected ${formatPercent(before)} → ${formatPercent(percent(projectedBytes))} %, target ECSD_IMAGE_GC_LOW_PERCENT ${config.imageGcLowPercent})`;
      chosen.add(deletion.imageId);
      deletions.push(deletion);
    }
  }
  return { deletions, diskUsedPercent, projectedUsedPercent: percent(Math.max(0, projectedBytes)) };
}

function trackedDeletion(image: TrackedImage, step: CleanupStep, reason: string): RemoveImageDeletion {
  return {
    kind: 'remove-image',
    imageId: image.imageId,
    refs: image.names.length > 0 ? [...image.names] : [image.imageId],
    sizeBytes: image.sizeBytes,
    tracked: true,
    step,
    reason,
  };
}

function trackedReason(image: TrackedImage, config: ImageCleanupConfig, nowMs: number): string {
  const name = image.names[0] ?? image.imageId;
  return `least recently used image ${name} (last used ${ago(nowMs - image.lastUsedAtMs)} ago), unused, pulled ${ago(nowMs - image.pulledAtMs)} ago, more than ECS_IMAGE_MINIMUM_CLEANUP_AGE (${ago(config.imageMinimumCleanupAgeMs)})`;
}

function untrackedContainerDeletions(
  containers: readonly UntrackedContainer[],
  config: ImageCleanupConfig,
  nowMs: number,
): RemoveContainerDeletion[] {
  return containers
    .filter((container) => FINISHED_STATUSES.has(container.status))
    .filter((container) => nowMs - container.finishedAtMs > config.nonEcsContainerCleanupWaitMs)
    .sort((a, b) => a.finishedAtMs - b.finishedAtMs || compare(a.id, b.id))
    .slice(0, Math.max(0, config.numNonEcsContainersDeletePerCycle))
    .map((container) => ({
      kind: 'remove-container',
      containerId: container.id,
      containerName: container.name,
      step: 'untracked',
      reason: `non-ECS container ${container.name} is ${container.status} and finished more than ${ago(config.nonEcsContainerCleanupWaitMs)} ago`,
    }));
}

function describeTracked(deletion: RemoveImageDeletion): string {
  return `image ${deletion.refs[0] ?? deletion.imageId}`;
}

function describeUntracked(image: { imageId: string; repoTags: readonly string[] }): string {
  const tag = image.repoTags.find((ref) => ref !== image.imageId);
  return tag === undefined ? image.imageId : `${tag} (${image.imageId})`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function formatPercent(value: number): string {
  return value.toFixed(1);
}

/** A short human duration: `45s`, `12m`, `3h05m`, `2d04h`. */
function ago(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d${String(hours % 24).padStart(2, '0')}h`;
}
