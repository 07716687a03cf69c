/** Fact sheet 4.5 dependsOn, links and volumesFrom: satisfaction, terminal failures, timeouts, graph errors, shutdown order. */
import test from 'ava';
import { planContainers } from '../reconcilers/containers/plan.js';
import type { ObservedContainer } from '../src/docker/types.js';
import type { DependencyCondition } from '../src/model/task.js';
import type { ContainerRecord } from '../src/store/records.js';
import {
  actualWith,
  container,
  containerRecord,
  desiredFor,
  dockerActions,
  observed,
  outboxOf,
  planChecked,
  recordAction,
  SETTINGS,
  T0,
  TASK_ARN,
  taskSpec,
} from './containers-plan-fixtures.js';

type DepState = {
  label: string;
  record: Partial<ContainerRecord>;
  docker?: ObservedContainer;
};

const INIT_ID = 'init-docker-id-0123456789abcdef';
type InitState = 'none' | 'running' | 'healthy' | 'exited0' | 'exited1' | 'vanished' | 'neverStarts';

const initStates: Record<InitState, DepState> = {
  none: { label: 'not created', record: {} },
  running: {
    label: 'running',
    record: { knownStatus: 'RUNNING', dockerId: INIT_ID, startedAtMs: T0 + 2_000 },
    docker: observed('init', 'running'),
  },
  healthy: {
    label: 'running and healthy',
    record: { knownStatus: 'RUNNING', dockerId: INIT_ID, startedAtMs: T0 + 2_000 },
    docker: observed('init', 'running', { health: 'healthy' }),
  },
  exited0: {
    label: 'exited 0',
    record: { knownStatus: 'RUNNING', dockerId: INIT_ID },
    docker: observed('init', 'exited', { exitCode: 0 }),
  },
  exited1: {
    label: 'exited 1',
    record: { knownStatus: 'RUNNING', dockerId: INIT_ID },
    docker: observed('init', 'exited', { exitCode: 1 }),
  },
  vanished: {
    label: 'vanished after running',
    record: { knownStatus: 'RUNNING', dockerId: INIT_ID, startedAtMs: T0 + 2_000 },
  },
  neverStarts: {
    label: 'desired STOPPED before it ran',
    record: { desiredStatus: 'STOPPED', reason: 'CannotPullContainerError: nope' },
  },
};

type Outcome = 'blocked' | 'satisfied' | 'terminal';

/** Fact sheet 4.5's table, row by row: app depends on a non-essential `init` with each condition. */
const table: Array<{ condition: DependencyCondition; init: InitState; outcome: Outcome; why?: RegExp }> = [
  { condition: 'START', init: 'none', outcome: 'blocked' },
  { condition: 'START', init: 'running', outcome: 'satisfied' },
  { condition: 'START', init: 'exited0', outcome: 'satisfied' },
  { condition: 'START', init: 'neverStarts', outcome: 'terminal', why: /init will never start/ },
  { condition: 'COMPLETE', init: 'none', outcome: 'blocked' },
  { condition: 'COMPLETE', init: 'running', outcome: 'blocked' },
  { condition: 'COMPLETE', init: 'exited1', outcome: 'satisfied' },
  { condition: 'COMPLETE', init: 'vanished', outcome: 'terminal', why: /stopped without an exit code/ },
  { condition: 'COMPLETE', init: 'neverStarts', outcome: 'terminal', why: /will never start/ },
  { condition: 'SUCCESS', init: 'running', outcome: 'blocked' },
  { condition: 'SUCCESS', init: 'exited0', outcome: 'satisfied' },
  { condition: 'SUCCESS', init: 'exited1', outcome: 'terminal', why: /init exited with code 1/ },
  { condition: 'SUCCESS', init: 'neverStarts', outcome: 'terminal', why: /will never start/ },
  { condition: 'HEALTHY', init: 'running', outcome: 'blocked' },
  { condition: 'HEALTHY', init: 'healthy', outcome: 'satisfied' },
  { condition: 'HEALTHY', init: 'exited0', outcome: 'terminal', why: /stopped before becoming HEALTHY/ },
];

