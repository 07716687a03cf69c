import test from 'ava';
import { planContainers } from '../reconcilers/containers/plan.js';
import { ENGINE_UNAVAILABLE_PREFIX } from '../reconcilers/containers/plan-reasons.js';
import { actionPrerequisites } from '../reconcilers/runtime/action-graph.js';
import {
  actualWith,
  container,
  desiredFor,
  observed,
  planChecked,
  recordAction,
  SETTINGS,
  taskSpec,
} from './containers-plan-fixtures.js';

const RUNNING = { knownStatus: 'RUNNING', startedAtMs: 1 } as const;

/** `id <- after…` per action, for readable assertions about the graph. */
function edges(actions: ReadonlyArray<{ id?: string; after?: readonly string[] }>): string[] {
  return actions.map((a) => `${a.id} <- ${(a.after ?? []).join(',')}`);
}

test('two containers that nothing orders stop at the same time, after the record', (t) => {
  const spec = taskSpec([container('a', { stopTimeoutSec: 30 }), container('b', { stopTimeoutSec: 30 })]);
  const desired = desiredFor(spec, { desiredStatus: 'STOPPED', knownStatus: 'RUNNING' }, { a: RUNNING, b: RUNNING });
  const { plan } = planChecked(t, desired, actualWith(desired, [observed('a', 'running'), observed('b', 'running')]));
  t.deepEqual(edges(plan.actions), ['record <- ', 'stop:a <- record', 'stop:b <- record']);
  // As the runtime reads it: both stops wait for the record alone, so they run concurrently.
  t.deepEqual(actionPrerequisites('containers', plan.actions), [[], [0], [0]]);
});

test('sibling creates are independent; each start follows its own create', (t) => {
  const spec = taskSpec([container('a'), container('b')]);
  const desired = desiredFor(spec);
  const { plan } = planChecked(t, desired, actualWith(desired));
  t.deepEqual(edges(plan.actions), ['create:a <- ', 'start:a <- create:a', 'create:b <- ', 'start:b <- create:b']);
});

test('a stop held by shutdown order is not in the plan until its dependent stopped', (t) => {
  const spec = taskSpec([
    container('db'),
    container('app', { dependsOn: [{ containerName: 'db', condition: 'START' }] }),
  ]);
  const desired = desiredFor(spec, { desiredStatus: 'STOPPED', knownStatus: 'RUNNING' }, { db: RUNNING, app: RUNNING });
  const { plan } = planChecked(
    t,
    desired,
    actualWith(desired, [observed('db', 'running'), observed('app', 'running')]),
  );
  t.deepEqual(
    plan.actions.filter((a) => a.kind === 'stop').map((a) => a.id),
    ['stop:app'],
  );
});

test("the 'Docker engine unavailable' note is replaced by a real reason and cleared once a container runs", (t) => {
  const spec = taskSpec([container('web')]);
  const waiting = `${ENGINE_UNAVAILABLE_PREFIX}connect ENOENT /var/run/docker.sock`;
  const pending = desiredFor(spec, { reason: waiting });
  const stillWaiting = planContainers(pending, actualWith(pending), SETTINGS);
  t.is(recordAction(stillWaiting)?.observation.task?.reason, undefined, 'kept while nothing runs');

  const started = desiredFor(spec, { reason: waiting }, { web: { knownStatus: 'CREATED' } });
  const { plan, next } = planChecked(t, started, actualWith(started, [observed('web', 'running')]));
  t.is(recordAction(plan)?.observation.task?.reason, '');
  t.is(next.task.reason, '');

  const stopping = desiredFor(spec, { reason: waiting, desiredStatus: 'STOPPED' });
  const stopped = planChecked(t, stopping, actualWith(stopping)).next;
  t.false(stopped.task.reason?.startsWith(ENGINE_UNAVAILABLE_PREFIX) ?? false, 'never reported as a STOPPED reason');
});

test('a container whose stop is in flight gets no second stop; its unordered sibling still does', (t) => {
  const spec = taskSpec([container('a', { stopTimeoutSec: 30 }), container('b', { stopTimeoutSec: 30 })]);
  const desired = desiredFor(spec, { desiredStatus: 'STOPPED', knownStatus: 'RUNNING' }, { a: RUNNING, b: RUNNING });
  const actual = actualWith(desired, [observed('a', 'running'), observed('b', 'running')], {
    stopsInFlight: new Set(['a']),
  });
  const { plan } = planChecked(t, desired, actual);
  t.deepEqual(
    plan.actions.filter((a) => a.kind === 'stop').map((a) => a.id),
    ['stop:b'],
  );
});
