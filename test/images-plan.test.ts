/**
 * ECS_IMAGE_PULL_BEHAVIOR, pure (fact sheet 7.1, 4.6): the shared verdict, the images loop's planner (when
 * to start a pull) and the containers planner's pull step (wait, go on, fail, stop the task), no Docker.
 */
import test from 'ava';
import type { ContainersPlanSettings } from '../reconcilers/containers/types.js';
import { taskPullDemand } from '../reconcilers/images/demand.js';
import { planImagePull } from '../reconcilers/images/plan.js';
import { describePullWait, type ImageFacts, pullVerdict } from '../reconcilers/images/pull-policy.js';
import type { ImagePullBehavior } from '../src/config/types.js';
import type { ImagePullRecord } from '../src/store/records.js';
import {
  actualWith,
  container,
  containerRecord,
  desiredFor,
  dockerActions,
  planChecked,
  SETTINGS,
  T0,
  TASK_ARN,
  taskSpec,
} from './containers-plan-fixtures.js';

const REF = 'docker.io/library/img-web:1';
const S = (behavior: ImagePullBehavior, upfront = false) => ({ behavior, dependentContainersUpfront: upfront });
const WAIT = T0 + 5_000;

function pull(overrides: Partial<ImagePullRecord>): ImagePullRecord {
  return { ref: REF, state: 'succeeded', startedAtMs: WAIT, currentBytes: 0, totalBytes: 0, attempts: 1, ...overrides };
}
const failedAfter = pull({
  state: 'failed',
  finishedAtMs: WAIT + 100,
  reason: 'CannotPullContainerError: pull access denied for img-web, repository does not exist',
  failure: 'not_found',
});
const succeededAfter = pull({ finishedAtMs: WAIT + 100, lastSucceededAtMs: WAIT + 100 });
const succeededBefore = pull({ startedAtMs: T0, finishedAtMs: T0 + 100, lastSucceededAtMs: T0 + 100 });
const pulling = pull({
  state: 'pulling',
  startedAtMs: WAIT - 50,
  currentBytes: 42 * 2 ** 20,
  totalBytes: 80 * 2 ** 20,
});

type Expected = 'ready' | 'ready-fallback' | 'wait' | 'failed' | 'failed-stops-task';
const cases: Array<[ImagePullBehavior, string, ImageFacts, Expected]> = [
  ['default', 'local, never pulled', { present: true, pull: undefined }, 'wait'],
  ['default', 'a pull ended before the task waited', { present: true, pull: succeededBefore }, 'wait'],
  ['default', 'pull in flight (started before the wait: shared)', { present: true, pull: pulling }, 'wait'],
  ['default', 'pulled after the wait', { present: true, pull: succeededAfter }, 'ready'],
  ['default', 'failed, local image', { present: true, pull: failedAfter }, 'ready-fallback'],
  ['default', 'failed, no local image', { present: false, pull: failedAfter }, 'failed'],
  ['always', 'local, never pulled', { present: true, pull: undefined }, 'wait'],
  ['always', 'pulled after the wait', { present: true, pull: succeededAfter }, 'ready'],
  ['always', 'failed, local image', { present: true, pull: failedAfter }, 'failed-stops-task'],
  ['always', 'failed, no local image', { present: false, pull: failedAfter }, 'failed-stops-task'],
  ['once', 'local, pulled successfully before', { present: true, pull: succeededBefore }, 'ready'],
  ['once', 'local but never pulled by the agent', { present: true, pull: undefined }, 'wait'],
  ['once', 'pulled before but removed since', { present: false, pull: succeededBefore }, 'wait'],
  ['once', 'failed, local image', { present: true, pull: failedAfter }, 'failed-stops-task'],
  ['prefer-cached', 'local', { present: true, pull: undefined }, 'ready'],
  ['prefer-cached', 'local, an earlier pull failed', { present: true, pull: failedAfter }, 'ready'],
  ['prefer-cached', 'absent', { present: false, pull: undefined }, 'wait'],
  ['prefer-cached', 'absent, pull failed', { present: false, pull: failedAfter }, 'failed'],
  ['prefer-cached', 'absent, pulled', { present: false, pull: succeededAfter }, 'ready'],
];

