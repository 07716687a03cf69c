/**
 * Container dependencies (fact sheet 4.5): the static graph of one task (explicit `dependsOn` plus the
 * implicit edges from `links` and `volumesFrom`), its validation, and whether a container's next transition
 * may happen now, must wait, or can never happen.
 */
import type { DependencyCondition, TaskSpec } from '../../src/model/task.js';
import { describeDependency } from './plan-reasons.js';
import {
  everCreated,
  everStarted,
  isBelowCreated,
  isStopped,
  type PlanState,
  type WorkContainer,
} from './plan-state.js';

export interface DependencyEdge {
  /** The container depended on. */
  dependency: string;
  condition: DependencyCondition;
  origin: 'dependsOn' | 'link' | 'volumesFrom';
}

export interface DependencyGraph {
  /** Edges by dependent container name. */
  readonly edges: ReadonlyMap<string, readonly DependencyEdge[]>;
  /** Why the graph can never be satisfied (unknown target, cycle…); undefined when it is valid. */
  readonly problem: { detail: string; kind: 'cycle' | 'unknown-target' | 'unsatisfiable' } | undefined;
}

export type DependencyVerdict =
  | { kind: 'satisfied'; detail: string }
  | { kind: 'blocked'; detail: string; retryAtMs: number | undefined }
  | { kind: 'terminal'; message: string };

/**
 * Implicit edges are added as upstream does at task creation: a link needs the linked container started
 * (START), a volumesFrom source needs to exist (CREATE).
 */
export function buildDependencyGraph(spec: TaskSpec): DependencyGraph {
  const edges = new Map<string, DependencyEdge[]>();
  for (const container of spec.containers) {
    const list: DependencyEdge[] = [];
    for (const dep of container.dependsOn) {
      list.push({ dependency: dep.containerName, condition: dep.condition, origin: 'dependsOn' });
    }
    for (const link of container.links) {
      const name = link.split(':')[0] ?? link;
      list.push({ dependency: name, condition: 'START', origin: 'link' });
    }
    for (const from of container.volumesFrom) {
      list.push({ dependency: from.sourceContainer, condition: 'CREATE', origin: 'volumesFrom' });
    }
    edges.set(container.name, list);
  }
  return { edges, problem: findProblem(spec, edges) };
}

function findProblem(
  spec: TaskSpec,
  edges: ReadonlyMap<string, readonly DependencyEdge[]>,
): DependencyGraph['problem'] {
  const byName = new Map(spec.containers.map((c) => [c.name, c] as const));
  for (const [name, list] of edges) {
    for (const edge of list) {
      const target = byName.get(edge.dependency);
      if (!target) {
        return {
          kind: 'unknown-target',
          detail: `container ${name} depends on unknown container ${edge.dependency} (${edge.origin})`,
        };
      }
      // Upstream's resolvability check rejects HEALTHY on a container that reports no health (fact sheet 4.5).
      if (edge.condition === 'HEALTHY' && target.healthCheckType !== 'docker') {
        return {
          kind: 'unsatisfiable',
          detail: `container ${name} waits for ${edge.dependency} HEALTHY but ${edge.dependency} has no Docker health check`,
        };
      }
    }
  }
  const cycle = findCycle(edges);
  return cycle ? { kind: 'cycle', detail: `dependency cycle ${cycle.join(' → ')}` } : undefined;
}

/** Depth-first search with colours; returns one cycle as a path whose first and last names are equal. */
function findCycle(edges: ReadonlyMap<string, readonly DependencyEdge[]>): string[] | undefined {
  const colour = new Map<string, 'grey' | 'black'>();
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    colour.set(name, 'grey');
    path.push(name);
    for (const edge of edges.get(name) ?? []) {
      const seen = colour.get(edge.dependency);
      if (seen === 'grey') return [...path.slice(path.indexOf(edge.dependency)), edge.dependency];
      if (seen === undefined && edges.has(edge.dependency)) {
        const found = visit(edge.dependency);
        if (found) return found;
      }
    }
    path.pop();
    colour.set(name, 'black');
    return undefined;
  };
  for (const name of edges.keys()) {
    if (colour.has(name)) continue;
    const found = visit(name);
    if (found) return found;
  }
  return undefined;
}

/** Fact sheet 4.5, the satisfaction table. */
function isSatisfied(dep: WorkContainer, condition: DependencyCondition): boolean {
  switch (condition) {
    case 'CREATE':
      return everCreated(dep);
    case 'START':
      // At steady state, or STOPPED after having run.
      return everStarted(dep);
    case 'COMPLETE':
      // A synthetic exit code on a container that never ran (143 after its own dependency failed) is no completion.
      return isStopped(dep.rec.knownStatus) && dep.rec.exitCode !== undefined && everStarted(dep);
    case 'SUCCESS':
      return isStopped(dep.rec.knownStatus) && dep.rec.exitCode === 0 && everStarted(dep);
    case 'HEALTHY':
      return dep.spec.healthCheckType === 'docker' && dep.rec.health === 'HEALTHY';
  }
}

