/**
 * What a waiting task shows (issue 13): `WaitingFor` in `ecsd tasks` JSON and text (not on the upstream
 * introspection shape), and the `ecs_agent_tasks_waiting{resource}` gauge, every series present from start.
 */
import test from 'ava';
import { countWaiting } from '../reconcilers/containers/admission.js';
import { formatTasksText } from '../src/cli/tasks-command.js';
import { toTaskResponse } from '../src/http/task-response.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import type { TaskRecord } from '../src/store/records.js';
import { taskSpecWith } from './helpers/specs.js';

const ARN = 'arn:aws:ecs:us-east-1:111122223333:task/demo/waiting';
const WAITING = 'host port 5180/tcp held by task arn:aws:ecs:us-east-1:111122223333:task/demo/first';

function record(overrides: Partial<TaskRecord> = {}): TaskRecord {
  return {
    arn: ARN,
    family: 'web',
    version: '3',
    source: 'local',
    spec: taskSpecWith(ARN, []),
    desiredStatus: 'RUNNING',
    knownStatus: 'NONE',
    sentStatus: 'NONE',
    createdAtMs: 1,
    knownAtMs: 1,
    ...overrides,
  };
}

test('ecsd tasks shows WaitingFor in JSON and text; absent when not waiting; not on the HTTP shape', (t) => {
  const waiting = toTaskResponse(record({ waitingFor: WAITING }), [], { withOutcome: true });
  t.is(waiting.WaitingFor, WAITING);
  t.true(formatTasksText([waiting]).includes(`waiting-for="${WAITING}"`));
  const running = toTaskResponse(record({ knownStatus: 'RUNNING', admittedAtMs: 2 }), [], { withOutcome: true });
  t.false('WaitingFor' in running);
  t.false(formatTasksText([running]).includes('waiting-for'));
  t.false('WaitingFor' in toTaskResponse(record({ waitingFor: WAITING }), [], { withOutcome: false }));
});

test('ecs_agent_tasks_waiting counts queued tasks by resource, each series 0 from start', async (t) => {
  const metrics = createMetricsRegistry();
  for (const resource of ['cpu', 'memory', 'port']) {
    t.is(await metrics.sampleValue('ecs_agent_tasks_waiting', { resource }), 0, resource);
  }
  const tasks = [
    record({ arn: 'a', waitingFor: WAITING }),
    record({ arn: 'b', waitingFor: 'queued behind task a, which waits for host port 5180/tcp held by task x' }),
    record({ arn: 'c', waitingFor: 'memory: needs 512 MiB, 300 MiB free' }),
    // Removed while waiting: no longer in the line, even before its reconcile clears the text.
    record({ arn: 'd', waitingFor: 'cpu: needs 1 units, 0 free', desiredStatus: 'STOPPED' }),
    record({ arn: 'e', admittedAtMs: 5, knownStatus: 'RUNNING' }),
  ];
  t.deepEqual(countWaiting(tasks), { cpu: 0, memory: 1, port: 2 });
  metrics.admission.setWaitingSource(() => countWaiting(tasks));
  t.is(await metrics.sampleValue('ecs_agent_tasks_waiting', { resource: 'port' }), 2);
  t.is(await metrics.sampleValue('ecs_agent_tasks_waiting', { resource: 'memory' }), 1);
  t.is(await metrics.sampleValue('ecs_agent_tasks_waiting', { resource: 'cpu' }), 0);
});
