/**
 * The cleanup planner's input (plan-cleanup.ts), read from what the agent knows now: the store's image
 * records and tasks, the pulls in flight, the informer's image cache and — only when untracked cleanup is on —
 * the engine's non-ECS containers.
 *
 * "In use" is read widely on purpose (fact sheet 7.4: an image referenced by a task not yet cleaned up is
 * never removed): every task still in the store counts, whatever its status, by the image its containers
 * name (normalised, so `busybox` and `docker.io/library/busybox:latest` are one) and by the image ID Docker
 * gave its containers. That covers local images ecsd never pulled, which have no record: they are
 * untracked images marked in use.
 */
import { normalizeImageRef } from '../../src/docker/informer-images.js';
import {
  type DockerEngine,
  LABEL_TASK_ARN,
  type ObservedContainer,
  type ObservedImage,
} from '../../src/docker/types.js';
import type { DesiredStateStore } from '../../src/store/records.js';
import type {
  CleanupTrigger,
  DiskState,
  ImageCleanupConfig,
  ImageCleanupInput,
  TrackedImage,
  UntrackedContainer,
  UntrackedImage,
} from './plan-cleanup.js';

/**
 * Images upstream always leaves alone (fact sheet 7.4): its pause image and its own image. ecsd neither uses
 * nor ships them, but a host moving from the upstream agent has them, and the upstream agent may come back.
 */
export const UPSTREAM_EXCLUDED_IMAGES: readonly string[] = [
  'amazon/amazon-ecs-pause:0.1.0',
  'amazon/amazon-ecs-agent:latest',
];

/** Docker's placeholder for an image without a tag (`docker images` shows `<none>`). */
const NO_TAG = '<none>:<none>';

/** What the cleanup settings hold: the planner's knobs and the lists of names it must never remove. */
export interface CleanupSettings {
  config: ImageCleanupConfig;
  /** ECS_EXCLUDE_UNTRACKED_IMAGE; UPSTREAM_EXCLUDED_IMAGES are added here. */
  excludeUntrackedImages: readonly string[];
  /** ECSD_PINNED_IMAGES. */
  pinnedImages: readonly string[];
  /** ECSD_PREPULL_IMAGES. */
  prepullImages: readonly string[];
}

export interface CleanupInputSources {
  store: Pick<DesiredStateStore, 'listImages' | 'listTasks' | 'listContainers' | 'listImagePulls'>;
  /** The informer's image cache. */
  images: readonly ObservedImage[];
  /**
   * Containers the agent can see (the informer's ECS containers, plus non-ECS ones when untracked cleanup is
   * on): an image any of them uses is in use for `docker rmi`, whoever owns the container.
   */
  containers: readonly ObservedContainer[];
}

export interface CleanupMoment {
  trigger: CleanupTrigger;
  nowMs: number;
  disk?: DiskState;
}

/** What the tasks in the store use: image references (normalised) and image IDs, each with the tasks. */
interface TaskUse {
  byRef: Map<string, Set<string>>;
  byId: Map<string, Set<string>>;
}

export function buildCleanupInput(
  sources: CleanupInputSources,
  settings: CleanupSettings,
  moment: CleanupMoment,
): ImageCleanupInput {
  const use = taskImageUse(sources.store);
  const pulling = pullsInFlight(sources.store);
  const tracked = sources.store.listImages().map((record): TrackedImage => {
    const tasks = new Set(use.byId.get(record.imageId) ?? []);
    for (const name of record.names) for (const arn of use.byRef.get(normalizeImageRef(name)) ?? []) tasks.add(arn);
    return {
      ...record,
      referencingTaskArns: [...tasks].sort(),
      pullInFlight: pulling.ids.has(record.imageId) || record.names.some((n) => pulling.refs.has(normalizeImageRef(n))),
    };
  });
  const containerImageIds = new Set(sources.containers.map((c) => c.imageId));
  const untrackedImages = sources.images.map((image): UntrackedImage => {
    const repoTags = image.repoTags.filter((tag) => tag !== NO_TAG);
    const refs = [...repoTags, ...image.repoDigests].map(normalizeImageRef);
    const inUse =
      containerImageIds.has(image.id) ||
      use.byId.has(image.id) ||
      pulling.ids.has(image.id) ||
      refs.some((ref) => use.byRef.has(ref) || pulling.refs.has(ref));
    return { imageId: image.id, repoTags, sizeBytes: image.sizeBytes, createdAtMs: image.createdAtMs, inUse };
  });
  const untrackedContainers = sources.containers
    .filter((c) => c.taskArn === undefined && c.labels[LABEL_TASK_ARN] === undefined)
    .map(
      (c): UntrackedContainer => ({
        id: c.id,
        name: c.name,
        status: c.state,
        // Never started: Docker's zero time, i.e. long finished (upstream reads FinishedAt the same way).
        finishedAtMs: c.finishedAtMs ?? 0,
      }),
    );
  return {
    tracked,
    // The planner leaves out images that have a record; the rest are the untracked ones.
    untrackedImages,
    untrackedContainers,
    excluded: [...settings.excludeUntrackedImages, ...UPSTREAM_EXCLUDED_IMAGES],
    pinned: settings.pinnedImages,
    prepull: settings.prepullImages,
    config: settings.config,
    ...(moment.disk === undefined ? {} : { disk: moment.disk }),
    trigger: moment.trigger,
    nowMs: moment.nowMs,
  };
}

/** Every task still in the store holds its images, whatever its status: it is not cleaned up yet. */
function taskImageUse(store: CleanupInputSources['store']): TaskUse {
  const byRef = new Map<string, Set<string>>();
  const byId = new Map<string, Set<string>>();
  const add = (map: Map<string, Set<string>>, key: string, arn: string): void => {
    const set = map.get(key) ?? new Set<string>();
    set.add(arn);
    map.set(key, set);
  };
  for (const task of store.listTasks()) {
    for (const container of task.spec.containers) add(byRef, normalizeImageRef(container.image), task.arn);
    for (const record of store.listContainers(task.arn)) {
      if (record.imageId !== undefined && record.imageId !== '') add(byId, record.imageId, task.arn);
    }
  }
  return { byRef, byId };
}

/** Pulls running now (image_pulls state `pulling`): their reference, and the image an earlier pull of it made. */
function pullsInFlight(store: CleanupInputSources['store']): { refs: Set<string>; ids: Set<string> } {
  const refs = new Set<string>();
  const ids = new Set<string>();
  for (const pull of store.listImagePulls()) {
    if (pull.state !== 'pulling') continue;
    refs.add(pull.ref);
    if (pull.imageId !== undefined) ids.add(pull.imageId);
  }
  return { refs, ids };
}

/**
 * Every container Docker has that is not an ECS task's, inspected (the informer watches only labelled ones).
 * A container that vanishes between list and inspect is skipped.
 */
export async function listNonEcsContainers(
  engine: Pick<DockerEngine, 'listContainers' | 'inspectContainer'>,
  signal: AbortSignal,
): Promise<ObservedContainer[]> {
  const listed = await engine.listContainers([], { signal });
  const out: ObservedContainer[] = [];
  for (const entry of listed) {
    if (entry.labels[LABEL_TASK_ARN] !== undefined) continue;
    const observed = await engine.inspectContainer(entry.id, { signal });
    if (observed !== undefined) out.push(observed);
  }
  return out;
}
