/** The Docker actions the containers planner asks for: stops and their grace, task cgroup and volumes first, parallel progress. */
import test from 'ava';
import { planContainers } from '../reconcilers/containers/plan.js';
import {
  actualWith,
  container,
  containerRecord,
  desiredFor,
  dockerActions,
  observed,
  planChecked,
  SETTINGS,
  taskSpec,
} from './containers-plan-fixtures.js';
import { sharedDockerVolume } from './helpers/specs.js';

test('a stop request stops the running container with the default grace, then the task stops', (t) => {
  const spec = taskSpec([container('web')]);
  let desired = desiredFor(
    spec,
    { knownStatus: 'RUNNING', desiredStatus: 'STOPPED', sentStatus: 'RUNNING' },
    {
      web: { knownStatus: 'RUNNING', sentStatus: 'RUNNING', dockerId: 'web-docker-id-0123456789abcdef' },
    },
  );
  const first = planChecked(t, desired, actualWith(desired, [observed('web', 'running')]));
  t.deepEqual(dockerActions(first.plan), ['stop web 30s']);
  t.is(containerRecord(first.next, 'web').desiredStatus, 'STOPPED');
  desired = first.next;
  const second = planChecked(t, desired, actualWith(desired, [observed('web', 'exited', { exitCode: 143 })]));
  t.deepEqual(dockerActions(second.plan), []);
  t.is(second.next.task.knownStatus, 'STOPPED');
  t.is(containerRecord(second.next, 'web').exitCode, 143);
});

test('a container stopTimeout wins over the agent default', (t) => {
  const spec = taskSpec([container('web', { stopTimeoutSec: 7 })]);
  const desired = desiredFor(
    spec,
    { knownStatus: 'RUNNING', desiredStatus: 'STOPPED' },
    { web: { knownStatus: 'RUNNING' } },
  );
  const { plan } = planChecked(t, desired, actualWith(desired, [observed('web', 'running')]));
  t.deepEqual(dockerActions(plan), ['stop web 7s']);
});

test('a container Docker shows running is stopped even when its record says it never started', (t) => {
  const desired = desiredFor(
    taskSpec([container('web')]),
    { knownStatus: 'STOPPED', desiredStatus: 'STOPPED' },
    {
      web: { knownStatus: 'STOPPED', desiredStatus: 'STOPPED', dockerId: 'web-docker-id-0123456789abcdef' },
    },
  );
  const { plan } = planChecked(t, desired, actualWith(desired, [observed('web', 'running')]));
  t.deepEqual(dockerActions(plan), ['stop web 30s']);
});

test('the task cgroup is set up before any create when task limits apply', (t) => {
  const spec = taskSpec([container('web')], { cpuVcpu: 0.5 });
  const desired = desiredFor(spec);
  const settings = { ...SETTINGS, taskCgroupEnabled: true };
  const cases = [
    { ready: false, enabled: true, actions: ['setup-task-cgroup'] },
    { ready: true, enabled: true, actions: ['create web', 'start web'] },
    { ready: false, enabled: false, actions: ['create web', 'start web'] },
  ];
  for (const c of cases) {
    const plan = planContainers(desired, actualWith(desired, [], { taskCgroupReady: c.ready }), {
      ...settings,
      taskCgroupEnabled: c.enabled,
    });
    t.deepEqual(dockerActions(plan), c.actions, `ready=${c.ready} enabled=${c.enabled}`);
  }
  const noLimits = desiredFor(taskSpec([container('web')]));
  t.deepEqual(dockerActions(planContainers(noLimits, actualWith(noLimits, [], { taskCgroupReady: false }), settings)), [
    'create web',
    'start web',
  ]);
});

test('task volumes are created before the containers that mount them', (t) => {
  const spec = taskSpec(
    [
      container('web', { mountPoints: [{ sourceVolume: 'scratch', containerPath: '/s', readOnly: false }] }),
      container('db', { mountPoints: [{ sourceVolume: 'hostdir', containerPath: '/h', readOnly: true }] }),
      container('cache', { mountPoints: [{ sourceVolume: 'shared', containerPath: '/c', readOnly: false }] }),
    ],
    {
      volumes: [
        { name: 'scratch', type: 'host' },
        { name: 'hostdir', type: 'host', sourcePath: '/srv' },
        sharedDockerVolume('shared'),
      ],
    },
  );
  const desired = desiredFor(spec);
  const before = planContainers(desired, actualWith(desired), SETTINGS);
  t.deepEqual(dockerActions(before), ['create-volume scratch', 'create-volume shared', 'create db', 'start db']);
  const after = planContainers(
    desired,
    actualWith(desired, [], { volumesPresent: new Set(['scratch', 'shared']) }),
    SETTINGS,
  );
  t.deepEqual(dockerActions(after), [
    'create web',
    'start web',
    'create db',
    'start db',
    'create cache',
    'start cache',
  ]);
});

test('a mount of a volume this host cannot provide fails the container', (t) => {
  const spec = taskSpec(
    [container('web', { mountPoints: [{ sourceVolume: 'efs', containerPath: '/e', readOnly: false }] })],
    { volumes: [{ name: 'efs', type: 'unsupported', originalType: 'efs' }] },
  );
  const desired = desiredFor(spec);
  const { plan, next } = planChecked(t, desired, actualWith(desired));
  t.regex(containerRecord(next, 'web').reason ?? '', /^CannotCreateContainerError: volume efs of type efs/);
  t.is(next.task.knownStatus, 'STOPPED');
  t.deepEqual(dockerActions(plan), []);
});

test('containers progress in parallel; only a container nothing gates gets its start with its create', (t) => {
  const spec = taskSpec([container('a'), container('b'), container('c')]);
  const desired = desiredFor(
    spec,
    { knownStatus: 'NONE' },
    {
      b: { knownStatus: 'CREATED', dockerId: 'b-docker-id-0123456789abcdef' },
    },
  );
  const { plan } = planChecked(t, desired, actualWith(desired, [observed('b', 'created')]));
  t.deepEqual(dockerActions(plan), ['create a', 'start a', 'start b', 'create c', 'start c']);
  const steps = dockerActions(plan);
  t.is(new Set(steps).size, steps.length, 'no action twice');
  const gated = taskSpec([container('a'), container('b', { dependsOn: [{ containerName: 'a', condition: 'START' }] })]);
  const fresh = desiredFor(gated);
  const freshPlan = planChecked(t, fresh, actualWith(fresh)).plan;
  t.deepEqual(dockerActions(freshPlan), ['create a', 'start a']);
  t.true(
    freshPlan.actions.some((a) => a.kind === 'create' && a.startFollows === true),
    'a create whose start follows says so (the executor skips inspecting the CREATED state)',
  );
  const later = desiredFor(
    gated,
    { knownStatus: 'NONE' },
    { a: { knownStatus: 'RUNNING', dockerId: 'a-id-0123456789' } },
  );
  const gatedCreate = planChecked(t, later, actualWith(later, [observed('a', 'running')])).plan.actions.find(
    (a) => a.kind === 'create',
  );
  t.is(gatedCreate?.kind === 'create' ? gatedCreate.container : undefined, 'b');
  t.false(gatedCreate?.kind === 'create' && gatedCreate.startFollows === true, 'a gated create is inspected');
});