for (const row of table) {
  const init = initStates[row.init];
  test(`dependsOn ${row.condition} on a dependency ${init.label} → ${row.outcome}`, (t) => {
    const spec = taskSpec([
      container('init', { essential: false, healthCheckType: 'docker' }),
      container('app', { dependsOn: [{ containerName: 'init', condition: row.condition }] }),
    ]);
    const desired = desiredFor(spec, {}, { init: init.record });
    const { plan, next } = planChecked(t, desired, actualWith(desired, init.docker ? [init.docker] : []));
    const app = containerRecord(next, 'app');
    const actions = dockerActions(plan);
    if (row.outcome === 'satisfied') {
      t.true(actions.includes('create app'), actions.join(', '));
      const create = plan.actions.find((a) => a.kind === 'create' && a.container === 'app');
      t.regex(create?.reason ?? '', new RegExp(`dependency init ${row.condition} satisfied; creating`));
      t.is(app.desiredStatus, 'RUNNING');
    } else if (row.outcome === 'blocked') {
      t.false(actions.includes('create app'), actions.join(', '));
      t.is(app.desiredStatus, 'RUNNING');
      t.is(app.knownStatus, 'NONE');
    } else {
      t.false(actions.includes('create app'));
      t.is(app.desiredStatus, 'STOPPED');
      t.is(app.knownStatus, 'STOPPED');
      t.is(app.exitCode, 143, 'synthetic exit code of a dependency failure');
      t.regex(app.reason ?? '', /^CannotStartContainerError: /);
      t.regex(app.reason ?? '', row.why!);
      t.is(next.task.desiredStatus, 'STOPPED', 'app is essential');
    }
  });
}

test('start is gated by dependencies too: a created container waits for its dependency', (t) => {
  const spec = taskSpec([
    container('db', { healthCheckType: 'docker' }),
    container('app', { dependsOn: [{ containerName: 'db', condition: 'HEALTHY' }] }),
  ]);
  const desired = desiredFor(
    spec,
    { knownStatus: 'CREATED' },
    {
      db: { knownStatus: 'RUNNING', dockerId: 'db-docker-id-0123456789abcdef' },
      app: { knownStatus: 'CREATED', dockerId: 'app-docker-id-0123456789abcdef' },
    },
  );
  const waiting = planChecked(
    t,
    desired,
    actualWith(desired, [observed('db', 'running', { health: 'starting' }), observed('app', 'created')]),
  );
  t.deepEqual(dockerActions(waiting.plan), []);
  const ready = planChecked(
    t,
    desired,
    actualWith(desired, [observed('db', 'running', { health: 'healthy' }), observed('app', 'created')]),
  );
  t.deepEqual(dockerActions(ready.plan), ['start app']);
  t.regex(
    ready.plan.actions.find((a) => a.kind === 'start')!.reason,
    /container app: dependency db HEALTHY satisfied; starting/,
  );
});

test('links wait for the linked container to run; volumesFrom only for it to exist', (t) => {
  const spec = taskSpec([
    container('db'),
    container('data'),
    container('web', { links: ['db:database'] }),
    container('worker', { volumesFrom: [{ sourceContainer: 'data', readOnly: true }] }),
  ]);
  const fresh = desiredFor(spec);
  // db and data depend on nothing, so each is started in the plan that creates it.
  t.deepEqual(dockerActions(planContainers(fresh, actualWith(fresh), SETTINGS)), [
    'create db',
    'start db',
    'create data',
    'start data',
  ]);
  const created = desiredFor(
    spec,
    { knownStatus: 'NONE' },
    {
      db: { knownStatus: 'CREATED', dockerId: 'db-docker-id-0123456789abcdef' },
      data: { knownStatus: 'CREATED', dockerId: 'data-docker-id-0123456789abcdef' },
    },
  );
  const plan = planContainers(
    created,
    actualWith(created, [observed('db', 'created'), observed('data', 'created')]),
    SETTINGS,
  );
  t.deepEqual(dockerActions(plan), ['start db', 'start data', 'create worker']);
});

