/**
 * The images loop, keyed by normalised image reference: one key per image whatever the number of tasks
 * using it, so one reference is never pulled twice at once (single-flight) and every waiting container of
 * every task is served by the same pull. Desired state is read from the store's tasks (demand.ts); actual
 * state is the pull record, the engine's images (presence) and the pull in flight. The pull is a detached
 * action: a 20-minute pull never holds a worker, and the key is looked at again when it ends.
 */
import type { DesiredStateStore } from '../../src/store/records.js';
import type { ImagePresence } from '../containers/image-presence.js';
import { createLoop } from '../runtime/loop.js';
import type { Loop, LoopDefinition, LoopDeps } from '../runtime/types.js';
import { mayWaitOnPull, type PullDemander, prepullDemand, taskPullDemand } from './demand.js';
import { IMAGE_ACTION_KINDS, type ImagesActual, type ImagesDesired, type PullAction, planImagePull } from './plan.js';
import type { PullSettings } from './pull-policy.js';
import { type PullRunnerDeps, runPull } from './pull-runner.js';

export interface ImagesLoopDeps {
  store: DesiredStateStore;
  presence: ImagePresence;
  settings: PullSettings;
  runner: PullRunnerDeps;
  nowMs: () => number;
  /** ECSD_PREPULL_IMAGES, pulled once after `agentStartMs` through this loop's own pull path. */
  prepull?: { images: readonly string[]; agentStartMs: number };
}

export function imagesLoopDefinition(deps: ImagesLoopDeps): LoopDefinition<ImagesDesired, ImagesActual, PullAction> {
  const upfront = deps.settings.dependentContainersUpfront;
  const demandOf = (arn: string): Array<PullDemander & { ref: string }> => {
    const task = deps.store.getTask(arn);
    // mayWaitOnPull first: it reads only the task row, and every commit of a burst asks this of its task.
    return task === undefined || !mayWaitOnPull(task)
      ? []
      : taskPullDemand(task, deps.store.listContainers(arn), upfront, deps.nowMs());
  };
  const waitingTasks = () => deps.store.listTasks().filter(mayWaitOnPull);
  const prepull = deps.prepull === undefined ? [] : prepullDemand(deps.prepull.images, deps.prepull.agentStartMs);
  const allKeys = (): Set<string> => {
    const refs = new Set<string>(prepull.map((d) => d.ref));
    for (const task of waitingTasks()) for (const d of demandOf(task.arn)) refs.add(d.ref);
    return refs;
  };
  return {
    name: 'images',
    actionKinds: IMAGE_ACTION_KINDS,
    detachedActionKinds: ['pull'],
    // Tasks and containers say who waits (pullStartedAtMs, known status); pulls are this loop's own records.
    watchedTables: ['tasks', 'containers', 'pulls'],
    keys: allKeys,
    keysForChange(change) {
      if (change.taskArns === 'all' || change.keysByTable === 'all') return allKeys();
      const refs = new Set<string>(change.keysByTable.pulls ?? []);
      for (const arn of change.taskArns) for (const d of demandOf(arn)) refs.add(d.ref);
      return refs;
    },
    readDesired(ref) {
      const demanders: PullDemander[] = prepull.filter((d) => d.ref === ref);
      for (const task of waitingTasks()) {
        for (const d of taskPullDemand(task, deps.store.listContainers(task.arn), upfront, deps.nowMs())) {
          if (d.ref === ref) demanders.push(d);
        }
      }
      return demanders.length === 0 ? undefined : { ref, demanders };
    },
    async observe(ref, desired, inFlight) {
      const image = desired?.demanders[0]?.image ?? ref;
      const present = await deps.presence.present([image]);
      return { pull: deps.store.getImagePull(ref), present: present.has(image), pulling: inFlight.size > 0 };
    },
    plan: (desired, actual) => planImagePull(desired, actual, deps.settings),
    // The pull's records carry this reconcile's origin, so its own progress writes do not wake the ref again.
    apply: (_ref, action, signal, _desired, origin) =>
      runPull({ ...deps.runner, store: deps.runner.store.writerFor(origin) }, action, signal),
  };
}

export function createImagesLoop(
  deps: ImagesLoopDeps & { runtime: Omit<LoopDeps<PullAction>, 'store'> },
): Loop<PullAction> {
  const { runtime, ...definitionDeps } = deps;
  return createLoop(imagesLoopDefinition(definitionDeps), { ...runtime, store: deps.store });
}
