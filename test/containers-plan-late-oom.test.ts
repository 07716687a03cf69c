/**
 * The containers planner holding back a 137 exit without OOMKilled until a late OOM report can no longer
 * come (plan-late-oom.ts): Docker 20.10 may learn of an OOM kill only after the exit.
 */
import test from 'ava';
import { LATE_OOM_GRACE_MS } from '../reconcilers/containers/plan-late-oom.js';
import { OOM_REASON } from '../reconcilers/containers/plan-reasons.js';
import type { ContainerAction, ContainersDesired } from '../reconcilers/containers/types.js';
import type { ObservedContainer } from '../src/docker/types.js';
import type { ContainerRecord, TaskRecord } from '../src/store/records.js';
import {
  actualWith,
  container,
  containerRecord,
  desiredFor,
  dockerActions,
  observed,
  outboxOf,
  planChecked,
  T0,
  taskSpec,
} from './containers-plan-fixtures.js';

const NOW = T0 + 10_000;

/** A running one-container task, as recorded before the container's exit is observed. */
function runningTask(task: Partial<TaskRecord> = {}, hog: Partial<ContainerRecord> = {}): ContainersDesired {
  return desiredFor(
    taskSpec([container('hog', { essential: true })]),
    { knownStatus: 'RUNNING', sentStatus: 'RUNNING', ...task },
    { hog: { knownStatus: 'RUNNING', sentStatus: 'RUNNING', ...hog } },
  );
}

/** The hog as Docker shows it: exited `finishedAgoMs` before NOW, inspected `inspectedAfterFinishMs` after that. */
function exited(
  finishedAgoMs: number,
  inspectedAfterFinishMs: number,
  overrides: Partial<ObservedContainer> = {},
): ObservedContainer {
  const finishedAtMs = NOW - finishedAgoMs;
  return observed('hog', 'exited', {
    exitCode: 137,
    oomKilled: false,
    finishedAtMs,
    observedAtMs: finishedAtMs + inspectedAfterFinishMs,
    ...overrides,
  });
}

interface Expected {
  /** The hog's recorded status after the plan. */
  hog: ContainerRecord['knownStatus'];
  task: TaskRecord['knownStatus'];
  reason?: string;
  exitCode?: number;
  docker: string[];
  requeueAfterMs?: number;
  report?: 'STOPPED';
}

const cases: Array<{ title: string; desired: ContainersDesired; docker: ObservedContainer; expect: Expected }> = [
  {
    title: 'exit 137 without OOMKilled, just finished, not stopped by the agent: held, recheck at the grace end',
    desired: runningTask(),
    docker: exited(300, 50),
    expect: { hog: 'RUNNING', task: 'RUNNING', docker: [], requeueAfterMs: LATE_OOM_GRACE_MS - 300 },
  },
  {
    title: 'held exit whose grace is over but whose inspect was made within it: inspected once more',
    desired: runningTask(),
    docker: exited(LATE_OOM_GRACE_MS + 500, 50),
    expect: { hog: 'RUNNING', task: 'RUNNING', docker: ['inspect hog'] },
  },
  {
    title: 'exit 137 inspected after the grace, still without OOMKilled: recorded STOPPED with no reason',
    desired: runningTask(),
    docker: exited(LATE_OOM_GRACE_MS + 500, LATE_OOM_GRACE_MS),
    expect: { hog: 'STOPPED', task: 'STOPPED', exitCode: 137, docker: [], report: 'STOPPED' },
  },
  {
    title: "exit 137 after the agent's own stop (SIGKILL escalation): recorded at once",
    desired: runningTask({ desiredStatus: 'STOPPED' }, { desiredStatus: 'STOPPED' }),
    docker: exited(300, 50),
    expect: { hog: 'STOPPED', task: 'STOPPED', exitCode: 137, docker: [], report: 'STOPPED' },
  },
  {
    title: 'exit 137 with OOMKilled: OutOfMemoryError at once',
    desired: runningTask(),
    docker: exited(300, 50, { oomKilled: true }),
    expect: { hog: 'STOPPED', task: 'STOPPED', exitCode: 137, reason: OOM_REASON, docker: [], report: 'STOPPED' },
  },
  {
    title: 'any other exit code: recorded at once',
    desired: runningTask(),
    docker: exited(300, 50, { exitCode: 1 }),
    expect: { hog: 'STOPPED', task: 'STOPPED', exitCode: 1, docker: [], report: 'STOPPED' },
  },
  {
    title: 'a finish time further ahead of our clock than the grace (clock skew): recorded, not held without bound',
    desired: runningTask(),
    docker: exited(-(LATE_OOM_GRACE_MS + 1_000), 0, { observedAtMs: NOW }),
    expect: { hog: 'STOPPED', task: 'STOPPED', exitCode: 137, docker: [], report: 'STOPPED' },
  },
  {
    title: 'held while only recorded CREATED: neither started nor created again',
    desired: runningTask(
      { knownStatus: 'CREATED', sentStatus: 'NONE' },
      { knownStatus: 'CREATED', sentStatus: 'NONE' },
    ),
    docker: exited(300, 50),
    expect: { hog: 'CREATED', task: 'CREATED', docker: [], requeueAfterMs: LATE_OOM_GRACE_MS - 300 },
  },
];

