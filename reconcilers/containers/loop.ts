/**
 * The containers loop: keyed by task ARN, so one task is never worked by two workers while many tasks
 * progress in parallel. Desired state comes from the store, actual state from the shared Docker view
 * (a cache, never a per-reconcile Docker list), and the pure planner decides; the executor applies.
 */
import type { ContainerView } from '../../src/docker/container-view.js';
import { normalizeImageRef } from '../../src/docker/informer-images.js';
import type { TaskCgroupManager } from '../../src/host/task-cgroup.js';
import { taskIdFromArn } from '../../src/model/task.js';
import type { DesiredStateStore, ImagePullRecord } from '../../src/store/records.js';
import { mayWaitOnPull } from '../images/demand.js';
import { createLoop } from '../runtime/loop.js';
import type { Loop, LoopDefinition, LoopDeps } from '../runtime/types.js';
import { holdsResources, isQueued } from './admission.js';
import type { ContainersExecutor } from './executor.js';
import type { ImagePresence } from './image-presence.js';
import { planContainers } from './plan.js';
import { taskCgroupWanted } from './plan-actions.js';
import type { ContainerAction, ContainersActual, ContainersDesired, ContainersPlanSettings } from './types.js';
import { recordedVolumeFor } from './volume-names.js';

export const CONTAINER_ACTION_KINDS = [
  'record',
  'setup-task-cgroup',
  'create-volume',
  'create',
  'start',
  'stop',
  'inspect',
] as const satisfies ReadonlyArray<ContainerAction['kind']>;

export interface ContainersLoopDeps {
  store: DesiredStateStore;
  view: ContainerView;
  images: ImagePresence;
  cgroups: TaskCgroupManager;
  executor: ContainersExecutor;
  settings: ContainersPlanSettings;
  nowMs: () => number;
}

export function containersLoopDefinition(
  deps: ContainersLoopDeps,
): LoopDefinition<ContainersDesired, ContainersActual, ContainerAction> {
  return {
    name: 'containers',
    actionKinds: CONTAINER_ACTION_KINDS,
    // The planner's record action is a fixed point (plan.ts): planning again from what it wrote gives nothing.
    storeOnlyActionKinds: ['record'],
    // A stop waits out the container's grace period: started, then observed, never holding the task (a
    // container of the same task exiting meanwhile is recorded at once). The planner sees stops in flight.
    detachedActionKinds: ['stop'],
    // What readDesired and observe read. Not 'sent' or 'outbox': the reporter's acks never change a plan.
    // 'pulls' (the images loop's records) only when pulls are on: a pull's progress or end moves its waiters.
    watchedTables:
      deps.settings.pulls === undefined
        ? ['tasks', 'containers', 'volumes']
        : ['tasks', 'containers', 'volumes', 'pulls'],
    // A container's change in Docker wakes its task (events and relists, through the shared informer).
    watches: [{ kind: 'container', keysFor: (change) => (change.taskArn === undefined ? [] : [change.taskArn]) }],
    keys: () => activeTaskArns(deps.store),
    keysForChange(change) {
      if (change.taskArns === 'all' || change.keysByTable === 'all') return activeTaskArns(deps.store);
      const changed = withWaitingTasks(deps.store, change.taskArns);
      const refs = change.keysByTable.pulls;
      if (refs === undefined || refs.length === 0) return changed;
      return [...new Set([...changed, ...tasksWaitingOnPulls(deps.store, refs)])];
    },
    readDesired(taskArn) {
      const task = deps.store.getTask(taskArn);
      if (!task) return undefined;
      const desired: ContainersDesired = {
        task,
        containers: deps.store.listContainers(taskArn),
        volumes: deps.store.listVolumes().filter((v) => v.taskArn === taskArn || v.scope === 'shared'),
      };
      // Only a task in the admission line needs the ledger, every other task's record (plan-admission.ts):
      // reading it costs a row per task ever stored, and a task that stopped or is stopping never asks.
      if (deps.settings.hostCapacity !== undefined && isQueued(task)) desired.ledgerTasks = deps.store.listTasks();
      return desired;
    },
    async observe(taskArn, desired, inFlight) {
      const containers = new Map(
        deps.view
          .byTask(taskArn)
          .filter((c) => c.containerName !== undefined)
          .map((c) => [c.containerName!, c] as const),
      );
      const images = desired ? desired.task.spec.containers.map((c) => c.image) : [];
      const volumesPresent = new Set<string>();
      if (desired) {
        for (const spec of desired.task.spec.volumes) {
          if (recordedVolumeFor(desired.task, spec, desired.volumes)) volumesPresent.add(spec.name);
        }
      }
      const stopsInFlight = new Set<string>();
      for (const action of inFlight.values()) {
        if (action.kind === 'stop') stopsInFlight.add((action as Extract<ContainerAction, { kind: 'stop' }>).container);
      }
      return {
        containers,
        stopsInFlight,
        viewSynced: deps.view.synced(),
        imagesPresent: await deps.images.present(images),
        ...(deps.settings.pulls === undefined ? {} : { pulls: pullRecords(deps.store, images) }),
        volumesPresent,
        // Only a task with limits has a cgroup to look for: the check costs stat calls on every reconcile.
        taskCgroupReady:
          desired !== undefined && taskCgroupWanted(desired.task.spec, deps.settings)
            ? deps.cgroups.exists(taskIdFromArn(taskArn))
            : false,
        nowMs: deps.nowMs(),
      };
    },
    plan(desired, actual) {
      if (!desired) return { actions: [] };
      return planContainers(desired, actual, deps.settings);
    },
    apply: (taskArn, action, signal, desired, origin) =>
      deps.executor.apply(taskArn, action, desired?.task, signal, origin),
  };
}