for (const [behavior, what, facts, expected] of cases) {
  test(`pull verdict: ${behavior}, ${what} → ${expected}`, (t) => {
    const verdict = pullVerdict(S(behavior), { image: 'img-web:1', essential: true }, facts, WAIT);
    const got: Expected =
      verdict.kind === 'ready'
        ? verdict.fallback === undefined
          ? 'ready'
          : 'ready-fallback'
        : verdict.kind === 'wait'
          ? 'wait'
          : verdict.stopsTask
            ? 'failed-stops-task'
            : 'failed';
    t.is(got, expected);
    if (verdict.kind === 'failed') t.is(verdict.reason, failedAfter.reason ?? '');
  });
}

test('pulls upfront: a failed pull falls back to a local image but under always; without one only an essential container stops the task', (t) => {
  const verdict = (behavior: ImagePullBehavior, present: boolean, essential: boolean) => {
    const v = pullVerdict(S(behavior, true), { image: 'img-web:1', essential }, { present, pull: failedAfter }, WAIT);
    return v.kind === 'failed' ? (v.stopsTask ? 'stops task' : 'fails container') : v.kind;
  };
  t.is(verdict('once', true, true), 'ready');
  t.is(verdict('default', true, true), 'ready');
  t.is(verdict('always', true, true), 'stops task');
  t.is(verdict('once', false, true), 'stops task');
  t.is(verdict('once', false, false), 'fails container');
  t.is(verdict('default', false, true), 'stops task');
  t.is(verdict('default', false, false), 'fails container');
  t.is(verdict('always', false, false), 'stops task');
});

test('the waiting text shows the pull progress in MiB', (t) => {
  t.is(describePullWait('127.0.0.1:5000/app', pulling), 'pulling 127.0.0.1:5000/app: 42 of 80 MiB');
  t.is(describePullWait('app', undefined), 'waiting to pull app');
  t.is(describePullWait('app', failedAfter), 'waiting to pull app');
});

// -- the images loop's planner -----------------------------------------------------------------------------

const demander = (container: string, waitStartMs = WAIT) => ({
  taskArn: TASK_ARN,
  container,
  image: 'img-web:1',
  waitStartMs,
});

test('images plan: one pull for every unserved waiter, none while one runs or once served', (t) => {
  const desired = { ref: REF, demanders: [demander('a'), demander('b')] };
  const first = planImagePull(desired, { pull: undefined, present: false, pulling: false }, S('default'));
  t.is(first.actions.length, 1);
  t.is(first.actions[0]?.ref, REF);
  t.true(first.actions[0]?.reason.includes('2 containers'));
  t.deepEqual(planImagePull(desired, { pull: undefined, present: false, pulling: true }, S('default')).actions, []);
  t.deepEqual(planImagePull(desired, { pull: succeededAfter, present: true, pulling: false }, S('always')).actions, []);
  t.deepEqual(planImagePull(desired, { pull: failedAfter, present: true, pulling: false }, S('always')).actions, []);
  // A waiter that came after the last pull ended is served by a new one (always means every start pulls).
  const late = { ref: REF, demanders: [demander('c', WAIT + 1_000)] };
  t.is(planImagePull(late, { pull: succeededAfter, present: true, pulling: false }, S('always')).actions.length, 1);
  t.deepEqual(planImagePull(undefined, { pull: undefined, present: false, pulling: false }, S('always')).actions, []);
});

test('images plan: prefer-cached and once pull nothing the engine already has', (t) => {
  const desired = { ref: REF, demanders: [demander('a')] };
  t.deepEqual(
    planImagePull(desired, { pull: undefined, present: true, pulling: false }, S('prefer-cached')).actions,
    [],
  );
  t.is(
    planImagePull(desired, { pull: undefined, present: false, pulling: false }, S('prefer-cached')).actions.length,
    1,
  );
  t.deepEqual(planImagePull(desired, { pull: succeededBefore, present: true, pulling: false }, S('once')).actions, []);
  t.is(planImagePull(desired, { pull: undefined, present: true, pulling: false }, S('once')).actions.length, 1);
});

