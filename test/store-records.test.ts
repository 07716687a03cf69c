import test from 'ava';
import { StoreError } from '../src/errors.js';
import type { DesiredStateStore } from '../src/store/index.js';
import type { ContainerRecord, EniAttachmentRecord, ImageRecord, VolumeRecord } from '../src/store/records.js';
import {
  capturingLogger,
  fakeClock,
  OTHER_TASK_ARN,
  openForTest,
  TASK_ARN,
  taskSpec,
  tempDataDir,
} from './store-fixtures.js';

const image: ImageRecord = {
  imageId: 'sha256:0123456789abcdef',
  names: ['busybox:latest', 'registry.local/busybox:1'],
  sizeBytes: 4_500_000,
  pulledAtMs: 1_700_000_000_000,
  lastUsedAtMs: 1_700_000_100_000,
  pullSucceeded: true,
};
const taskVolume: VolumeRecord = {
  name: 'ecs-web-3-scratch-abc',
  taskArn: TASK_ARN,
  scope: 'task',
  driver: 'local',
  createdAtMs: 5,
};
const sharedVolume: VolumeRecord = { name: 'shared-cache', scope: 'shared', driver: 'local', createdAtMs: 6 };
const eni: EniAttachmentRecord = {
  attachmentArn: 'arn:aws:ecs:us-west-2:123456789012:attachment/abc',
  macAddress: '0a:1b:2c:3d:4e:5f',
  taskArn: TASK_ARN,
  kind: 'task-eni',
  status: 'ATTACHED',
  expiresAtMs: 1_700_000_300_000,
  sent: true,
  eni: { ipv4Addresses: [{ primary: true, address: '10.0.0.5' }], subnetGatewayIpv4Address: '10.0.0.1/24' },
};
const instance = {
  cluster: 'prod',
  containerInstanceArn: 'arn:aws:ecs:us-west-2:123456789012:container-instance/prod/abc',
  ec2InstanceId: 'i-0123456789abcdef0',
  availabilityZone: 'us-west-2a',
  agentVersion: '0.1.0',
  registration: { totalResources: [{ name: 'CPU', type: 'INTEGER', integerValue: 2048 }], attributes: [] },
};

/** Writes one of every record type. */
function writeEverything(store: DesiredStateStore): void {
  store.saveInstance(instance);
  store.setSequenceNumber(42);
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.recordObservation({
    taskArn: TASK_ARN,
    task: { knownStatus: 'RUNNING', sentStatus: 'RUNNING', pullStartedAtMs: 10, pullStoppedAtMs: 20 },
    containers: [
      {
        name: 'app',
        patch: {
          knownStatus: 'RUNNING',
          dockerId: 'c0ffee',
          dockerName: 'ecs-web-3-app-1234',
          imageId: image.imageId,
          health: 'HEALTHY',
          portBindings: [{ containerPort: 80, hostPort: 32768, bindIp: '0.0.0.0', protocol: 'tcp' }],
          createdAtMs: 30,
          startedAtMs: 40,
        },
      },
      { name: 'sidecar', patch: { knownStatus: 'STOPPED', exitCode: 137, reason: 'OutOfMemoryError: killed' } },
    ],
  });
  store.putImage(image);
  store.putVolume(taskVolume);
  store.putVolume(sharedVolume);
  store.putEniAttachment(eni);
}

function checkEverything(t: import('ava').ExecutionContext, store: DesiredStateStore, nowMs: number): void {
  t.deepEqual(store.getInstance(), instance);
  t.is(store.getSequenceNumber(), 42);
  t.deepEqual(store.getTask(TASK_ARN), {
    arn: TASK_ARN,
    family: 'web',
    version: '3',
    source: 'local',
    spec: taskSpec(TASK_ARN),
    desiredStatus: 'RUNNING',
    knownStatus: 'RUNNING',
    sentStatus: 'RUNNING',
    createdAtMs: nowMs,
    knownAtMs: nowMs,
    pullStartedAtMs: 10,
    pullStoppedAtMs: 20,
  });
  const expectedContainers: ContainerRecord[] = [
    {
      taskArn: TASK_ARN,
      name: 'app',
      desiredStatus: 'RUNNING',
      knownStatus: 'RUNNING',
      sentStatus: 'NONE',
      dockerId: 'c0ffee',
      dockerName: 'ecs-web-3-app-1234',
      imageId: image.imageId,
      health: 'HEALTHY',
      portBindings: [{ containerPort: 80, hostPort: 32768, bindIp: '0.0.0.0', protocol: 'tcp' }],
      createdAtMs: 30,
      startedAtMs: 40,
    },
    {
      taskArn: TASK_ARN,
      name: 'sidecar',
      desiredStatus: 'RUNNING',
      knownStatus: 'STOPPED',
      sentStatus: 'NONE',
      exitCode: 137,
      reason: 'OutOfMemoryError: killed',
      health: 'UNKNOWN',
      portBindings: [],
    },
  ];
  t.deepEqual(store.listContainers(TASK_ARN), expectedContainers);
  t.deepEqual(store.listAllContainers(), expectedContainers);
  t.deepEqual(store.getImage(image.imageId), image);
  t.deepEqual(store.listImages(), [image]);
  t.deepEqual(
    store.listVolumes(),
    [taskVolume, sharedVolume].sort((a, b) => a.name.localeCompare(b.name)),
  );
  t.deepEqual(store.listEniAttachments(), [eni]);
}