type EdgeVerdict =
  | { kind: 'satisfied' }
  | { kind: 'blocked'; detail: string; retryAtMs: number | undefined }
  | { kind: 'terminal'; message: string };

/** Conditions that can wait on a dependency's startTimeout (upstream hasDependencyTimedOut). */
const TIMED_CONDITIONS: ReadonlySet<DependencyCondition> = new Set(['COMPLETE', 'SUCCESS', 'HEALTHY']);

function evaluateEdge(state: PlanState, target: WorkContainer, edge: DependencyEdge, dep: WorkContainer): EdgeVerdict {
  const { condition } = edge;
  const label = describeDependency(dep.name, condition);
  // Satisfaction is checked first: a condition that is met is not failed by a timeout that ran out while the
  // planner was not looking (upstream checks the timeout first; the result only differs in that race).
  if (isSatisfied(dep, condition)) return { kind: 'satisfied' };

  const depKnown = dep.rec.knownStatus;
  const depGivenUp = isStopped(dep.rec.desiredStatus) || isStopped(depKnown);
  if (condition === 'CREATE') {
    if (!everCreated(dep) && depGivenUp) {
      return {
        kind: 'terminal',
        message: `dependency ${dep.name} will never be created, so ${label} can never be met`,
      };
    }
  } else if (!everStarted(dep) && depGivenUp) {
    // Upstream HasNotAndWillNotStart; also covers a dependency already marked STOPPED without having run.
    return { kind: 'terminal', message: `dependency ${dep.name} will never start, so ${label} can never be met` };
  }

  if (isStopped(depKnown)) {
    // It ran and stopped without meeting the condition: nothing will change that any more.
    const how =
      condition === 'HEALTHY'
        ? 'stopped before becoming HEALTHY'
        : dep.rec.exitCode === undefined
          ? 'stopped without an exit code'
          : `exited with code ${dep.rec.exitCode}`;
    return { kind: 'terminal', message: `dependency ${dep.name} ${how}, so ${label} can never be met` };
  }

  let retryAtMs: number | undefined;
  // The dependency's own startTimeout bounds the wait, counted from its start, and only while the
  // dependent has not been created (upstream graph.go hasDependencyTimedOut; fact sheet 4.5).
  const timeoutSec = dep.spec.startTimeoutSec;
  const startedAtMs = dep.rec.startedAtMs;
  if (
    TIMED_CONDITIONS.has(condition) &&
    isBelowCreated(target.rec.knownStatus) &&
    timeoutSec > 0 &&
    startedAtMs !== undefined
  ) {
    const deadlineMs = startedAtMs + timeoutSec * 1000;
    if (state.nowMs > deadlineMs) {
      return {
        kind: 'terminal',
        message: `dependency ${dep.name} did not meet ${condition} within its startTimeout of ${timeoutSec}s`,
      };
    }
    retryAtMs = deadlineMs + 1;
  }
  return { kind: 'blocked', detail: `waiting for ${label} (${dep.name} is ${depKnown})`, retryAtMs };
}

/**
 * Whether `target` may take its next step towards RUNNING. Every edge gates both create and start: a
 * satisfied condition stays satisfied because known status only rises.
 */
export function evaluateDependencies(
  state: PlanState,
  graph: DependencyGraph,
  target: WorkContainer,
): DependencyVerdict {
  const edges = graph.edges.get(target.name) ?? [];
  const satisfied: string[] = [];
  const blocked: string[] = [];
  let retryAtMs: number | undefined;
  for (const edge of edges) {
    const dep = state.byName.get(edge.dependency);
    if (!dep) {
      return { kind: 'terminal', message: `dependency ${edge.dependency} is not part of the task` };
    }
    const verdict = evaluateEdge(state, target, edge, dep);
    if (verdict.kind === 'terminal') return verdict;
    if (verdict.kind === 'satisfied') {
      satisfied.push(describeDependency(dep.name, edge.condition));
      continue;
    }
    blocked.push(verdict.detail);
    if (verdict.retryAtMs !== undefined) retryAtMs = Math.min(retryAtMs ?? verdict.retryAtMs, verdict.retryAtMs);
  }
  if (blocked.length > 0) return { kind: 'blocked', detail: blocked.join(', '), retryAtMs };
  return {
    kind: 'satisfied',
    detail:
      satisfied.length === 0
        ? 'no dependencies'
        : `${satisfied.length === 1 ? 'dependency' : 'dependencies'} ${satisfied.join(', ')} satisfied`,
  };
}

/**
 * Shutdown order: a container is stopped only after every container that depends on it (explicitly or
 * through links/volumesFrom) is known STOPPED (fact sheet 4.5). Returns the names still in the way.
 */
export function dependentsStillRunning(state: PlanState, graph: DependencyGraph, name: string): string[] {
  const waiting: string[] = [];
  for (const c of state.containers) {
    const edges = graph.edges.get(c.name) ?? [];
    if (edges.some((e) => e.dependency === name) && !isStopped(c.rec.knownStatus)) waiting.push(c.name);
  }
  return waiting;
}
