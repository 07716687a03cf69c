/**
 * The orphans loop's pure planner. An orphan is a container that carries this agent's cluster label and a
 * task ARN that no stored task has: left behind by a lost or quarantined store, or by a task whose record
 * was removed. It is stopped — never left running untracked — but only once every desired-state source has
 * delivered its desired state once after start (sources-ready): before that, the task may simply not have
 * been written yet, and a restarted agent must adopt its containers, not kill them.
 */
import type { ObservedContainer } from '../../src/docker/types.js';

export interface OrphansDesired {
  /** The store holds this task: its containers belong to the containers loop, not to this one. */
  tracked: true;
}

export interface OrphansActual {
  /** This task ARN's containers that carry the agent's cluster label. */
  containers: readonly ObservedContainer[];
  sourcesReady: boolean;
  /** Containers (Docker IDs) whose stop is already running: a stop waits out a grace period. */
  stopsInFlight: ReadonlySet<string>;
}

export type OrphanAction = {
  id: string;
  after: string[];
  kind: 'stop-orphan';
  containerId: string;
  containerName: string;
  graceSec: number;
  reason: string;
};

export const ORPHAN_ACTION_KINDS = ['stop-orphan'] as const satisfies ReadonlyArray<OrphanAction['kind']>;

export function planOrphans(
  desired: OrphansDesired | undefined,
  actual: OrphansActual,
  stopGraceSec: number,
): { actions: OrphanAction[] } {
  if (desired?.tracked || !actual.sourcesReady) return { actions: [] };
  const actions: OrphanAction[] = [];
  for (const container of actual.containers) {
    if (!container.running || actual.stopsInFlight.has(container.id)) continue;
    actions.push({
      id: `stop-orphan:${container.id}`,
      // Orphans are independent of each other: their stops run side by side.
      after: [],
      kind: 'stop-orphan',
      containerId: container.id,
      containerName: container.name,
      graceSec: stopGraceSec,
      reason: `container ${container.name} belongs to task ${container.taskArn ?? '?'}, which no source desires`,
    });
  }
  return { actions };
}