test('every record type round-trips in memory', (t) => {
  const clock = fakeClock();
  const { store } = openForTest(t, { checkpoint: false, clock });
  writeEverything(store);
  checkEverything(t, store, clock.nowMs());
});

test('every record type round-trips through the file and a reopen', (t) => {
  const dataDir = tempDataDir(t);
  const clock = fakeClock();
  const first = openForTest(t, { dataDir, clock });
  writeEverything(first.store);
  first.store.close();
  const second = openForTest(t, { dataDir, clock });
  checkEverything(t, second.store, clock.nowMs());
});

test('a new desired task gets a container row per container spec with the task desired status', (t) => {
  const clock = fakeClock();
  const { store } = openForTest(t, { checkpoint: false, clock });
  t.true(store.putDesiredTask(taskSpec(TASK_ARN, 'STOPPED', ['a', 'b', 'c'])));
  const task = store.getTask(TASK_ARN);
  t.is(task?.desiredStatus, 'STOPPED');
  t.is(task?.knownStatus, 'NONE');
  t.is(task?.sentStatus, 'NONE');
  t.deepEqual(
    store.listContainers(TASK_ARN).map((c) => [c.name, c.desiredStatus, c.knownStatus, c.sentStatus, c.health]),
    [
      ['a', 'STOPPED', 'NONE', 'NONE', 'UNKNOWN'],
      ['b', 'STOPPED', 'NONE', 'NONE', 'UNKNOWN'],
      ['c', 'STOPPED', 'NONE', 'NONE', 'UNKNOWN'],
    ],
  );
  t.deepEqual(store.listContainers(OTHER_TASK_ARN), []);
  t.is(store.getTask(OTHER_TASK_ARN), undefined);
});

test('desired status never moves backwards (fact sheet 2.6)', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  t.true(store.putDesiredTask(taskSpec(TASK_ARN, 'RUNNING')));
  t.false(store.putDesiredTask(taskSpec(TASK_ARN, 'RUNNING')), 'same status again: no change');
  t.false(store.putDesiredTask(taskSpec(TASK_ARN, 'NONE')), 'lower: ignored');
  t.is(store.getTask(TASK_ARN)?.desiredStatus, 'RUNNING');

  const changedSpec = { ...taskSpec(TASK_ARN, 'STOPPED'), version: '99', family: 'other' };
  t.true(store.putDesiredTask(changedSpec), 'higher: applied');
  const task = store.getTask(TASK_ARN);
  t.is(task?.desiredStatus, 'STOPPED');
  t.is(task?.version, '3', 'only the desired status is taken from a known ARN');
  t.is(task?.spec.desiredStatus, 'RUNNING', 'the spec stays as first received');
  t.deepEqual(
    store.listContainers(TASK_ARN).map((c) => c.desiredStatus),
    ['STOPPED', 'STOPPED'],
  );

  t.false(store.putDesiredTask(taskSpec(TASK_ARN, 'RUNNING')), 'back to RUNNING: ignored');
  t.false(store.raiseTaskDesiredStatus(TASK_ARN, 'RUNNING'));
  store.recordObservation({
    taskArn: TASK_ARN,
    task: { desiredStatus: 'RUNNING' },
    containers: [{ name: 'app', patch: { desiredStatus: 'RUNNING' } }],
  });
  t.is(store.getTask(TASK_ARN)?.desiredStatus, 'STOPPED');
  t.is(store.listContainers(TASK_ARN)[0]?.desiredStatus, 'STOPPED');
});

