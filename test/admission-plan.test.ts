/** Admission as a step of the containers planner (issue 13): wait without Docker work, admit, never fit. */
import test from 'ava';
import type { HostCapacity } from '../reconcilers/containers/admission.js';
import { planContainers } from '../reconcilers/containers/plan.js';
import type { ContainersDesired, ContainersPlanSettings } from '../reconcilers/containers/types.js';
import type { TaskRecord } from '../src/store/records.js';
import {
  actualWith,
  applyRecord,
  container,
  containerRecord,
  desiredFor,
  dockerActions,
  observed,
  planChecked,
  recordAction,
  SETTINGS,
  T0,
  taskSpec,
} from './containers-plan-fixtures.js';
import { containerSpec, taskSpecWith } from './helpers/specs.js';

const CAPACITY: HostCapacity = {
  cpuUnits: 2048,
  memoryMiB: 1000,
  reservedTcpPorts: new Set([51678]),
  reservedUdpPorts: new Set(),
};
const WITH_ADMISSION: ContainersPlanSettings = { ...SETTINGS, hostCapacity: CAPACITY };
const HOLDER_ARN = 'arn:aws:ecs:us-east-1:111122223333:task/demo/holder';

/** A task holding port 5180/tcp and 600 MiB, admitted before ours arrived. */
function holder(overrides: Partial<TaskRecord> = {}): TaskRecord {
  const spec = taskSpecWith(HOLDER_ARN, [
    containerSpec('h', { memoryMiB: 600, portMappings: [{ containerPort: 80, hostPort: 5180, protocol: 'tcp' }] }),
  ]);
  return {
    arn: HOLDER_ARN,
    family: 'web',
    version: '1',
    source: 'local',
    spec,
    desiredStatus: 'RUNNING',
    knownStatus: 'RUNNING',
    sentStatus: 'RUNNING',
    createdAtMs: T0 - 60_000,
    knownAtMs: T0 - 50_000,
    admittedAtMs: T0 - 59_000,
    ...overrides,
  };
}

function withLedger(desired: ContainersDesired, others: TaskRecord[]): ContainersDesired {
  return { ...desired, ledgerTasks: [...others, desired.task] };
}

const webOn5180 = () =>
  taskSpec([container('web', { portMappings: [{ containerPort: 80, hostPort: 5180, protocol: 'tcp' }] })]);

test('a task whose host port is held waits: no Docker action, the reason recorded once', (t) => {
  const desired = withLedger(desiredFor(webOn5180()), [holder()]);
  const { plan, next } = planChecked(t, desired, actualWith(desired), WITH_ADMISSION);
  t.deepEqual(dockerActions(plan), []);
  t.is(next.task.waitingFor, `host port 5180/tcp held by task ${HOLDER_ARN}`);
  t.is(next.task.admittedAtMs, undefined);
  t.regex(recordAction(plan)?.reason ?? '', /waiting for host resources: host port 5180\/tcp held by task/);
  t.is(next.task.knownStatus, 'NONE', 'still pending, not failed');
});

test('once the holder is STOPPED the waiting task is admitted and created in the same plan', (t) => {
  let desired = withLedger(desiredFor(webOn5180()), [holder()]);
  desired = applyRecord(desired, planContainers(desired, actualWith(desired), WITH_ADMISSION));
  desired = withLedger({ ...desired, ledgerTasks: undefined }, [holder({ knownStatus: 'STOPPED' })]);
  const actual = actualWith(desired);
  const plan = planContainers(desired, actual, WITH_ADMISSION);
  t.deepEqual(dockerActions(plan), ['create web', 'start web']);
  const next = applyRecord(desired, plan);
  t.is(next.task.admittedAtMs, actual.nowMs);
  t.is(next.task.waitingFor, '', 'cleared (stored as no value)');
  t.regex(recordAction(plan)?.reason ?? '', /admitted on the host \(cpu 0 units, memory 0 MiB, host ports 5180\/tcp\)/);
  // A fixed point: planning again records nothing and asks for the same Docker actions.
  const again = planContainers(next, actual, WITH_ADMISSION);
  t.is(recordAction(again), undefined);
  t.deepEqual(dockerActions(again), ['create web', 'start web']);
});

test('the waiting text changes when what is missing changes, and is recorded again only then', (t) => {
  const spec = taskSpec([container('web', { memoryMiB: 500 })]);
  let desired = withLedger(desiredFor(spec), [holder()]);
  const first = planChecked(t, desired, actualWith(desired), WITH_ADMISSION);
  t.is(first.next.task.waitingFor, 'memory: needs 500 MiB, 400 MiB free');
  desired = { ...first.next, ledgerTasks: [holder({ spec: { ...holder().spec, memoryMiB: 700 } }), first.next.task] };
  const second = planChecked(t, desired, actualWith(desired), WITH_ADMISSION);
  t.is(second.next.task.waitingFor, 'memory: needs 500 MiB, 300 MiB free');
});

test('a task that can never fit stops at once with a clear reason', (t) => {
  const spec = taskSpec([container('web', { memoryMiB: 4096 })]);
  const desired = withLedger(desiredFor(spec), []);
  const { plan, next } = planChecked(t, desired, actualWith(desired), WITH_ADMISSION);
  t.deepEqual(dockerActions(plan), []);
  t.is(next.task.desiredStatus, 'STOPPED');
  t.is(next.task.knownStatus, 'STOPPED');
  t.is(next.task.reason, 'HostResourceError: memory: needs 4096 MiB, the host has 1000 MiB in total');
  t.is(containerRecord(next, 'web').knownStatus, 'STOPPED');
});

test('a waiting task removed from its source leaves the line: STOPPED, its waiting text cleared', (t) => {
  let desired = withLedger(desiredFor(webOn5180()), [holder()]);
  desired = applyRecord(desired, planContainers(desired, actualWith(desired), WITH_ADMISSION));
  desired = { ...desired, task: { ...desired.task, desiredStatus: 'STOPPED' } };
  const { plan, next } = planChecked(t, desired, actualWith(desired), WITH_ADMISSION);
  t.deepEqual(dockerActions(plan), []);
  t.is(next.task.knownStatus, 'STOPPED');
  t.is(next.task.waitingFor, '');
});

test('a task whose containers already exist (adopted) is admitted whatever the ledger says', (t) => {
  const desired = withLedger(desiredFor(webOn5180()), [holder()]);
  const actual = actualWith(desired, [observed('web', 'running')]);
  const { plan, next } = planChecked(t, desired, actual, WITH_ADMISSION);
  t.is(next.task.admittedAtMs, actual.nowMs);
  t.is(next.task.knownStatus, 'RUNNING');
  t.regex(recordAction(plan)?.reason ?? '', /its containers already exist/);
});

test('without a capacity or a ledger, admission is off and nothing is recorded for it', (t) => {
  const desired = withLedger(desiredFor(webOn5180()), [holder()]);
  const off = planContainers(desired, actualWith(desired), SETTINGS);
  t.deepEqual(dockerActions(off), ['create web', 'start web']);
  t.is(recordAction(off)?.observation.task?.admittedAtMs, undefined);
  const noLedger = planContainers({ ...desired, ledgerTasks: undefined }, actualWith(desired), WITH_ADMISSION);
  t.deepEqual(dockerActions(noLedger), ['create web', 'start web']);
});