test('startTimeout of the dependency bounds the wait and asks for a requeue until it expires', (t) => {
  const spec = taskSpec([
    container('init', { essential: false, healthCheckType: 'docker', startTimeoutSec: 30 }),
    container('app', { dependsOn: [{ containerName: 'init', condition: 'HEALTHY' }] }),
  ]);
  const desired = desiredFor(spec, { knownStatus: 'NONE' }, { init: { knownStatus: 'RUNNING', dockerId: INIT_ID } });
  const startedAtMs = T0 + 2_000;
  const deadlineMs = startedAtMs + 30_000;
  const docker = [observed('init', 'running', { startedAtMs, health: 'starting' })];

  const early = planChecked(t, desired, actualWith(desired, docker, { nowMs: T0 + 10_000 }));
  t.deepEqual(dockerActions(early.plan), []);
  t.is(early.plan.requeueAfterMs, deadlineMs + 1 - (T0 + 10_000));

  const atDeadline = planChecked(t, desired, actualWith(desired, docker, { nowMs: deadlineMs }));
  t.is(containerRecord(atDeadline.next, 'app').desiredStatus, 'RUNNING', 'not expired at exactly the deadline');
  t.is(atDeadline.plan.requeueAfterMs, 1);

  const late = planChecked(t, desired, actualWith(desired, docker, { nowMs: deadlineMs + 1 }));
  const app = containerRecord(late.next, 'app');
  t.is(app.desiredStatus, 'STOPPED');
  t.is(app.exitCode, 143);
  t.regex(
    app.reason ?? '',
    /^CannotStartContainerError: dependency init did not meet HEALTHY within its startTimeout of 30s/,
  );
  t.is(late.plan.requeueAfterMs, undefined);
});

test('startTimeout does not apply to START, to an unstarted dependency, or from the dependent side', (t) => {
  const cases = [
    {
      title: 'START condition',
      init: { startTimeoutSec: 5 },
      app: {},
      condition: 'START' as const,
      docker: [observed('init', 'created')],
      record: { knownStatus: 'CREATED' as const, dockerId: INIT_ID },
    },
    {
      title: 'dependency not started yet',
      init: { startTimeoutSec: 5 },
      app: {},
      condition: 'SUCCESS' as const,
      docker: [],
      record: {},
    },
    {
      title: "the dependent's own startTimeout",
      init: {},
      app: { startTimeoutSec: 5 },
      condition: 'SUCCESS' as const,
      docker: [observed('init', 'running')],
      record: { knownStatus: 'RUNNING' as const, dockerId: INIT_ID },
    },
  ];
  for (const c of cases) {
    const spec = taskSpec([
      container('init', { essential: false, ...c.init }),
      container('app', { ...c.app, dependsOn: [{ containerName: 'init', condition: c.condition }] }),
    ]);
    const desired = desiredFor(spec, {}, { init: c.record });
    const plan = planContainers(desired, actualWith(desired, c.docker, { nowMs: T0 + 3_600_000 }), SETTINGS);
    t.is(plan.requeueAfterMs, undefined, c.title);
    t.is(
      recordAction(plan)?.observation.containers?.find((x) => x.name === 'app'),
      undefined,
      c.title,
    );
  }
});

test('a dependency cycle stops the task with upstream reason', (t) => {
  const spec = taskSpec([
    container('a', { dependsOn: [{ containerName: 'b', condition: 'START' }] }),
    container('b', { links: ['c'] }),
    container('c', { volumesFrom: [{ sourceContainer: 'a', readOnly: false }] }),
  ]);
  const desired = desiredFor(spec);
  const { plan, next } = planChecked(t, desired, actualWith(desired));
  t.is(next.task.reason, `Task dependencies cannot be resolved, taskArn: ${TASK_ARN}`);
  t.is(next.task.desiredStatus, 'STOPPED');
  t.is(next.task.knownStatus, 'STOPPED');
  t.true(next.containers.every((c) => c.knownStatus === 'STOPPED'));
  t.deepEqual(dockerActions(plan), []);
  t.regex(recordAction(plan)!.reason, /dependency cycle a → b → c → a/);
  const [entry] = outboxOf(plan);
  t.is(entry?.payload['status'], 'STOPPED');
  t.is(entry?.payload['reason'], `Task dependencies cannot be resolved, taskArn: ${TASK_ARN}`);
});

