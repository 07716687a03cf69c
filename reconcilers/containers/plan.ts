/**
 * The containers loop's pure planner: one task's desired records plus what Docker and the host showed, in;
 * a `record` action (status changes, reasons, outbox entries) and the Docker actions possible now, out.
 * No I/O, no clock, no randomness: the same inputs always give the same plan, and applying the record
 * action then planning again gives no further record action (a fixed point).
 *
 * Order of work:
 *  1. observe: Docker state → container known status, exit code, health, IDs (plan-observe.ts), except an
 *     exit that may still turn out to be an OOM kill (plan-late-oom.ts);
 *  2. an impossible dependency graph stops the task (plan-dependencies.ts); a task not yet holding its host
 *     resources is admitted, or waits and gets no Docker action, or can never fit and stops
 *     (plan-admission.ts, fact sheet 4.8);
 *  3. the rules, repeated until nothing changes (every change only raises a status, so this ends):
 *     the pull step (plan-pulls.ts: PULLED, a wait, or a failed pull), dependency and create failures, the essential rule, desired status pushed down, never-ran
 *     containers marked STOPPED, task known status (plan-progress.ts, plan-status.ts);
 *  4. executionStoppedAt, the outbox entry (plan-report.ts) and the Docker actions (plan-actions.ts);
 *  5. exits held back for a late OOM report are looked at again: an inspect now, or a requeue at the end
 *     of their grace (plan-late-oom.ts);
 *  6. the actions become a graph (`asGraph`): the record first, then every Docker action independently of
 *     the others — two containers that nothing orders stop at the same time, sibling creates run together —
 *     except a start that follows its container's create in the same plan.
 */
import { planDockerActions } from './plan-actions.js';
import { planAdmission } from './plan-admission.js';
import { buildDependencyGraph, type DependencyGraph } from './plan-dependencies.js';
import { planExitRechecks } from './plan-late-oom.js';
import { observeContainers } from './plan-observe.js';
import { failUnreachableContainers } from './plan-progress.js';
import { applyPullSteps, type PullContext, recordPullWaits } from './plan-pulls.js';
import { taskDependencyReason } from './plan-reasons.js';
import { buildRecordAction } from './plan-record.js';
import { createPlanState, type PlanState, raiseTaskDesired, setTaskReasonOnce } from './plan-state.js';
import {
  applyEssentialRule,
  clearEngineWaitReason,
  markNeverRanStopped,
  pushTaskDesired,
  updateExecutionStoppedAt,
  updateTaskKnown,
} from './plan-status.js';
import type {
  ContainerAction,
  ContainersActual,
  ContainersDesired,
  ContainersPlan,
  ContainersPlanSettings,
} from './types.js';

export function planContainers(
  desired: ContainersDesired,
  actual: ContainersActual,
  settings: ContainersPlanSettings,
): ContainersPlan {
  const state = createPlanState(desired, actual);
  const graph = buildDependencyGraph(desired.task.spec);

  observeContainers(state, actual.viewSynced);
  if (graph.problem !== undefined) stopForImpossibleGraph(state, graph);
  const admitted = planAdmission(state, desired, settings);
  const pulls: PullContext | undefined =
    settings.pulls === undefined ? undefined : { settings: settings.pulls, admitted };
  settle(state, graph, actual, pulls);
  if (pulls !== undefined) recordPullWaits(state);
  clearEngineWaitReason(state);
  updateExecutionStoppedAt(state);

  const actions: ContainerAction[] = [];
  const record = buildRecordAction(state);
  if (record) actions.push(record);
  // A task waiting for host resources does nothing in Docker: it is planned again when one is released.
  const docker = admitted ? planDockerActions(state, graph, actual, settings) : { actions: [], retryAtMs: undefined };
  actions.push(...docker.actions);
  const rechecks = planExitRechecks(state);
  actions.push(...rechecks.actions);

  const plan: ContainersPlan = { actions: asGraph(actions) };
  const retryAtMs = earliest(docker.retryAtMs, rechecks.recheckAtMs);
  if (retryAtMs !== undefined) plan.requeueAfterMs = Math.max(1, retryAtMs - actual.nowMs);
  return plan;
}

/**
 * Every Docker action of one plan is independent of the others: the planner only emits actions whose
 * ordering constraints (dependencies, shutdown order, cgroup and volumes before creates) are already met by
 * what it observed, so within a plan the only order left is a container's create before its start. All of
 * them wait for the record action, whose writes (statuses, IDs, reasons) the executor reads.
 */
function asGraph(actions: ContainerAction[]): ContainerAction[] {
  const afterRecord: readonly string[] = actions.some((a) => a.kind === 'record') ? ['record'] : [];
  const created = new Set<string>();
  return actions.map((action): ContainerAction => {
    switch (action.kind) {
      case 'record':
        return { ...action, id: 'record', after: [] };
      case 'setup-task-cgroup':
        return { ...action, id: 'cgroup', after: afterRecord };
      case 'create-volume':
        return { ...action, id: `create-volume:${action.volume}`, after: afterRecord };
      case 'create':
        created.add(action.container);
        return { ...action, id: `create:${action.container}`, after: afterRecord };
      case 'start': {
        const after = created.has(action.container) ? [`create:${action.container}`] : afterRecord;
        return { ...action, id: `start:${action.container}`, after };
      }
      default:
        return { ...action, id: `${action.kind}:${action.container}`, after: afterRecord };
    }
  });
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined ? a : Math.min(a, b);
}

/**
 * Upstream refuses such a task when it is added and stops it with TaskDependencyError (fact sheet 4.5); the
 * reason goes on the task record and into its STOPPED report.
 */
function stopForImpossibleGraph(state: PlanState, graph: DependencyGraph): void {
  const problem = graph.problem;
  if (problem === undefined) return;
  // A cycle gets upstream's exact text; an unknown or unusable target says which one.
  const reason = taskDependencyReason(state.task.arn, problem.kind === 'cycle' ? undefined : problem.detail);
  raiseTaskDesired(state, 'STOPPED', problem.detail);
  if (setTaskReasonOnce(state, reason)) state.notes.push(`task: ${reason}`);
}

/** Applies the rules until none changes anything. Each change raises a rank, so the bound is never reached. */
function settle(
  state: PlanState,
  graph: DependencyGraph,
  actual: ContainersActual,
  pulls: PullContext | undefined,
): void {
  const maxRounds = 8 * (state.containers.length + 2);
  for (let round = 0; round < maxRounds; round++) {
    let changed = false;
    if (pulls !== undefined) changed = applyPullSteps(state, graph, actual, pulls) || changed;
    if (graph.problem === undefined) {
      changed = failUnreachableContainers(state, graph, actual, pulls !== undefined) || changed;
    }
    changed = applyEssentialRule(state) || changed;
    changed = pushTaskDesired(state) || changed;
    changed = markNeverRanStopped(state, actual.viewSynced) || changed;
    changed = updateTaskKnown(state) || changed;
    if (!changed) return;
  }
}
