/** The introspection TaskResponse built from store records (fact sheet 5.1), with and without the ecsd outcome fields. */

import test from 'ava';
import { toTaskResponse } from '../src/http/task-response.js';
import type { BackendStatus, ContainerStatus, TaskStatus } from '../src/model/status.js';
import type { ContainerSpec, TaskSpec } from '../src/model/task.js';
import type { ContainerRecord, TaskRecord } from '../src/store/records.js';
import { containerSpec, sharedDockerVolume } from './helpers/specs.js';

const ARN = 'arn:aws:ecs:us-west-2:123456789012:task/default/0123456789abcdef';

function container(name: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return containerSpec(name, { image: `registry.local/${name}:1`, ...overrides });
}

function task(knownStatus: TaskStatus, desiredStatus: TaskStatus, containers: ContainerSpec[] = []): TaskRecord {
  const spec: TaskSpec = {
    arn: ARN,
    family: 'web',
    version: '7',
    source: 'local',
    desiredStatus,
    networkMode: 'bridge',
    cpuVcpu: 0,
    memoryMiB: 0,
    containers,
    volumes: [
      { name: 'logs', type: 'host', sourcePath: '/var/log/web' },
      { name: 'scratch', type: 'host' },
      sharedDockerVolume('data'),
    ],
  };
  return {
    arn: ARN,
    family: 'web',
    version: '7',
    source: 'local',
    spec,
    desiredStatus,
    knownStatus,
    sentStatus: 'NONE',
    createdAtMs: 0,
    knownAtMs: 0,
  };
}

function record(name: string, knownStatus: ContainerStatus, overrides: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    taskArn: ARN,
    name,
    desiredStatus: 'RUNNING',
    knownStatus,
    sentStatus: 'NONE',
    health: 'UNKNOWN',
    portBindings: [],
    ...overrides,
  };
}

test('statuses are reported in backend form', (t) => {
  const cases: Array<[TaskStatus, TaskStatus, BackendStatus, BackendStatus]> = [
    ['NONE', 'RUNNING', 'PENDING', 'RUNNING'],
    ['PULLED', 'RUNNING', 'PENDING', 'RUNNING'],
    ['CREATED', 'RUNNING', 'PENDING', 'RUNNING'],
    ['RUNNING', 'RUNNING', 'RUNNING', 'RUNNING'],
    ['RUNNING', 'STOPPED', 'RUNNING', 'STOPPED'],
    ['ZOMBIE', 'STOPPED', 'STOPPED', 'STOPPED'],
  ];
  for (const [known, desired, knownOut, desiredOut] of cases) {
    const response = toTaskResponse(task(known, desired), [], { withOutcome: false });
    t.is(response.KnownStatus, knownOut, `${known}/${desired}`);
    t.is(response.DesiredStatus, desiredOut, `${known}/${desired}`);
  }
});

test('DesiredStatus is omitted when it contradicts the known status (fact sheet 5.1)', (t) => {
  // Known STOPPED but desired not STOPPED; known RUNNING but desired PENDING (NONE/CREATED read as PENDING).
  for (const [known, desired] of [
    ['STOPPED', 'RUNNING'],
    ['STOPPED', 'NONE'],
    ['RUNNING', 'NONE'],
    ['RUNNING', 'CREATED'],
  ] as Array<[TaskStatus, TaskStatus]>) {
    const response = toTaskResponse(task(known, desired), [], { withOutcome: false });
    t.false('DesiredStatus' in response, `${known}/${desired}`);
  }
  t.is(toTaskResponse(task('STOPPED', 'STOPPED'), [], { withOutcome: false }).DesiredStatus, 'STOPPED');
});

test('task identity fields and container basics come from the records and the spec', (t) => {
  const response = toTaskResponse(
    task('RUNNING', 'RUNNING', [container('app')]),
    [
      record('app', 'RUNNING', {
        dockerId: 'abc123',
        dockerName: 'ecs-web-7-app-deadbeef',
        imageId: 'sha256:1234',
        createdAtMs: Date.UTC(2024, 0, 2, 3, 4, 5),
        startedAtMs: Date.UTC(2024, 0, 2, 3, 4, 6, 500),
      }),
    ],
    { withOutcome: false },
  );
  t.like(response, { Arn: ARN, Family: 'web', Version: '7' });
  // Networks and RestartCount are not pinned: upstream sets Networks only for awsvpc (see agent/handlers/v1).
  t.like(response.Containers[0], {
    DockerId: 'abc123',
    DockerName: 'ecs-web-7-app-deadbeef',
    Name: 'app',
    Image: 'registry.local/app:1',
    ImageID: 'sha256:1234',
    CreatedAt: '2024-01-02T03:04:05.000Z',
    StartedAt: '2024-01-02T03:04:06.500Z',
  });
});

