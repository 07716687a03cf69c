/**
 * The orphans loop, keyed by task ARN: containers of this agent's cluster whose task the store does not
 * know are stopped once the sources are ready (plan.ts). Reads Docker through the shared view only.
 */
import type { ContainerView } from '../../src/docker/container-view.js';
import { type DockerEngine, LABEL_CLUSTER } from '../../src/docker/types.js';
import type { Logger } from '../../src/logging/types.js';
import type { DesiredStateStore } from '../../src/store/records.js';
import { createLoop } from '../runtime/loop.js';
import type { Loop, LoopDefinition, LoopDeps } from '../runtime/types.js';
import {
  ORPHAN_ACTION_KINDS,
  type OrphanAction,
  type OrphansActual,
  type OrphansDesired,
  planOrphans,
} from './plan.js';

export interface OrphansLoopDeps {
  store: Pick<DesiredStateStore, 'getTask'>;
  view: Pick<ContainerView, 'all' | 'byTask' | 'withMutation'>;
  engine: Pick<DockerEngine, 'stopContainer'>;
  /** Only containers with this cluster label are this agent's (other agents may share the engine). */
  cluster: string;
  sourcesReady: () => boolean;
  stopGraceSec: number;
  /** Client deadline on top of the grace period. */
  stopClientSlackMs: number;
  logger: Logger;
}

export function orphansLoopDefinition(
  deps: OrphansLoopDeps,
): LoopDefinition<OrphansDesired, OrphansActual, OrphanAction> {
  const ours = (labels: Record<string, string>): boolean => labels[LABEL_CLUSTER] === deps.cluster;
  return {
    name: 'orphans',
    actionKinds: ORPHAN_ACTION_KINDS,
    // A stop waits out the grace period: it runs outside the worker bound and is observed, not awaited.
    detachedActionKinds: ['stop-orphan'],
    // Only a container whose task the store does not know can be an orphan: a change to any other (every
    // start and exit of every tracked task) would cost a reconcile that plans nothing.
    watches: [
      {
        kind: 'container',
        keysFor: (change) => (change.taskArn && !deps.store.getTask(change.taskArn) ? [change.taskArn] : []),
      },
    ],
    // A task deleted from the store turns its containers into orphans. A write to a task the store still
    // holds cannot (its containers are the containers loop's), and every status the containers loop records
    // is such a write: waking for those cost a reconcile that plans nothing, per task transition.
    watchedTables: ['tasks'],
    keys() {
      const arns = new Set<string>();
      for (const container of deps.view.all()) {
        if (
          container.taskArn &&
          container.running &&
          ours(container.labels) &&
          !deps.store.getTask(container.taskArn)
        ) {
          arns.add(container.taskArn);
        }
      }
      return arns;
    },
    keysForChange: (change) =>
      change.taskArns === 'all' ? [] : change.taskArns.filter((taskArn) => !deps.store.getTask(taskArn)),
    readDesired: (taskArn) => (deps.store.getTask(taskArn) ? { tracked: true } : undefined),
    async observe(taskArn, _desired, inFlight) {
      const stopsInFlight = new Set<string>();
      for (const action of inFlight.values()) {
        if (action.kind === 'stop-orphan') stopsInFlight.add((action as OrphanAction).containerId);
      }
      return {
        containers: deps.view.byTask(taskArn).filter((container) => ours(container.labels)),
        sourcesReady: deps.sourcesReady(),
        stopsInFlight,
      };
    },
    plan: (desired, actual) => planOrphans(desired, actual, deps.stopGraceSec),
    async apply(taskArn, action, signal) {
      deps.logger.warn('stopping an orphan container', {
        taskArn,
        container: action.containerName,
        id: action.containerId,
        reason: action.reason,
      });
      await deps.view.withMutation(action.containerId, () =>
        deps.engine.stopContainer(action.containerId, action.graceSec, {
          timeoutMs: action.graceSec * 1000 + deps.stopClientSlackMs,
          signal,
        }),
      );
    },
  };
}

export function createOrphansLoop(deps: OrphansLoopDeps & { runtime: LoopDeps<OrphanAction> }): Loop<OrphanAction> {
  const { runtime, ...definitionDeps } = deps;
  return createLoop(orphansLoopDefinition(definitionDeps), runtime);
}
