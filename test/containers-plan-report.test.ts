/** Outbox entries (SubmitTaskStateChange payloads, fact sheet 1.6/1.10): shape, batching and exactly-once emission. */
import test from 'ava';
import { planContainers } from '../reconcilers/containers/plan.js';
import {
  acknowledge,
  actualWith,
  applyRecord,
  container,
  desiredFor,
  observed,
  outboxOf,
  planChecked,
  recordAction,
  SETTINGS,
  T0,
  TASK_ARN,
  taskSpec,
} from './containers-plan-fixtures.js';

const WEB_ID = 'web-docker-id-0123456789abcdef';

test('RUNNING report: SubmitTaskStateChange shape, backend statuses, IPv6 bindings dropped, empty keys omitted', (t) => {
  const spec = taskSpec([container('web', { portMappings: [{ containerPort: 80, hostPort: 0, protocol: 'tcp' }] })]);
  const desired = desiredFor(spec, { knownStatus: 'CREATED' }, { web: { knownStatus: 'CREATED', dockerId: WEB_ID } });
  const docker = observed('web', 'running', {
    portBindings: [
      { containerPort: 80, hostPort: 49153, bindIp: '0.0.0.0', protocol: 'tcp' },
      { containerPort: 80, hostPort: 49153, bindIp: '::', protocol: 'tcp' },
    ],
  });
  const { plan } = planChecked(t, desired, actualWith(desired, [docker]));
  t.deepEqual(outboxOf(plan), [
    {
      taskArn: TASK_ARN,
      kind: 'task',
      payload: {
        task: TASK_ARN,
        status: 'RUNNING',
        containers: [
          {
            containerName: 'web',
            runtimeId: WEB_ID,
            status: 'RUNNING',
            networkBindings: [{ bindIP: '0.0.0.0', containerPort: 80, hostPort: 49153, protocol: 'tcp' }],
          },
        ],
      },
    },
  ]);
});

test('STOPPED report carries exit codes, reasons, timestamps in epoch seconds and the bindings last seen', (t) => {
  const spec = taskSpec([container('web')]);
  const bindings = [{ containerPort: 80, hostPort: 49160, bindIp: '0.0.0.0', protocol: 'tcp' as const }];
  const desired = desiredFor(
    spec,
    { knownStatus: 'RUNNING', sentStatus: 'RUNNING', pullStartedAtMs: T0 + 100, pullStoppedAtMs: T0 + 2_500 },
    { web: { knownStatus: 'RUNNING', sentStatus: 'RUNNING', dockerId: WEB_ID, portBindings: bindings } },
  );
  const { plan } = planChecked(
    t,
    desired,
    actualWith(desired, [observed('web', 'exited', { exitCode: 137, oomKilled: true })], { nowMs: T0 + 60_250 }),
  );
  t.deepEqual(outboxOf(plan)[0]?.payload, {
    task: TASK_ARN,
    status: 'STOPPED',
    containers: [
      {
        containerName: 'web',
        runtimeId: WEB_ID,
        status: 'STOPPED',
        exitCode: 137,
        reason: 'OutOfMemoryError: Container killed due to memory usage',
        networkBindings: [{ bindIP: '0.0.0.0', containerPort: 80, hostPort: 49160, protocol: 'tcp' }],
      },
    ],
    pullStartedAt: (T0 + 100) / 1000,
    pullStoppedAt: (T0 + 2_500) / 1000,
    executionStoppedAt: (T0 + 60_250) / 1000,
  });
});

test('reasons are truncated to 1024 characters', (t) => {
  const long = `CannotCreateContainerError: ${'x'.repeat(2_000)}`;
  const desired = desiredFor(taskSpec([container('web')]), {}, { web: { desiredStatus: 'STOPPED', reason: long } });
  const { plan } = planChecked(t, desired, actualWith(desired));
  const [entry] = outboxOf(plan);
  const containers = entry?.payload['containers'] as Array<{ reason: string }>;
  t.is(containers[0]?.reason.length, 1024);
  t.true(long.startsWith(containers[0]!.reason));
});