test('a port published on 0.0.0.0 and :: is listed once; distinct host ports stay distinct', (t) => {
  const bindings: ContainerRecord['portBindings'] = [
    { containerPort: 80, hostPort: 49153, bindIp: '0.0.0.0', protocol: 'tcp' },
    { containerPort: 80, hostPort: 49153, bindIp: '::', protocol: 'tcp' },
    { containerPort: 80, hostPort: 49154, bindIp: '0.0.0.0', protocol: 'tcp' },
    { containerPort: 53, hostPort: 49153, bindIp: '0.0.0.0', protocol: 'udp' },
    { containerPort: 53, hostPort: 49153, bindIp: '::', protocol: 'udp' },
  ];
  const response = toTaskResponse(
    task('RUNNING', 'RUNNING', [container('app')]),
    [record('app', 'RUNNING', { portBindings: bindings })],
    { withOutcome: false },
  );
  t.deepEqual(response.Containers[0]?.Ports, [
    { ContainerPort: 80, Protocol: 'tcp', HostPort: 49153 },
    { ContainerPort: 80, Protocol: 'tcp', HostPort: 49154 },
    { ContainerPort: 53, Protocol: 'udp', HostPort: 49153 },
  ]);
});

test('no bindings and no mounts: Ports and Volumes are absent', (t) => {
  const response = toTaskResponse(task('CREATED', 'RUNNING', [container('app')]), [record('app', 'CREATED')], {
    withOutcome: false,
  });
  const [only] = response.Containers;
  t.false(only !== undefined && 'Ports' in only);
  t.false(only !== undefined && 'Volumes' in only);
  t.is(only?.DockerId, '', 'not created yet: empty id, as upstream marshals an empty string');
});

test('Volumes: a host volume shows its sourcePath, other volumes their name', (t) => {
  const spec = container('app', {
    mountPoints: [
      { sourceVolume: 'logs', containerPath: '/var/log/app', readOnly: false },
      { sourceVolume: 'scratch', containerPath: '/tmp/scratch', readOnly: false },
      { sourceVolume: 'data', containerPath: '/data', readOnly: true },
    ],
  });
  const response = toTaskResponse(task('RUNNING', 'RUNNING', [spec]), [record('app', 'RUNNING')], {
    withOutcome: false,
  });
  t.deepEqual(response.Containers[0]?.Volumes, [
    { Source: '/var/log/web', Destination: '/var/log/app' },
    { Source: 'scratch', Destination: '/tmp/scratch' },
    { Source: 'data', Destination: '/data' },
  ]);
});

test('without withOutcome the upstream shape has no KnownStatus/ExitCode/Reason', (t) => {
  const stopped = task('STOPPED', 'STOPPED', [container('app')]);
  stopped.reason = 'Essential container in task exited';
  const response = toTaskResponse(
    stopped,
    [record('app', 'STOPPED', { exitCode: 137, reason: 'OutOfMemoryError: container killed' })],
    { withOutcome: false },
  );
  t.false('Reason' in response);
  for (const key of ['KnownStatus', 'ExitCode', 'Reason']) t.false(key in (response.Containers[0] ?? {}), key);
});

test('withOutcome adds container KnownStatus/ExitCode/Reason and the task Reason', (t) => {
  const stopped = task('STOPPED', 'STOPPED', [container('app'), container('side')]);
  stopped.reason = 'Essential container in task exited';
  const response = toTaskResponse(
    stopped,
    [
      record('app', 'STOPPED', { exitCode: 0, reason: 'CannotStartContainerError: boom' }),
      record('side', 'RESOURCES_PROVISIONED'),
    ],
    { withOutcome: true },
  );
  t.is(response.Reason, 'Essential container in task exited');
  t.like(response.Containers[0], { KnownStatus: 'STOPPED', ExitCode: 0, Reason: 'CannotStartContainerError: boom' });
  t.is(response.Containers[1]?.KnownStatus, 'RUNNING', 'RESOURCES_PROVISIONED is RUNNING in backend form');
  t.false('ExitCode' in (response.Containers[1] ?? {}), 'no exit code known: absent, not 0');
  t.false('Reason' in (response.Containers[1] ?? {}));
  t.false('Reason' in toTaskResponse(task('RUNNING', 'RUNNING'), [], { withOutcome: true }), 'no task reason: absent');
});