for (const c of cases) {
  test(c.title, (t) => {
    const { plan, next } = planChecked(t, c.desired, actualWith(c.desired, [c.docker], { nowMs: NOW }));
    const hog = containerRecord(next, 'hog');
    t.is(hog.knownStatus, c.expect.hog);
    t.is(next.task.knownStatus, c.expect.task);
    t.is(hog.exitCode, c.expect.exitCode);
    t.is(hog.reason, c.expect.reason);
    t.deepEqual(dockerActions(plan), c.expect.docker);
    t.is(plan.requeueAfterMs, c.expect.requeueAfterMs);
    t.deepEqual(
      outboxOf(plan).map((e) => e.payload['status']),
      c.expect.report === undefined ? [] : [c.expect.report],
    );
  });
}

test('the inspect asked for after the grace names the Docker container to look at', (t) => {
  const desired = runningTask();
  const { plan } = planChecked(t, desired, actualWith(desired, [exited(LATE_OOM_GRACE_MS + 1, 10)], { nowMs: NOW }));
  const inspect = plan.actions.find((a): a is Extract<ContainerAction, { kind: 'inspect' }> => a.kind === 'inspect');
  t.is(inspect?.dockerId, 'hog-docker-id-0123456789abcdef');
  t.regex(inspect?.reason ?? '', /container hog: exited 137 without OOMKilled/);
});

test('a late OOM report during the hold gives OutOfMemoryError, reported once with the STOPPED', (t) => {
  const desired = runningTask();
  // The inspect after `die`: 137, no OOMKilled yet.
  const first = planChecked(t, desired, actualWith(desired, [exited(100, 20)], { nowMs: NOW }));
  t.deepEqual(outboxOf(first.plan), []);
  t.true(first.plan.requeueAfterMs !== undefined);
  // The `oom` event's inspect, 400 ms later.
  const second = planChecked(
    t,
    first.next,
    actualWith(first.next, [exited(100, 400, { oomKilled: true })], { nowMs: NOW + 400 }),
  );
  const hog = containerRecord(second.next, 'hog');
  t.is(hog.knownStatus, 'STOPPED');
  t.is(hog.reason, OOM_REASON);
  t.is(second.next.task.knownStatus, 'STOPPED');
  const [entry] = outboxOf(second.plan);
  t.is(entry?.payload['status'], 'STOPPED');
  const containers = (entry?.payload['containers'] ?? []) as Array<Record<string, unknown>>;
  t.like(containers[0], { exitCode: 137, reason: OOM_REASON });
  t.is(second.plan.requeueAfterMs, undefined);
});

test('a held essential container does not stop its task, and its running sibling is left alone', (t) => {
  const spec = taskSpec([container('hog', { essential: true }), container('sidecar', { essential: false })]);
  const desired = desiredFor(
    spec,
    { knownStatus: 'RUNNING', sentStatus: 'RUNNING' },
    {
      hog: { knownStatus: 'RUNNING', sentStatus: 'RUNNING' },
      sidecar: { knownStatus: 'RUNNING', sentStatus: 'RUNNING' },
    },
  );
  const { plan, next } = planChecked(
    t,
    desired,
    actualWith(desired, [exited(300, 50), observed('sidecar', 'running')], { nowMs: NOW }),
  );
  t.is(next.task.desiredStatus, 'RUNNING');
  t.deepEqual(dockerActions(plan), []);
  t.is(plan.requeueAfterMs, LATE_OOM_GRACE_MS - 300);
});
