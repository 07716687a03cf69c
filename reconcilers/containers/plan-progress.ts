/**
 * Decides, for each container still heading to RUNNING, whether its next step can ever happen: a terminal
 * dependency failure (fact sheet 4.5) or a create that is impossible on this host (no local image, a volume
 * the agent cannot provide) ends the container here, as a failed transition does upstream (fact sheet 4.6).
 */
import type { VolumeSpec } from '../../src/model/task.js';
import { type DependencyGraph, type DependencyVerdict, evaluateDependencies } from './plan-dependencies.js';
import {
  DEPENDENCY_FAILURE_EXIT_CODE,
  dependencyFailureReason,
  imageMissingReason,
  unknownVolumeReason,
  unsupportedVolumeReason,
} from './plan-reasons.js';
import {
  isBelowCreated,
  isBelowPulled,
  isStopped,
  type PlanState,
  raiseContainerDesired,
  setContainerReasonOnce,
  type WorkContainer,
} from './plan-state.js';
import type { ContainersActual } from './types.js';

/** The step a container heading to RUNNING takes next, if it has one left. */
export function nextTransition(c: WorkContainer): 'create' | 'start' | undefined {
  // Docker shows it exited; only the record lags (plan-late-oom.ts). Creating or starting it again is wrong.
  if (c.exitHeld !== undefined) return undefined;
  if (isBelowCreated(c.rec.knownStatus)) return 'create';
  if (c.rec.knownStatus === 'CREATED') return 'start';
  return undefined;
}

/** Whether the container is still meant to reach RUNNING within a task that is meant to run. */
export function isHeadingToRunning(state: PlanState, c: WorkContainer): boolean {
  return state.task.desiredStatus === 'RUNNING' && c.rec.desiredStatus === 'RUNNING';
}

/**
 * Volumes the agent creates itself (fact sheet 3.6): a host volume without a source path (a task-scoped
 * `local` volume stands in), a task-scoped Docker volume, and a shared one with autoprovision.
 */
export function isAgentProvisioned(volume: VolumeSpec): boolean {
  if (volume.type === 'host') return volume.sourcePath === undefined || volume.sourcePath === '';
  if (volume.type === 'docker') return volume.scope === 'task' || volume.autoprovision;
  return false;
}

/** Why the container can never be created on this host, or undefined when it can. */
export function createImpossibleReason(
  state: PlanState,
  c: WorkContainer,
  actual: ContainersActual,
): string | undefined {
  for (const mount of c.spec.mountPoints) {
    const volume = state.task.spec.volumes.find((v) => v.name === mount.sourceVolume);
    if (!volume) return unknownVolumeReason(mount.sourceVolume);
    if (volume.type === 'unsupported') return unsupportedVolumeReason(volume.name, volume.originalType);
  }
  if (!actual.imagesPresent.has(c.spec.image)) return imageMissingReason(c.spec.image);
  return undefined;
}

/**
 * One round over the containers heading to RUNNING. Returns whether anything changed. The image and volume
 * checks run only once the dependencies allow the create, as upstream only attempts a transition then.
 */
export function failUnreachableContainers(
  state: PlanState,
  graph: DependencyGraph,
  actual: ContainersActual,
  pullsOn = false,
): boolean {
  let changed = false;
  for (const c of state.containers) {
    if (!isHeadingToRunning(state, c)) continue;
    const step = nextTransition(c);
    if (step === undefined) continue;
    const verdict: DependencyVerdict = evaluateDependencies(state, graph, c);
    if (verdict.kind === 'terminal') {
      changed =
        failContainer(state, c, dependencyFailureReason(verdict.message), DEPENDENCY_FAILURE_EXIT_CODE) || changed;
      continue;
    }
    if (verdict.kind !== 'satisfied' || step !== 'create') continue;
    // With the images loop, an image is judged at the pull step (plan-pulls.ts); a create comes after PULLED.
    if (pullsOn && isBelowPulled(c.rec.knownStatus)) continue;
    const impossible = createImpossibleReason(state, c, actual);
    if (impossible !== undefined) changed = failContainer(state, c, impossible, undefined) || changed;
  }
  return changed;
}

/** A failed transition: desired STOPPED, the first reason kept, and for dependency failures the synthetic code. */
export function failContainer(
  state: PlanState,
  c: WorkContainer,
  reason: string,
  exitCode: number | undefined,
): boolean {
  if (isStopped(c.rec.desiredStatus)) return false;
  raiseContainerDesired(state, c, 'STOPPED', reason);
  setContainerReasonOnce(c, reason);
  if (exitCode !== undefined && c.rec.exitCode === undefined) c.rec.exitCode = exitCode;
  return true;
}
