/**
 * Exit code 137 without Docker's OOMKilled flag is not yet proof that the OOM killer was not involved.
 * Docker 20.10 sets `State.OOMKilled` only when containerd's TaskOOM event reaches it, and containerd does
 * not order TaskOOM before TaskExit: under load the exit can be processed first (containerd/containerd
 * #8180, #12260, #12372). An inspect made right after the `die` event then shows 137 with OOMKilled=false,
 * and once the container is recorded STOPPED its task stops, is reported without OutOfMemoryError and is
 * never reconciled again, so the later `oom` event cannot fix the reason.
 *
 * So a container that exited 137 on its own (the agent was not stopping it: its SIGKILL escalation gives 137
 * too, and no OOM can be read into that) is judged only from an inspect made at least LATE_OOM_GRACE_MS
 * after it finished. Until then its exit is not recorded; the `oom` event, if one comes, makes the view
 * inspect it again and ends the wait at once; otherwise one more inspect after the grace settles it.
 */
import type { ObservedContainer } from '../../src/docker/types.js';
import { isStopped, type PlanState, type WorkContainer } from './plan-state.js';
import type { ContainerAction } from './types.js';

/**
 * How long after a container finished a 137 exit without OOMKilled is still open to a late TaskOOM. The
 * two events take separate paths through the shim and containerd, so the gap is scheduling delay: tens to
 * hundreds of ms on a loaded host. 2 s leaves a wide margin over that, and is all the delay an exit 137 the
 * OOM killer did not cause (a SIGKILL from someone else) adds to its report.
 */
export const LATE_OOM_GRACE_MS = 2_000;

/** SIGKILL's exit status (128 + 9): what the OOM killer leaves, and also any other SIGKILL. */
const SIGKILL_EXIT_CODE = 137;

export type ExitVerdict =
  /** Record the exit as observed. */
  | { kind: 'settled' }
  /** Do not record the exit yet; plan again at `recheckAtMs` (an `oom` event may come first). */
  | { kind: 'wait'; recheckAtMs: number }
  /** The grace is over but the observation was made within it: inspect once more before recording. */
  | { kind: 'reinspect' };

/** For an observation that shows the container stopped: whether its exit can be recorded now. */
export function exitVerdict(state: PlanState, c: WorkContainer, observed: ObservedContainer): ExitVerdict {
  const settled: ExitVerdict = { kind: 'settled' };
  if (observed.exitCode !== SIGKILL_EXIT_CODE || observed.oomKilled) return settled;
  // Already recorded: the question was settled by an earlier plan.
  if (isStopped(c.before.knownStatus)) return settled;
  // The agent stops containers desired STOPPED, escalating to SIGKILL: then 137 says nothing about memory.
  if (isStopped(c.rec.desiredStatus) || state.task.desiredStatus === 'STOPPED') return settled;
  const finishedAtMs = observed.finishedAtMs;
  if (finishedAtMs === undefined) return settled;
  // A finish further in the future than the grace means Docker's clock and ours disagree; waiting for our
  // clock to pass it could take any time, so the exit is recorded as seen.
  if (finishedAtMs - state.nowMs > LATE_OOM_GRACE_MS) return settled;
  const graceEndsAtMs = finishedAtMs + LATE_OOM_GRACE_MS;
  if (observed.observedAtMs >= graceEndsAtMs) return settled;
  if (state.nowMs < graceEndsAtMs) return { kind: 'wait', recheckAtMs: graceEndsAtMs };
  return { kind: 'reinspect' };
}

export interface ExitRechecks {
  /** An `inspect` for each held container whose grace is over. */
  actions: ContainerAction[];
  /** When the earliest waiting container's grace ends. */
  recheckAtMs: number | undefined;
}

export function planExitRechecks(state: PlanState): ExitRechecks {
  const actions: ContainerAction[] = [];
  let recheckAtMs: number | undefined;
  for (const c of state.containers) {
    const held = c.exitHeld;
    if (held === undefined || c.observed === undefined) continue;
    if (held.kind === 'wait') {
      recheckAtMs = Math.min(recheckAtMs ?? held.recheckAtMs, held.recheckAtMs);
      continue;
    }
    actions.push({
      kind: 'inspect',
      container: c.name,
      dockerId: c.observed.id,
      reason: `container ${c.name}: exited 137 without OOMKilled over ${LATE_OOM_GRACE_MS} ms ago; inspecting again for a late OOM report`,
    });
  }
  return { actions, recheckAtMs };
}