test('impossible graphs name what is wrong', (t) => {
  const cases = [
    {
      title: 'unknown dependsOn target',
      containers: [container('a', { dependsOn: [{ containerName: 'ghost', condition: 'START' }] })],
      detail: /container a depends on unknown container ghost \(dependsOn\)/,
    },
    {
      title: 'unknown link target',
      containers: [container('a', { links: ['ghost:g'] })],
      detail: /container a depends on unknown container ghost \(link\)/,
    },
    {
      title: 'HEALTHY without a health check',
      containers: [container('db'), container('a', { dependsOn: [{ containerName: 'db', condition: 'HEALTHY' }] })],
      detail: /db has no Docker health check/,
    },
    {
      title: 'self link',
      containers: [container('a', { links: ['a'] })],
      detail: undefined,
    },
  ];
  for (const c of cases) {
    const desired = desiredFor(taskSpec(c.containers));
    const { plan, next } = planChecked(t, desired, actualWith(desired));
    t.true(next.task.reason?.startsWith(`Task dependencies cannot be resolved, taskArn: ${TASK_ARN}`), c.title);
    if (c.detail) t.regex(next.task.reason ?? '', c.detail, c.title);
    t.is(next.task.knownStatus, 'STOPPED', c.title);
    t.deepEqual(dockerActions(plan), [], c.title);
  }
});

test('shutdown order: a container stops only after every container depending on it has stopped', (t) => {
  const spec = taskSpec([
    container('db'),
    container('app', { dependsOn: [{ containerName: 'db', condition: 'START' }] }),
    container('proxy', { links: ['app'] }),
  ]);
  const running = {
    db: { knownStatus: 'RUNNING' as const, dockerId: 'db-docker-id-0123456789abcdef' },
    app: { knownStatus: 'RUNNING' as const, dockerId: 'app-docker-id-0123456789abcdef' },
    proxy: { knownStatus: 'RUNNING' as const, dockerId: 'proxy-docker-id-0123456789abcdef' },
  };
  let desired = desiredFor(spec, { knownStatus: 'RUNNING', desiredStatus: 'STOPPED' }, running);
  const docker: Record<string, ObservedContainer> = {
    db: observed('db', 'running'),
    app: observed('app', 'running'),
    proxy: observed('proxy', 'running'),
  };
  const order: string[][] = [];
  for (const stopping of ['proxy', 'app', 'db']) {
    const { plan, next } = planChecked(t, desired, actualWith(desired, Object.values(docker)));
    order.push(dockerActions(plan));
    docker[stopping] = observed(stopping, 'exited', { exitCode: 143 });
    desired = next;
  }
  t.deepEqual(order, [['stop proxy 30s'], ['stop app 30s'], ['stop db 30s']]);
  const last = planChecked(t, desired, actualWith(desired, Object.values(docker)));
  t.is(last.next.task.knownStatus, 'STOPPED');
});

test('a failed dependency cascades: the dependent fails, then the essential rule stops everything', (t) => {
  const spec = taskSpec([
    container('migrate', { essential: false }),
    container('app', { dependsOn: [{ containerName: 'migrate', condition: 'SUCCESS' }] }),
    container('sidecar', { essential: false }),
  ]);
  const desired = desiredFor(
    spec,
    { knownStatus: 'NONE' },
    {
      migrate: { knownStatus: 'RUNNING', dockerId: 'migrate-docker-id-0123456789abcdef' },
      sidecar: { knownStatus: 'RUNNING', dockerId: 'sidecar-docker-id-0123456789abcdef' },
    },
  );
  const { plan, next } = planChecked(
    t,
    desired,
    actualWith(desired, [observed('migrate', 'exited', { exitCode: 2 }), observed('sidecar', 'running')]),
  );
  t.regex(containerRecord(next, 'app').reason ?? '', /dependency migrate exited with code 2/);
  t.is(next.task.desiredStatus, 'STOPPED');
  t.deepEqual(dockerActions(plan), ['stop sidecar 30s']);
});