test('raising the task desired status pushes it to containers without lowering any, and keeps a first reason', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.putDesiredTask(taskSpec(TASK_ARN, 'RUNNING', ['app', 'done']));
  store.recordObservation({ taskArn: TASK_ARN, containers: [{ name: 'done', patch: { desiredStatus: 'ZOMBIE' } }] });
  t.false(store.raiseTaskDesiredStatus(OTHER_TASK_ARN, 'STOPPED'), 'unknown task');

  t.true(store.raiseTaskDesiredStatus(TASK_ARN, 'STOPPED', 'Essential container in task exited'));
  const task = store.getTask(TASK_ARN);
  t.is(task?.desiredStatus, 'STOPPED');
  t.is(task?.reason, 'Essential container in task exited');
  t.deepEqual(
    store.listContainers(TASK_ARN).map((c) => [c.name, c.desiredStatus]),
    [
      ['app', 'STOPPED'],
      ['done', 'ZOMBIE'],
    ],
  );
  t.true(store.raiseTaskDesiredStatus(TASK_ARN, 'ZOMBIE', 'a later reason'));
  t.is(store.getTask(TASK_ARN)?.reason, 'Essential container in task exited', 'the first reason is kept');

  // A reason cleared to '' (the containers loop does that to a Docker-wait note) is no reason: the next one lands.
  store.putDesiredTask(taskSpec(OTHER_TASK_ARN, 'RUNNING'));
  store.recordObservation({ taskArn: OTHER_TASK_ARN, task: { reason: '' } });
  t.is(store.getTask(OTHER_TASK_ARN)?.reason, '');
  t.true(store.raiseTaskDesiredStatus(OTHER_TASK_ARN, 'STOPPED', 'UnrecogniedTaskError: Error loading task - x'));
  t.is(store.getTask(OTHER_TASK_ARN)?.reason, 'UnrecogniedTaskError: Error loading task - x');
});

test('an observation stamps knownAtMs only when the known status changes', (t) => {
  const clock = fakeClock();
  const { store } = openForTest(t, { checkpoint: false, clock });
  store.putDesiredTask(taskSpec(TASK_ARN));
  const createdAtMs = clock.nowMs();
  clock.advance(1000);
  store.recordObservation({ taskArn: TASK_ARN, task: { knownStatus: 'NONE', pullStartedAtMs: 7 } });
  t.is(store.getTask(TASK_ARN)?.knownAtMs, createdAtMs, 'same known status: time unchanged');
  clock.advance(1000);
  store.recordObservation({ taskArn: TASK_ARN, task: { knownStatus: 'RUNNING' } });
  t.is(store.getTask(TASK_ARN)?.knownAtMs, createdAtMs + 2000);
  t.is(store.getTask(TASK_ARN)?.createdAtMs, createdAtMs);
  t.is(store.getTask(TASK_ARN)?.pullStartedAtMs, 7, 'earlier patch fields are kept');
});

test('undefined patch fields leave values unchanged', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.recordObservation({
    taskArn: TASK_ARN,
    containers: [{ name: 'app', patch: { dockerId: 'abc', exitCode: 0 } }],
  });
  store.recordObservation({
    taskArn: TASK_ARN,
    containers: [{ name: 'app', patch: { dockerId: undefined, knownStatus: 'STOPPED' } }],
  });
  const app = store.listContainers(TASK_ARN)[0];
  t.is(app?.dockerId, 'abc');
  t.is(app?.exitCode, 0);
  t.is(app?.knownStatus, 'STOPPED');
});

test('observations for unknown tasks or containers drop the patch but keep the outbox entries', (t) => {
  const logger = capturingLogger();
  const { store } = openForTest(t, { checkpoint: false, logger });
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.recordObservation({
    taskArn: TASK_ARN,
    containers: [
      { name: 'ghost', patch: { knownStatus: 'RUNNING' } },
      { name: 'app', patch: { knownStatus: 'CREATED' } },
    ],
  });
  t.is(store.listContainers(TASK_ARN)[0]?.knownStatus, 'CREATED');
  store.recordObservation({
    taskArn: OTHER_TASK_ARN,
    task: { knownStatus: 'STOPPED' },
    outbox: [{ taskArn: OTHER_TASK_ARN, kind: 'task', payload: { status: 'STOPPED' } }],
  });
  t.is(store.getTask(OTHER_TASK_ARN), undefined);
  t.deepEqual(
    store.peekOutbox(10).map((entry) => entry.taskArn),
    [OTHER_TASK_ARN],
  );
  t.is(logger.lines.filter((line) => line.level === 'warn').length, 2);
});

