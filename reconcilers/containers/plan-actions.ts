/**
 * The Docker-side actions possible now, from the planner's settled view of the task: the task cgroup and
 * task volumes first, then per container one of create / start / stop — or create then start for a
 * container no dependency gates. Containers progress in parallel; a container whose dependencies are not
 * met simply gets nothing this round.
 */

import type { TaskSpec } from '../../src/model/task.js';
import { type DependencyGraph, dependentsStillRunning, evaluateDependencies } from './plan-dependencies.js';
import { statusFromDockerState } from './plan-observe.js';
import { isAgentProvisioned, isHeadingToRunning, nextTransition } from './plan-progress.js';
import { isBelowCreated, isBelowPulled, isStopped, type PlanState, type WorkContainer } from './plan-state.js';
import type { ContainerAction, ContainersActual, ContainersPlanSettings } from './types.js';

export interface DockerActionsPlan {
  actions: ContainerAction[];
  /** Earliest time a dependency timeout can expire for a waiting container. */
  retryAtMs: number | undefined;
}

/** Only a container Docker shows as live can be stopped; anything else is already down. */
function isLiveInDocker(c: WorkContainer): boolean {
  return c.observed !== undefined && statusFromDockerState(c.observed.state) === 'RUNNING';
}

function stopGraceSec(c: WorkContainer, settings: ContainersPlanSettings): number {
  return c.spec.stopTimeoutSec > 0 ? c.spec.stopTimeoutSec : settings.defaultStopTimeoutSec;
}

export function hasTaskLimits(spec: TaskSpec): boolean {
  return spec.cpuVcpu > 0 || spec.memoryMiB > 0;
}

/** A task with task-level cpu or memory limits gets its own cgroup (fact sheet 9), when the host allows it. */
export function taskCgroupWanted(spec: TaskSpec, settings: Pick<ContainersPlanSettings, 'taskCgroupEnabled'>): boolean {
  return settings.taskCgroupEnabled && hasTaskLimits(spec);
}

export function planDockerActions(
  state: PlanState,
  graph: DependencyGraph,
  actual: ContainersActual,
  settings: ContainersPlanSettings,
): DockerActionsPlan {
  const actions: ContainerAction[] = [];
  let retryAtMs: number | undefined;
  const spec = state.task.spec;

  const awaitingCreate = state.containers.filter(
    (c) => isHeadingToRunning(state, c) && isBelowCreated(c.rec.knownStatus),
  );

  // The task cgroup must exist before any container is created: Docker places containers under it through
  // CgroupParent (fact sheet 3.5, 4.5 "cgroup created before PULLED").
  const cgroupWanted = taskCgroupWanted(spec, settings);
  const cgroupPending = cgroupWanted && !actual.taskCgroupReady && awaitingCreate.length > 0;
  if (cgroupPending) {
    actions.push({
      kind: 'setup-task-cgroup',
      reason: `task limits (cpu ${spec.cpuVcpu} vCPU, memory ${spec.memoryMiB} MiB) need the task cgroup before containers are created`,
    });
  }

  // Volumes the agent provisions, created before any container that mounts them (fact sheet 3.6).
  const missingVolumes = new Set<string>();
  for (const volume of spec.volumes) {
    if (!isAgentProvisioned(volume) || actual.volumesPresent.has(volume.name)) continue;
    const users = awaitingCreate.filter((c) => c.spec.mountPoints.some((m) => m.sourceVolume === volume.name));
    if (users.length === 0) continue;
    missingVolumes.add(volume.name);
    actions.push({
      kind: 'create-volume',
      volume: volume.name,
      reason: `volume ${volume.name} is mounted by ${users.map((c) => c.name).join(', ')} and does not exist yet`,
    });
  }

  for (const c of state.containers) {
    if (isStopped(c.rec.desiredStatus)) {
      if (actual.stopsInFlight?.has(c.name)) continue;
      const stop = planStop(state, graph, c, settings);
      if (stop) actions.push(stop);
      continue;
    }
    if (!isHeadingToRunning(state, c)) continue;
    const step = nextTransition(c);
    if (step === undefined) continue;
    const verdict = evaluateDependencies(state, graph, c);
    if (verdict.kind === 'blocked') {
      if (verdict.retryAtMs !== undefined) retryAtMs = Math.min(retryAtMs ?? verdict.retryAtMs, verdict.retryAtMs);
      continue;
    }
    if (verdict.kind !== 'satisfied') continue;
    if (step === 'start') {
      actions.push({ kind: 'start', container: c.name, reason: `container ${c.name}: ${verdict.detail}; starting` });
      continue;
    }
    if (cgroupPending) continue;
    // Waiting for its image (plan-pulls.ts): created once the pull step has passed it to PULLED.
    if (settings.pulls !== undefined && isBelowPulled(c.rec.knownStatus)) continue;
    if (c.spec.mountPoints.some((m) => missingVolumes.has(m.sourceVolume))) continue;
    // With no dependency at all (explicit or implicit), nothing can be learned between create and start,
    // so the start follows in the same plan: the executor applies actions in order and stops at the first
    // failure. That saves a reconcile, a store write, a log line and an inspect per container; the container
    // still passes through CREATED in Docker, exactly as upstream moves it on without waiting on anything.
    const startFollows = (graph.edges.get(c.name) ?? []).length === 0;
    actions.push({
      kind: 'create',
      container: c.name,
      reason: `container ${c.name}: ${verdict.detail}; creating`,
      ...(startFollows ? { startFollows } : {}),
    });
    if (startFollows) {
      actions.push({ kind: 'start', container: c.name, reason: `container ${c.name}: no dependencies; starting` });
    }
  }
  return { actions, retryAtMs };
}

/**
 * A live container desired STOPPED is stopped once every container depending on it has stopped (shutdown
 * order, fact sheet 4.5), with its own stopTimeout or the agent default as grace (fact sheet 4.3). The
 * decision follows what Docker shows, not the record: a container recorded as never started that Docker
 * shows running (a start that raced a stop) still gets stopped.
 */
function planStop(
  state: PlanState,
  graph: DependencyGraph,
  c: WorkContainer,
  settings: ContainersPlanSettings,
): ContainerAction | undefined {
  if (!isLiveInDocker(c)) return undefined;
  // With an impossible graph nothing was started in dependency order, so none is kept for shutdown.
  if (graph.problem === undefined && dependentsStillRunning(state, graph, c.name).length > 0) return undefined;
  const graceSec = stopGraceSec(c, settings);
  const why = state.task.desiredStatus === 'STOPPED' ? 'task is stopping' : (c.rec.reason ?? 'desired STOPPED');
  return {
    kind: 'stop',
    container: c.name,
    graceSec,
    reason: `container ${c.name}: ${why}; stopping with ${graceSec}s grace`,
  };
}