test('images plan: transient failures are retried only when the outcome matters', (t) => {
  const desired = { ref: REF, demanders: [demander('a')] };
  const retry = (behavior: ImagePullBehavior, present: boolean) =>
    planImagePull(desired, { pull: undefined, present, pulling: false }, S(behavior)).actions[0]?.retry;
  // A cached image under default is used at once if the registry fails: no five attempts for nothing.
  t.false(retry('default', true));
  t.true(retry('default', false));
  t.true(retry('always', true));
  t.true(retry('once', true));
  t.true(retry('prefer-cached', false));
});

test('demand: only tasks that started waiting, not desired STOPPED, with dependencies met unless upfront', (t) => {
  const spec = taskSpec([
    container('db', { image: 'db:1' }),
    container('app', { image: 'app:1', dependsOn: [{ containerName: 'db', condition: 'START' }] }),
  ]);
  const fresh = desiredFor(spec);
  t.deepEqual(taskPullDemand(fresh.task, fresh.containers, false, T0), []);
  const waiting = desiredFor(spec, { pullStartedAtMs: WAIT });
  t.deepEqual(
    taskPullDemand(waiting.task, waiting.containers, false, T0).map((d) => d.ref),
    ['docker.io/library/db:1'],
  );
  t.deepEqual(
    taskPullDemand(waiting.task, waiting.containers, true, T0).map((d) => d.ref),
    ['docker.io/library/db:1', 'docker.io/library/app:1'],
  );
  const stopping = desiredFor(spec, { pullStartedAtMs: WAIT, desiredStatus: 'STOPPED' });
  t.deepEqual(taskPullDemand(stopping.task, stopping.containers, true, T0), []);
});

// -- the containers planner's pull step ----------------------------------------------------------------------

const withPulls = (behavior: ImagePullBehavior, upfront = false): ContainersPlanSettings => ({
  ...SETTINGS,
  pulls: { behavior, dependentContainersUpfront: upfront },
});

test('containers plan (default): a new task waits for the pull, then is created once it ends', (t) => {
  const spec = taskSpec([container('web', { image: 'img-web:1' })]);
  const desired = desiredFor(spec);
  const now = T0 + 10_000;
  const first = planChecked(t, desired, actualWith(desired, [], { pulls: new Map() }), withPulls('default'));
  t.deepEqual(dockerActions(first.plan), []);
  t.is(first.next.task.pullStartedAtMs, now);
  t.is(first.next.task.waitingFor, 'waiting to pull img-web:1');

  const inFlight = new Map([[REF, { ...pulling, startedAtMs: now + 1 }]]);
  const second = planChecked(t, first.next, actualWith(first.next, [], { pulls: inFlight }), withPulls('default'));
  t.is(second.next.task.waitingFor, 'pulling img-web:1: 42 of 80 MiB');
  t.deepEqual(dockerActions(second.plan), []);

  const done = new Map([[REF, pull({ startedAtMs: now + 1, finishedAtMs: now + 500, lastSucceededAtMs: now + 500 })]]);
  const third = planChecked(
    t,
    second.next,
    actualWith(second.next, [], { pulls: done, nowMs: now + 600 }),
    withPulls('default'),
  );
  t.deepEqual(dockerActions(third.plan), ['create web', 'start web']);
  t.is(containerRecord(third.next, 'web').knownStatus, 'PULLED');
  t.is(third.next.task.pullStoppedAtMs, now + 600);
  t.is(third.next.task.waitingFor, '');
});

test('containers plan (always): a failed pull stops the task with the registry reason', (t) => {
  const spec = taskSpec([container('web', { image: 'img-web:1' }), container('side', { essential: false })]);
  const desired = desiredFor(spec, { pullStartedAtMs: WAIT });
  const failed = new Map([[REF, failedAfter]]);
  const { plan, next } = planChecked(t, desired, actualWith(desired, [], { pulls: failed }), withPulls('always'));
  t.deepEqual(dockerActions(plan), []);
  t.is(next.task.desiredStatus, 'STOPPED');
  t.is(containerRecord(next, 'web').reason, failedAfter.reason);
  t.is(containerRecord(next, 'web').desiredStatus, 'STOPPED');
});

