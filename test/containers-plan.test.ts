/** The containers planner's state machine: the status ladder, essential-container rules and observation → record. */
import test from 'ava';
import { planContainers } from '../reconcilers/containers/plan.js';
import {
  actualWith,
  applyRecord,
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

test('one-container task climbs NONE → CREATED → RUNNING → STOPPED', (t) => {
  const spec = taskSpec([container('web')]);
  // Nothing gates the start, so it follows the create in the same plan; a container found only created
  // (the start did not happen, e.g. the agent died between the two) gets its start on its own.
  const steps = [
    { docker: undefined, actions: ['create web', 'start web'], task: 'NONE', web: 'NONE', report: undefined },
    { docker: observed('web', 'created'), actions: ['start web'], task: 'CREATED', web: 'CREATED', report: undefined },
    { docker: observed('web', 'running'), actions: [], task: 'RUNNING', web: 'RUNNING', report: 'RUNNING' },
    { docker: observed('web', 'exited'), actions: [], task: 'STOPPED', web: 'STOPPED', report: 'STOPPED' },
  ] as const;
  let desired = desiredFor(spec);
  for (const step of steps) {
    const actual = actualWith(desired, step.docker ? [step.docker] : []);
    const { plan, next } = planChecked(t, desired, actual);
    t.deepEqual(dockerActions(plan), [...step.actions], `actions with docker ${step.docker?.state ?? 'absent'}`);
    t.is(next.task.knownStatus, step.task);
    t.is(containerRecord(next, 'web').knownStatus, step.web);
    t.deepEqual(
      outboxOf(plan).map((e) => e.payload['status']),
      step.report === undefined ? [] : [step.report],
    );
    desired = next;
  }
  const web = containerRecord(desired, 'web');
  t.is(web.exitCode, 0);
  t.is(web.dockerId, 'web-docker-id-0123456789abcdef');
  t.is(desired.task.desiredStatus, 'STOPPED', 'the essential container exiting stops the task');
  t.is(desired.task.executionStoppedAtMs, T0 + 10_000);
});

test('first plan of a fresh task records nothing, and creates and starts an ungated container', (t) => {
  const desired = desiredFor(taskSpec([container('web')]));
  const plan = planContainers(desired, actualWith(desired), SETTINGS);
  t.deepEqual(
    plan.actions.map((a) => a.kind),
    ['create', 'start'],
  );
  t.regex(plan.actions[0]!.reason, /container web: no dependencies; creating/);
  t.regex(plan.actions[1]!.reason, /container web: no dependencies; starting/);
  t.is(plan.requeueAfterMs, undefined);
});

test('essential exit stops the task: the others are stopped, the task stays RUNNING until all stop', (t) => {
  const spec = taskSpec([container('app'), container('sidecar', { essential: false })]);
  let desired = desiredFor(
    spec,
    { knownStatus: 'RUNNING', sentStatus: 'RUNNING' },
    {
      app: { knownStatus: 'RUNNING', sentStatus: 'RUNNING' },
      sidecar: { knownStatus: 'RUNNING', sentStatus: 'RUNNING' },
    },
  );
  const first = planChecked(
    t,
    desired,
    actualWith(desired, [observed('app', 'exited', { exitCode: 3 }), observed('sidecar', 'running')]),
  );
  t.deepEqual(dockerActions(first.plan), ['stop sidecar 30s']);
  t.is(first.next.task.desiredStatus, 'STOPPED');
  t.is(first.next.task.knownStatus, 'RUNNING');
  t.is(containerRecord(first.next, 'sidecar').desiredStatus, 'STOPPED');
  t.is(containerRecord(first.next, 'app').exitCode, 3);
  // The container-only change is reported on a task-level entry carrying the task's current status.
  t.deepEqual(
    outboxOf(first.plan).map((e) => [
      e.payload['status'],
      (e.payload['containers'] as Array<{ status: string }>).map((c) => c.status),
    ]),
    [['RUNNING', ['STOPPED']]],
  );
  desired = first.next;
  const second = planChecked(
    t,
    desired,
    actualWith(desired, [observed('app', 'exited', { exitCode: 3 }), observed('sidecar', 'exited', { exitCode: 143 })]),
  );
  t.is(second.next.task.knownStatus, 'STOPPED');
  t.deepEqual(
    outboxOf(second.plan).map((e) => e.payload['status']),
    ['STOPPED'],
  );
});

test('a non-essential exit changes nothing else', (t) => {
  const spec = taskSpec([container('app'), container('sidecar', { essential: false })]);
  const desired = desiredFor(
    spec,
    { knownStatus: 'RUNNING', sentStatus: 'RUNNING' },
    {
      app: { knownStatus: 'RUNNING', sentStatus: 'RUNNING' },
      sidecar: { knownStatus: 'RUNNING', sentStatus: 'RUNNING' },
    },
  );
  const { plan, next } = planChecked(
    t,
    desired,
    actualWith(desired, [observed('app', 'running'), observed('sidecar', 'exited', { exitCode: 1 })]),
  );
  t.deepEqual(dockerActions(plan), []);
  t.is(next.task.desiredStatus, 'RUNNING');
  t.is(next.task.knownStatus, 'RUNNING');
  t.is(containerRecord(next, 'app').desiredStatus, 'RUNNING');
  t.is(containerRecord(next, 'sidecar').knownStatus, 'STOPPED');
  t.is(next.task.executionStoppedAtMs, undefined, 'only an essential container sets executionStoppedAt');
  t.deepEqual(outboxOf(plan).length, 1);
});

test('an essential container stopped while the earliest is steady holds the task status (never reports RUNNING)', (t) => {
  const spec = taskSpec([container('app'), container('sidecar', { essential: false })]);
  const desired = desiredFor(
    spec,
    { knownStatus: 'CREATED' },
    {
      app: { knownStatus: 'CREATED' },
      sidecar: { knownStatus: 'CREATED' },
    },
  );
  const { plan, next } = planChecked(
    t,
    desired,
    actualWith(desired, [observed('app', 'exited', { exitCode: 0 }), observed('sidecar', 'running')]),
  );
  t.is(next.task.knownStatus, 'CREATED', 'min would be RUNNING, but the essential-stopped rule holds it');
  t.is(next.task.desiredStatus, 'STOPPED');
  t.deepEqual(dockerActions(plan), ['stop sidecar 30s']);
});

test('observation maps Docker state, exit code, OOM and health onto the record', (t) => {
  const cases = [
    {
      title: 'OOM kill',
      spec: container('web'),
      docker: observed('web', 'exited', { exitCode: 137, oomKilled: true }),
      expect: {
        knownStatus: 'STOPPED',
        exitCode: 137,
        reason: 'OutOfMemoryError: Container killed due to memory usage',
      },
    },
    {
      title: 'exit code carried',
      spec: container('web'),
      docker: observed('web', 'dead', { exitCode: 2 }),
      expect: { knownStatus: 'STOPPED', exitCode: 2, reason: undefined },
    },
    {
      title: 'healthy with a docker health check',
      spec: container('web', { healthCheckType: 'docker' }),
      docker: observed('web', 'running', { health: 'healthy' }),
      expect: { knownStatus: 'RUNNING', health: 'HEALTHY' },
    },
    {
      title: 'unhealthy with a docker health check',
      spec: container('web', { healthCheckType: 'docker' }),
      docker: observed('web', 'running', { health: 'unhealthy' }),
      expect: { knownStatus: 'RUNNING', health: 'UNHEALTHY' },
    },
    {
      title: 'health ignored without a health check',
      spec: container('web'),
      docker: observed('web', 'running', { health: 'healthy' }),
      expect: { knownStatus: 'RUNNING', health: 'UNKNOWN' },
    },
    {
      title: 'paused still counts as running',
      spec: container('web'),
      docker: observed('web', 'paused'),
      expect: { knownStatus: 'RUNNING' },
    },
  ] as const;
  for (const c of cases) {
    const desired = desiredFor(taskSpec([c.spec]), { knownStatus: 'CREATED' }, { web: { knownStatus: 'CREATED' } });
    const { next } = planChecked(t, desired, actualWith(desired, [c.docker]));
    const web = containerRecord(next, 'web');
    for (const [key, value] of Object.entries(c.expect)) {
      t.is(web[key as keyof typeof web], value, `${c.title}: ${key}`);
    }
  }
});

test('known status is never lowered by an older observation', (t) => {
  const desired = desiredFor(
    taskSpec([container('web')]),
    { knownStatus: 'RUNNING' },
    {
      web: { knownStatus: 'RUNNING', dockerId: 'web-docker-id-0123456789abcdef', startedAtMs: T0 + 2_000 },
    },
  );
  const plan = planContainers(
    desired,
    actualWith(desired, [observed('web', 'created', { createdAtMs: T0 + 1_000 })]),
    SETTINGS,
  );
  const patch = recordAction(plan)?.observation.containers?.[0]?.patch;
  t.is(patch?.knownStatus, undefined);
  t.deepEqual(dockerActions(plan), []);
});

test('a container created while the agent was down is adopted by its name label', (t) => {
  const desired = desiredFor(taskSpec([container('web')]));
  const { plan, next } = planChecked(t, desired, actualWith(desired, [observed('web', 'running')]));
  t.is(containerRecord(next, 'web').dockerId, 'web-docker-id-0123456789abcdef');
  t.is(containerRecord(next, 'web').knownStatus, 'RUNNING');
  t.regex(recordAction(plan)!.reason, /adopted Docker container/);
});

test('a recorded container missing from a synced view has vanished', (t) => {
  const desired = desiredFor(
    taskSpec([container('web')]),
    { knownStatus: 'RUNNING', sentStatus: 'RUNNING' },
    {
      web: { knownStatus: 'RUNNING', sentStatus: 'RUNNING', dockerId: 'gone-0123456789' },
    },
  );
  const { plan, next } = planChecked(t, desired, actualWith(desired, []));
  const web = containerRecord(next, 'web');
  t.is(web.knownStatus, 'STOPPED');
  t.is(web.reason, 'ContainerVanishedError: No container matching saved ID found');
  t.is(web.exitCode, undefined);
  t.is(next.task.desiredStatus, 'STOPPED');
  t.is(next.task.knownStatus, 'STOPPED');
  t.deepEqual(dockerActions(plan), []);
});

test('nothing is declared vanished before the view has synced', (t) => {
  const desired = desiredFor(
    taskSpec([container('web')]),
    { knownStatus: 'RUNNING' },
    {
      web: { knownStatus: 'RUNNING', dockerId: 'maybe-0123456789' },
    },
  );
  const plan = planContainers(desired, actualWith(desired, [], { viewSynced: false }), SETTINGS);
  t.deepEqual(plan.actions, []);
});

test('before the view syncs, a recorded CREATED container is not assumed never-started', (t) => {
  const desired = desiredFor(
    taskSpec([container('web')]),
    { knownStatus: 'CREATED', desiredStatus: 'STOPPED' },
    {
      web: { knownStatus: 'CREATED', desiredStatus: 'STOPPED', dockerId: 'maybe-0123456789' },
    },
  );
  const plan = planContainers(desired, actualWith(desired, [], { viewSynced: false }), SETTINGS);
  t.deepEqual(plan.actions, []);
});

test('a missing image fails the container with CannotPullContainerError and stops the task', (t) => {
  const spec = taskSpec([container('web', { image: 'registry.local/web:9' })]);
  const desired = desiredFor(spec);
  const { plan, next } = planChecked(t, desired, actualWith(desired, [], { imagesPresent: new Set() }));
  const web = containerRecord(next, 'web');
  t.is(web.desiredStatus, 'STOPPED');
  t.regex(web.reason ?? '', /^CannotPullContainerError: .*registry\.local\/web:9/);
  t.is(web.knownStatus, 'STOPPED', 'never started, so marked STOPPED without a Docker call');
  t.is(web.exitCode, undefined);
  t.is(next.task.desiredStatus, 'STOPPED');
  t.is(next.task.knownStatus, 'STOPPED');
  t.deepEqual(dockerActions(plan), []);
  t.deepEqual(
    outboxOf(plan).map((e) => e.payload['status']),
    ['STOPPED'],
  );
});

test('a task stopped before anything ran is marked STOPPED without Docker calls', (t) => {
  const spec = taskSpec([container('a'), container('b', { essential: false })]);
  const desired = desiredFor(
    spec,
    { desiredStatus: 'STOPPED' },
    { b: { knownStatus: 'CREATED', dockerId: 'b-id-0123456789' } },
  );
  const { plan, next } = planChecked(
    t,
    desired,
    actualWith(desired, [observed('b', 'created', { id: 'b-id-0123456789' })]),
  );
  t.deepEqual(dockerActions(plan), [], 'a created-but-never-started container is left for cleanup');
  t.deepEqual(
    next.containers.map((c) => [c.name, c.knownStatus, c.desiredStatus]),
    [
      ['a', 'STOPPED', 'STOPPED'],
      ['b', 'STOPPED', 'STOPPED'],
    ],
  );
  t.is(next.task.knownStatus, 'STOPPED');
});

test('a container failed by the executor (desired STOPPED after a create error) is marked STOPPED and stops the task', (t) => {
  const desired = desiredFor(
    taskSpec([container('web')]),
    {},
    {
      web: {
        desiredStatus: 'STOPPED',
        reason: 'CannotCreateContainerError: bad config',
        dockerName: 'ecs-web-3-web-aa',
      },
    },
  );
  const { plan, next } = planChecked(t, desired, actualWith(desired));
  t.is(containerRecord(next, 'web').knownStatus, 'STOPPED');
  t.is(containerRecord(next, 'web').reason, 'CannotCreateContainerError: bad config');
  t.is(next.task.knownStatus, 'STOPPED');
  t.deepEqual(dockerActions(plan), []);
});

test('the record action comes first and explains itself', (t) => {
  const desired = desiredFor(taskSpec([container('web')]), {}, { web: { dockerId: 'web-docker-id-0123456789abcdef' } });
  const plan = planContainers(desired, actualWith(desired, [observed('web', 'created')]), SETTINGS);
  t.is(plan.actions[0]?.kind, 'record');
  t.regex(plan.actions[0]!.reason, /container web: NONE → CREATED \(docker created\)/);
  t.is(recordAction(plan)?.observation.taskArn, TASK_ARN);
  const applied = applyRecord(desired, plan);
  t.is(applied.task.knownStatus, 'CREATED');
});