test('deleteTask removes the task, its containers and its task volumes, and nothing else', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.putDesiredTask(taskSpec(TASK_ARN));
  store.putDesiredTask(taskSpec(OTHER_TASK_ARN));
  store.putVolume(taskVolume);
  store.putVolume(sharedVolume);
  store.putVolume({ ...taskVolume, name: 'other-scratch', taskArn: OTHER_TASK_ARN });
  store.putEniAttachment(eni);
  store.appendOutbox([{ taskArn: TASK_ARN, kind: 'task', payload: { status: 'STOPPED' } }]);

  store.deleteTask(TASK_ARN);
  t.is(store.getTask(TASK_ARN), undefined);
  t.deepEqual(store.listContainers(TASK_ARN), []);
  t.deepEqual(
    store.listTasks().map((task) => task.arn),
    [OTHER_TASK_ARN],
  );
  t.is(store.listContainers(OTHER_TASK_ARN).length, 2);
  t.deepEqual(
    store.listVolumes().map((v) => v.name),
    ['other-scratch', 'shared-cache'],
  );
  t.is(store.outboxDepth(), 1, 'the outbox entry must still be reported');
  t.is(store.listEniAttachments().length, 1);
  store.deleteTask(TASK_ARN);
});

test('deleteTask marks the images its containers ran as used now (LRU order for image cleanup)', (t) => {
  const clock = fakeClock();
  const { store } = openForTest(t, { checkpoint: false, clock });
  const untouched = { ...image, imageId: 'sha256:other', names: ['other:1'] };
  store.putImage(image);
  store.putImage(untouched);
  store.putDesiredTask(taskSpec(TASK_ARN));
  const [first, second] = store.listContainers(TASK_ARN);
  store.recordObservation({
    taskArn: TASK_ARN,
    containers: [
      { name: first!.name, patch: { imageId: image.imageId } },
      { name: second!.name, patch: { imageId: image.imageId } },
    ],
  });
  clock.advance(60_000);
  const changes: string[] = [];
  store.onChange((change) => {
    changes.push(...(change.keysByTable.get('images') ?? []));
  });

  store.deleteTask(TASK_ARN);
  t.is(store.getImage(image.imageId)?.lastUsedAtMs, clock.nowMs());
  t.is(store.getImage(untouched.imageId)?.lastUsedAtMs, untouched.lastUsedAtMs, 'an image the task did not run');
  t.deepEqual(changes, [image.imageId], 'the images loop hears which image changed');
});

test('images, volumes and ENI attachments update in place and delete', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  store.putImage(image);
  store.putImage({ ...image, lastUsedAtMs: 9, names: ['busybox:latest'], pullSucceeded: false });
  t.deepEqual(store.getImage(image.imageId), {
    ...image,
    lastUsedAtMs: 9,
    names: ['busybox:latest'],
    pullSucceeded: false,
  });
  store.deleteImage(image.imageId);
  t.is(store.getImage(image.imageId), undefined);

  store.putVolume(taskVolume);
  store.putVolume({ ...taskVolume, driver: 'other' });
  t.deepEqual(store.listVolumes(), [{ ...taskVolume, driver: 'other' }]);
  store.deleteVolume(taskVolume.name);
  t.deepEqual(store.listVolumes(), []);

  store.putEniAttachment(eni);
  store.putEniAttachment({ ...eni, status: 'DETACHED', sent: false });
  t.deepEqual(store.listEniAttachments(), [{ ...eni, status: 'DETACHED', sent: false }]);
  store.deleteEniAttachment(eni.attachmentArn);
  t.deepEqual(store.listEniAttachments(), []);
});

test('tasks list in creation order', (t) => {
  const clock = fakeClock();
  const { store } = openForTest(t, { checkpoint: false, clock });
  const arns = ['arn:task/zzz', 'arn:task/aaa', 'arn:task/mmm'];
  for (const arn of arns) {
    store.putDesiredTask(taskSpec(arn));
    clock.advance(1);
  }
  t.deepEqual(
    store.listTasks().map((task) => task.arn),
    arns,
  );
});

test('the sequence number starts at -1 and must be an integer', (t) => {
  const { store } = openForTest(t, { checkpoint: false });
  t.is(store.getSequenceNumber(), -1);
  store.setSequenceNumber(7);
  store.setSequenceNumber(3);
  t.is(store.getSequenceNumber(), 3);
  t.throws(() => store.setSequenceNumber(1.5), { instanceOf: StoreError });
});