test('containers plan (default): a failed pull uses the local image, or fails the container without one', (t) => {
  const spec = taskSpec([container('web', { image: 'img-web:1' })]);
  const desired = desiredFor(spec, { pullStartedAtMs: WAIT });
  const failed = new Map([[REF, failedAfter]]);
  const cached = planChecked(t, desired, actualWith(desired, [], { pulls: failed }), withPulls('default'));
  t.deepEqual(dockerActions(cached.plan), ['create web', 'start web']);
  t.is(cached.next.task.desiredStatus, 'RUNNING');

  const absent = planChecked(
    t,
    desired,
    actualWith(desired, [], { pulls: failed, imagesPresent: new Set() }),
    withPulls('default'),
  );
  t.deepEqual(dockerActions(absent.plan), []);
  t.is(containerRecord(absent.next, 'web').reason, failedAfter.reason);
  // The essential container failed: the task stops through the essential rule, not the pull behaviour.
  t.is(absent.next.task.desiredStatus, 'STOPPED');
});

test('containers plan (prefer-cached, once): a local image is used at once, with no pull times', (t) => {
  const spec = taskSpec([container('web', { image: 'img-web:1' })]);
  const desired = desiredFor(spec);
  const cached = planChecked(t, desired, actualWith(desired, [], { pulls: new Map() }), withPulls('prefer-cached'));
  t.deepEqual(dockerActions(cached.plan), ['create web', 'start web']);
  t.is(cached.next.task.pullStartedAtMs, undefined);
  const once = planChecked(
    t,
    desired,
    actualWith(desired, [], { pulls: new Map([[REF, succeededBefore]]) }),
    withPulls('once'),
  );
  t.deepEqual(dockerActions(once.plan), ['create web', 'start web']);
});

test('containers plan: a task desired STOPPED or not admitted waits on no pull', (t) => {
  const spec = taskSpec([container('web', { image: 'img-web:1' })]);
  const stopping = desiredFor(spec, { desiredStatus: 'STOPPED' });
  const a = planChecked(t, stopping, actualWith(stopping, [], { pulls: new Map() }), withPulls('always'));
  t.is(a.next.task.pullStartedAtMs, undefined);
  t.not(a.next.task.waitingFor?.startsWith('waiting to pull'), true);
});

test('containers plan: a dependent container pulls after its dependency unless pulls go upfront', (t) => {
  const spec = taskSpec([
    container('db', { image: 'db:1' }),
    container('app', { image: 'app:1', dependsOn: [{ containerName: 'db', condition: 'START' }] }),
  ]);
  const desired = desiredFor(spec);
  const waitingOnDb = planChecked(t, desired, actualWith(desired, [], { pulls: new Map() }), withPulls('default'));
  t.is(waitingOnDb.next.task.waitingFor, 'waiting to pull db:1');
  t.deepEqual(
    taskPullDemand(waitingOnDb.next.task, waitingOnDb.next.containers, false, T0).map((d) => d.container),
    ['db'],
  );
  const dbPulled = new Map([
    ['docker.io/library/db:1', pull({ ref: 'docker.io/library/db:1', finishedAtMs: WAIT + 100 })],
  ]);
  const started = desiredFor(spec, { pullStartedAtMs: WAIT });
  const gated = planChecked(t, started, actualWith(started, [], { pulls: dbPulled }), withPulls('default'));
  t.deepEqual(dockerActions(gated.plan), ['create db', 'start db']);
  // app waits for db START before it even pulls: no wait on its image yet, and the pull is not over.
  t.is(containerRecord(gated.next, 'app').knownStatus, 'NONE');
  t.is(gated.next.task.pullStoppedAtMs, undefined);

  const upfront = planChecked(t, desired, actualWith(desired, [], { pulls: new Map() }), withPulls('default', true));
  t.is(upfront.next.task.waitingFor, 'waiting to pull db:1');
  // Both wait now: app's pull is asked for too (the images loop's demand), while its create still waits for db.
  t.deepEqual(
    taskPullDemand(upfront.next.task, upfront.next.containers, true, T0).map((d) => d.container),
    ['db', 'app'],
  );
});
