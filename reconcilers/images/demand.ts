/**
 * Which containers want a pull of which image now, read from the store's task records alone — the images
 * loop's desired state. The rule is the containers planner's own (`mayPull`, plan-pulls.ts) applied to the
 * records that planner wrote, and a task asks only once it has `pullStartedAtMs` (set by that planner when
 * its first container starts waiting: admitted, not desired STOPPED — fact sheet 7.1 skips pulls for tasks
 * already desired STOPPED).
 */

import { normalizeImageRef } from '../../src/docker/informer-images.js';
import type { RegistryAuthSpec } from '../../src/model/task.js';
import type { ContainerRecord, TaskRecord } from '../../src/store/records.js';
import { buildDependencyGraph } from '../containers/plan-dependencies.js';
import { mayPull } from '../containers/plan-pulls.js';
import { createPlanState } from '../containers/plan-state.js';

/** One container waiting on a pull, or the start-up pre-pull of an image (no task, no container). */
export interface PullDemander {
  /** Empty for a pre-pull. */
  taskArn: string;
  container: string;
  /** ECSD_PREPULL_IMAGES: pulled at start-up so the first task using it does not wait (an ecsd extension). */
  prepull?: true;
  /** The image as the task wrote it (what logs and waiting texts show). */
  image: string;
  /** When its task began waiting on pulls: a pull that ended before does not serve it (pull-policy.ts). */
  waitStartMs: number;
  /** The container's `registryAuthentication` (ECR, ASM); absent: ECS_ENGINE_AUTH_* or anonymous. */
  registryAuth?: RegistryAuthSpec;
}

/**
 * A task that asked for pulls and may still have a container waiting on one (cheap, from the task row). One
 * whose known status passed MANIFEST_PULLED has every container at CREATED or beyond (task known is the
 * minimum over its containers, PULLED mapping to MANIFEST_PULLED; fact sheet 4.4): nothing left to pull.
 */
export function mayWaitOnPull(task: TaskRecord): boolean {
  return (
    task.pullStartedAtMs !== undefined &&
    task.desiredStatus !== 'STOPPED' &&
    (task.knownStatus === 'NONE' || task.knownStatus === 'MANIFEST_PULLED')
  );
}

/** The containers of one task that want their image pulled now, by normalised reference. */
export function taskPullDemand(
  task: TaskRecord,
  containers: readonly ContainerRecord[],
  upfront: boolean,
  nowMs: number,
): Array<PullDemander & { ref: string }> {
  const waitStartMs = task.pullStartedAtMs;
  if (waitStartMs === undefined || task.desiredStatus === 'STOPPED' || task.knownStatus === 'STOPPED') return [];
  const state = createPlanState(
    { task, containers: [...containers], volumes: [] },
    {
      containers: new Map(),
      viewSynced: false,
      imagesPresent: new Set(),
      volumesPresent: new Set(),
      taskCgroupReady: false,
      nowMs,
    },
  );
  const graph = buildDependencyGraph(task.spec);
  return state.containers
    .filter((c) => mayPull(state, graph, c, upfront))
    .map((c) => ({
      taskArn: task.arn,
      container: c.name,
      image: c.spec.image,
      waitStartMs,
      ref: normalizeImageRef(c.spec.image),
      ...(c.spec.registryAuth === undefined ? {} : { registryAuth: c.spec.registryAuth }),
    }));
}

/**
 * The start-up pre-pull of ECSD_PREPULL_IMAGES, as demanders that belong to no task. Their wait starts with the
 * agent, so one pull that ends after start serves them (success or failure alike: a failed pre-pull is not
 * retried here; the first task using the image pulls it as usual), and the pull behaviour decides as for tasks
 * (prefer-cached, or once with the image already pulled, pulls nothing).
 */
export function prepullDemand(images: readonly string[], agentStartMs: number): Array<PullDemander & { ref: string }> {
  return images.map((image) => ({
    taskArn: '',
    container: '',
    prepull: true,
    image,
    waitStartMs: agentStartMs,
    ref: normalizeImageRef(image),
  }));
}
