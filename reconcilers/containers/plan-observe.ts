/**
 * Observe → record: what Docker showed becomes each container's known status, exit code, health, IDs,
 * timestamps and port bindings. Known status is only ever raised (fact sheet 4.2, 4.10 step 3).
 */
import type { DockerContainerState, DockerHealth, ObservedContainer } from '../../src/docker/types.js';
import type { ContainerStatus, HealthStatus } from '../../src/model/status.js';
import { exitVerdict } from './plan-late-oom.js';
import { OOM_REASON, VANISHED_REASON } from './plan-reasons.js';
import {
  isStopped,
  type PlanState,
  raiseContainerKnown,
  samePortBindings,
  setContainerReasonOnce,
  type WorkContainer,
} from './plan-state.js';

/**
 * Docker state → the container status it proves. `paused`/`restarting` still hold a live process, so they
 * count as running; `removing` only happens after exit.
 */
export function statusFromDockerState(state: DockerContainerState): ContainerStatus {
  switch (state) {
    case 'created':
      return 'CREATED';
    case 'running':
    case 'paused':
    case 'restarting':
      return 'RUNNING';
    case 'removing':
    case 'exited':
    case 'dead':
      return 'STOPPED';
  }
}

/** Upstream maps Docker health the same way: anything but healthy/unhealthy is UNKNOWN. */
export function healthFromDocker(health: DockerHealth): HealthStatus {
  if (health === 'healthy') return 'HEALTHY';
  if (health === 'unhealthy') return 'UNHEALTHY';
  return 'UNKNOWN';
}

export function observeContainers(state: PlanState, viewSynced: boolean): void {
  for (const c of state.containers) {
    if (c.observed) applyObservation(state, c, c.observed);
    else if (viewSynced) markVanished(state, c);
  }
}

function applyObservation(state: PlanState, c: WorkContainer, observed: ObservedContainer): void {
  const rec = c.rec;
  const wasStopped = isStopped(rec.knownStatus);
  // The view is keyed by the container-name label, so an observation is this container even when no ID was
  // recorded yet: the agent died between create and record, and the container is adopted (fact sheet 4.10).
  if (rec.dockerId !== observed.id) {
    state.notes.push(
      rec.dockerId === undefined
        ? `container ${c.name}: adopted Docker container ${observed.id.slice(0, 12)}`
        : `container ${c.name}: Docker container is now ${observed.id.slice(0, 12)}`,
    );
    rec.dockerId = observed.id;
  }
  if (observed.name !== '' && rec.dockerName !== observed.name) rec.dockerName = observed.name;
  if (observed.imageId !== '' && rec.imageId !== observed.imageId) rec.imageId = observed.imageId;
  if (observed.createdAtMs > 0 && rec.createdAtMs !== observed.createdAtMs) rec.createdAtMs = observed.createdAtMs;
  if (observed.startedAtMs !== undefined && rec.startedAtMs !== observed.startedAtMs) {
    rec.startedAtMs = observed.startedAtMs;
  }

  const status = statusFromDockerState(observed.state);
  if (status === 'STOPPED') {
    const verdict = exitVerdict(state, c, observed);
    if (verdict.kind !== 'settled') {
      c.exitHeld = verdict;
      return;
    }
  }
  raiseContainerKnown(state, c, status, `docker ${observed.state}`);

  if (status === 'RUNNING') {
    // Only a live container publishes ports; a stopped one reports none, and the last known bindings are
    // what the STOPPED report should still carry.
    if (!samePortBindings(rec.portBindings, observed.portBindings)) rec.portBindings = [...observed.portBindings];
    // Health is reported only for containers with a Docker health check (fact sheet 3.3).
    if (c.spec.healthCheckType === 'docker') {
      const health = healthFromDocker(observed.health);
      if (rec.health !== health) {
        state.notes.push(`container ${c.name}: health ${health}`);
        rec.health = health;
      }
    }
  }

  if (status === 'STOPPED') {
    // The exit code is Docker's once the container has exited (fact sheet 4.6); a code already recorded
    // for an earlier stop (e.g. the synthetic 143) is kept unless this observation is the stop itself.
    if (!wasStopped || rec.exitCode === undefined) {
      if (rec.exitCode !== observed.exitCode) rec.exitCode = observed.exitCode;
    }
    if (observed.finishedAtMs !== undefined && rec.finishedAtMs !== observed.finishedAtMs) {
      rec.finishedAtMs = observed.finishedAtMs;
    }
    if (observed.oomKilled && setContainerReasonOnce(c, OOM_REASON)) {
      state.notes.push(`container ${c.name}: killed for memory`);
    }
  }
}

/**
 * A recorded Docker ID that the (synced) view no longer has: the container was removed behind the agent's
 * back. Upstream marks it STOPPED with ContainerVanishedError and no exit code (fact sheet 4.6, 4.10).
 */
function markVanished(state: PlanState, c: WorkContainer): void {
  if (c.rec.dockerId === undefined || isStopped(c.rec.knownStatus)) return;
  raiseContainerKnown(state, c, 'STOPPED', `Docker container ${c.rec.dockerId.slice(0, 12)} vanished`);
  setContainerReasonOnce(c, VANISHED_REASON);
}