test('each transition is queued exactly once along a whole task life, container-only changes as `container` entries', (t) => {
  const spec = taskSpec([container('app'), container('sidecar', { essential: false })]);
  let desired = desiredFor(spec);
  const timeline = [
    [],
    [observed('app', 'created'), observed('sidecar', 'created')],
    [observed('app', 'running'), observed('sidecar', 'created')],
    [observed('app', 'running'), observed('sidecar', 'running')],
    [observed('app', 'running'), observed('sidecar', 'exited', { exitCode: 0 })],
    [observed('app', 'exited', { exitCode: 1 }), observed('sidecar', 'exited', { exitCode: 0 })],
  ];
  const reports: string[] = [];
  for (const docker of timeline) {
    const actual = actualWith(desired, docker);
    // Two plans per observation, as a loop woken twice would run: the second must queue nothing new.
    for (let pass = 0; pass < 2; pass++) {
      const plan = planContainers(desired, actual, SETTINGS);
      for (const entry of outboxOf(plan)) {
        const containers = entry.payload['containers'] as Array<{ containerName: string; status: string }>;
        reports.push(
          `${entry.kind} ${entry.payload['status']}:${containers.map((c) => `${c.containerName}=${c.status}`).join(',')}`,
        );
      }
      desired = applyRecord(desired, plan);
    }
    desired = acknowledge(desired);
  }
  t.deepEqual(reports, [
    'container PENDING:app=RUNNING',
    'task RUNNING:sidecar=RUNNING',
    'container RUNNING:sidecar=STOPPED',
    'task STOPPED:app=STOPPED',
  ]);
});

test('containers whose change is not yet acknowledged ride along on the next report', (t) => {
  const spec = taskSpec([container('app'), container('db')]);
  const desired = desiredFor(
    spec,
    { knownStatus: 'CREATED' },
    {
      app: { knownStatus: 'RUNNING', sentStatus: 'NONE', dockerId: 'app-docker-id-0123456789abcdef' },
      db: { knownStatus: 'CREATED', dockerId: 'db-docker-id-0123456789abcdef' },
    },
  );
  const docker = [observed('app', 'running'), observed('db', 'running')];
  const unacked = planContainers(desired, actualWith(desired, docker), SETTINGS);
  const names = (p: typeof unacked): string[] =>
    ((outboxOf(p)[0]?.payload['containers'] ?? []) as Array<{ containerName: string }>).map((c) => c.containerName);
  t.deepEqual(names(unacked), ['app', 'db']);
  const acked = desiredFor(
    spec,
    { knownStatus: 'CREATED' },
    {
      app: { knownStatus: 'RUNNING', sentStatus: 'RUNNING', dockerId: 'app-docker-id-0123456789abcdef' },
      db: { knownStatus: 'CREATED', dockerId: 'db-docker-id-0123456789abcdef' },
    },
  );
  t.deepEqual(names(planContainers(acked, actualWith(acked, docker), SETTINGS)), ['db']);
});

test('a re-plan of an applied plan is a fixed point with no record and no report', (t) => {
  const desired = desiredFor(
    taskSpec([container('web')]),
    { knownStatus: 'CREATED' },
    {
      web: { knownStatus: 'CREATED', dockerId: WEB_ID },
    },
  );
  const actual = actualWith(desired, [observed('web', 'running')]);
  const first = planContainers(desired, actual, SETTINGS);
  t.is(outboxOf(first).length, 1);
  const second = planContainers(applyRecord(desired, first), actual, SETTINGS);
  t.is(recordAction(second), undefined);
  t.deepEqual(second.actions, []);
});

test('health changes are recorded but not reported', (t) => {
  const desired = desiredFor(
    taskSpec([container('web', { healthCheckType: 'docker' })]),
    { knownStatus: 'RUNNING' },
    {
      web: { knownStatus: 'RUNNING', sentStatus: 'RUNNING', dockerId: WEB_ID },
    },
  );
  const { plan, next } = planChecked(
    t,
    desired,
    actualWith(desired, [observed('web', 'running', { health: 'healthy' })]),
  );
  t.is(next.containers[0]?.health, 'HEALTHY');
  t.deepEqual(outboxOf(plan), []);
});
