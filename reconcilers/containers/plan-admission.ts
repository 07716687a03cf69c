/**
 * The planner's admission step (issue 13, fact sheet 4.8): a task that does not yet hold its host resources
 * is admitted when the ledger (admission.ts) says it fits and it is first in line; otherwise it records what
 * it waits for and plans no Docker action. The `admittedAtMs` and `waitingFor` it sets reach the store
 * through the record action, so the ledger and the waiting line survive a restart.
 */
import { admissionVerdict, describeDemand, holdsResources } from './admission.js';
import { everCreated, type PlanState, raiseTaskDesired, setTaskReasonOnce } from './plan-state.js';
import type { ContainersDesired, ContainersPlanSettings } from './types.js';

/** Upstream has no error name for this; the prefix keeps the `<Name>: <message>` reason form (fact sheet 4.6). */
export const HOST_RESOURCE_ERROR = 'HostResourceError';

/**
 * Returns whether the task may do Docker work this round. Admission is off (every task may) when the loop
 * gives no capacity (`settings.hostCapacity`), or no ledger (`desired.ledgerTasks`) for a task in the line.
 */
export function planAdmission(state: PlanState, desired: ContainersDesired, settings: ContainersPlanSettings): boolean {
  const capacity = settings.hostCapacity;
  const tasks = desired.ledgerTasks;
  const task = state.task;
  if (capacity === undefined || holdsResources(task)) return true;
  if (task.desiredStatus === 'STOPPED' || task.knownStatus === 'STOPPED') {
    // Left the line without running: nothing is held, nothing is waited for.
    setWaitingFor(state, undefined);
    return true;
  }
  // The loop reads the ledger only for a task in the line (isQueued): past this point.
  if (tasks === undefined) return true;
  // Containers that already exist (adopted after a restart, or created before admission existed) run
  // whatever the ledger says: they hold what they use.
  if (state.containers.some((c) => c.observed !== undefined || everCreated(c))) {
    admit(state, 'its containers already exist');
    return true;
  }
  const verdict = admissionVerdict(task, tasks, capacity);
  switch (verdict.kind) {
    case 'admit':
      admit(state, describeDemand(verdict.demand));
      return true;
    case 'wait':
      setWaitingFor(state, verdict.waitingFor);
      return false;
    case 'never': {
      const reason = `${HOST_RESOURCE_ERROR}: ${verdict.reason}`;
      setWaitingFor(state, undefined);
      raiseTaskDesired(state, 'STOPPED', 'it can never fit on this host');
      if (setTaskReasonOnce(state, reason)) state.notes.push(`task: ${reason}`);
      return false;
    }
  }
}

function admit(state: PlanState, what: string): void {
  state.task.admittedAtMs = state.nowMs;
  setWaitingFor(state, undefined);
  state.notes.push(`task: admitted on the host (${what})`);
}

/**
 * Sets or clears the waiting text. A note (hence a log line through the record action) only when the text
 * changes, so a task waiting for the same thing is logged once, not on every reconcile. Clearing writes ''
 * (a patch cannot unset a field; the store keeps '' as no value), and only when there is something to clear,
 * so the planner stays a fixed point.
 */
function setWaitingFor(state: PlanState, text: string | undefined): void {
  const before = state.taskBefore.waitingFor;
  if (text === undefined) {
    if (before !== undefined && before !== '') {
      state.task.waitingFor = '';
      state.notes.push('task: no longer waiting for host resources');
    }
    return;
  }
  if (before === text) return;
  state.task.waitingFor = text;
  state.notes.push(`task: waiting for host resources: ${text}`);
}
