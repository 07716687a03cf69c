// The orphans planner: a container of this agent's cluster whose task no source desires is stopped, but only
// after every source delivered its desired state once; a tracked task's containers are never touched.
import test from 'ava';
import { planOrphans } from '../reconcilers/orphans/plan.js';
import type { ObservedContainer } from '../src/docker/types.js';

const TASK = 'arn:aws:ecs:local:000000000000:task/c/0123';

function container(name: string, running: boolean): ObservedContainer {
  return {
    id: `id-${name}`,
    name,
    labels: {},
    taskArn: TASK,
    containerName: name,
    state: running ? 'running' : 'exited',
    running,
    exitCode: 0,
    oomKilled: false,
    health: 'none',
    imageId: 'sha256:1',
    image: 'img',
    createdAtMs: 0,
    portBindings: [],
    observedAtMs: 0,
  };
}

test('before the sources are ready nothing is stopped, whatever the store holds', (t) => {
  const plan = planOrphans(
    undefined,
    { containers: [container('a', true)], sourcesReady: false, stopsInFlight: new Set() },
    30,
  );
  t.deepEqual(plan.actions, []);
});

test('once the sources are ready, every running container of an untracked task is stopped once, side by side', (t) => {
  const plan = planOrphans(
    undefined,
    {
      containers: [container('a', true), container('b', false), container('c', true)],
      sourcesReady: true,
      stopsInFlight: new Set(['id-c']),
    },
    30,
  );
  t.deepEqual(
    plan.actions.map((a) => [a.kind, a.containerId, a.graceSec, a.after]),
    [['stop-orphan', 'id-a', 30, []]],
    'c is already stopping: no second stop',
  );
  t.regex(plan.actions[0]!.reason, /belongs to task .*0123, which no source desires/);
});

test('a task the store tracks is the containers loop’s: no orphan action', (t) => {
  const plan = planOrphans(
    { tracked: true },
    { containers: [container('a', true)], sourcesReady: true, stopsInFlight: new Set() },
    30,
  );
  t.deepEqual(plan.actions, []);
});