export interface CreateContainersLoopDeps extends ContainersLoopDeps {
  /**
   * The runtime's deps (clock, logger, metrics, intervals, bounds, and `informer` for Docker changes); the
   * store is the one above.
   */
  runtime: Omit<LoopDeps<ContainerAction>, 'store'>;
}

/** The containers loop, ready to `start()`: the agent only wires its dependencies. */
export function createContainersLoop(deps: CreateContainersLoopDeps): Loop<ContainerAction> {
  const { runtime, ...definitionDeps } = deps;
  return createLoop(containersLoopDefinition(definitionDeps), { ...runtime, store: deps.store });
}

/**
 * The changed tasks, plus every task waiting for admission when a changed task may have moved the ledger or
 * the line: one admitted, one STOPPED (its hold released), one gone. So a release re-plans the waiting
 * tasks at once, not at the next resync. A waiting task's own write (its waiting text) wakes no one.
 */
export function withWaitingTasks(store: DesiredStateStore, changed: readonly string[]): readonly string[] {
  const movesLedger = changed.some((arn) => {
    const task = store.getTask(arn);
    return task === undefined || task.knownStatus === 'STOPPED' || holdsResources(task);
  });
  if (!movesLedger) return changed;
  const waiting = store.listQueuedTaskArns();
  if (waiting.length === 0) return changed;
  return [...new Set([...changed, ...waiting])];
}

/** The pull records of these images, by normalised reference. */
function pullRecords(store: DesiredStateStore, images: readonly string[]): Map<string, ImagePullRecord> {
  const records = new Map<string, ImagePullRecord>();
  for (const image of images) {
    const ref = normalizeImageRef(image);
    if (records.has(ref)) continue;
    const pull = store.getImagePull(ref);
    if (pull !== undefined) records.set(ref, pull);
  }
  return records;
}

/**
 * Tasks that may wait on a pull of one of `refs` (mayWaitOnPull) with a container using the image. A pull's
 * progress and end wake these, not every running task that uses the image.
 */
export function tasksWaitingOnPulls(store: DesiredStateStore, refs: readonly string[]): string[] {
  const wanted = new Set(refs);
  return store
    .listTasks()
    .filter((t) => mayWaitOnPull(t) && t.spec.containers.some((c) => wanted.has(normalizeImageRef(c.image))))
    .map((t) => t.arn);
}

/** Tasks that still need container work: a known-STOPPED task has nothing left to converge. */
function activeTaskArns(store: DesiredStateStore): string[] {
  return store
    .listTasks()
    .filter((t) => t.knownStatus !== 'STOPPED')
    .map((t) => t.arn);
}
