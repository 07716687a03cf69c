/** PayloadMessage rules (fact sheet 2.6): validation, STOPPED first, forward-only, one transaction, ack after write. */
import test from 'ava';
import type { AcsStore } from '../src/sources/acs/handlers/context.js';
import { UNRECOGNIZED_TASK_REASON_PREFIX } from '../src/sources/acs/handlers/payload.js';
import { acsTask, CLUSTER_ARN, harness, INSTANCE_ARN, payload, roleCredentials, taskArn } from './acs-helpers.js';

test('a payload of two tasks is written, then acked, and the sequence number raised', (t) => {
  const h = harness(t);
  h.frame(payload([acsTask('a'), acsTask('b', { networkMode: '', cpu: 0.5, memory: 512 })]));
  const a = h.store.getTask(taskArn('a'));
  const b = h.store.getTask(taskArn('b'));
  t.is(a?.source, 'acs');
  t.is(a?.desiredStatus, 'RUNNING');
  t.is(b?.spec.networkMode, 'bridge');
  t.is(b?.spec.cpuVcpu, 0.5);
  t.is(b?.spec.memoryMiB, 512);
  t.deepEqual(h.sent, [
    { type: 'AckRequest', message: { cluster: CLUSTER_ARN, containerInstance: INSTANCE_ARN, messageId: 'm-1' } },
  ]);
  t.is(h.store.getSequenceNumber(), 7);
  t.true(h.ready());
  t.deepEqual(h.counted, ['PayloadMessage']);
});

test('the payload is converted as upstream: overrides, DEAD, volumes, dockerConfig, ports, dependsOn', (t) => {
  const h = harness(t);
  const task = acsTask('c', {
    desiredStatus: 'DEAD',
    volumes: [
      { name: 'data', host: { sourcePath: '/srv/data' } },
      { name: 'scratch' },
      { name: 'shared', type: 'docker', dockerVolumeConfiguration: { scope: 'shared', autoprovision: true } },
      { name: 'fs', type: 'efs', efsVolumeConfiguration: { fileSystemId: 'fs-1' } },
    ],
    containers: [
      {
        name: 'app',
        image: 'nginx:1.25',
        essential: true,
        command: ['nginx'],
        overrides: '{"command":["nginx","-g","daemon off;"]}',
        cpu: 256,
        memory: 128,
        portMappings: [
          { containerPort: 80, hostPort: 0, protocol: 'tcp' },
          { containerPortRange: '8000-8010', protocol: 'udp' },
        ],
        dockerConfig: { config: '{"WorkingDir":"/srv"}', hostConfig: '{"MemoryReservation":134217728}', version: null },
        dependsOn: [{ containerName: 'init', condition: 'SUCCESS' }],
        mountPoints: [{ sourceVolume: 'data', containerPath: '/data' }],
      },
      { name: 'init', image: 'busybox', essential: false },
    ],
  });
  h.frame(payload([task]));
  const spec = h.store.getTask(taskArn('c'))?.spec;
  t.is(spec?.desiredStatus, 'STOPPED');
  const app = spec?.containers[0];
  t.deepEqual(app?.command, ['nginx', '-g', 'daemon off;']);
  t.is(app?.cpuUnits, 256);
  t.is(app?.memoryMiB, 128);
  t.deepEqual(app?.portMappings, [
    { protocol: 'tcp', containerPort: 80, hostPort: 0 },
    { protocol: 'udp', containerPortRange: '8000-8010' },
  ]);
  t.deepEqual(app?.dockerConfig, { config: '{"WorkingDir":"/srv"}', hostConfig: '{"MemoryReservation":134217728}' });
  t.deepEqual(app?.dependsOn, [{ containerName: 'init', condition: 'SUCCESS' }]);
  t.deepEqual(app?.mountPoints, [{ sourceVolume: 'data', containerPath: '/data', readOnly: false }]);
  t.false(spec?.containers[1]?.essential);
  t.deepEqual(spec?.volumes, [
    { name: 'data', type: 'host', sourcePath: '/srv/data' },
    { name: 'scratch', type: 'host' },
    {
      name: 'shared',
      type: 'docker',
      scope: 'shared',
      autoprovision: true,
      driver: 'local',
      driverOpts: {},
      labels: {},
    },
    { name: 'fs', type: 'unsupported', originalType: 'efs' },
  ]);
});

test('STOPPED tasks are applied before the others', (t) => {
  const h = harness(t);
  const order: string[] = [];
  const store = h.store;
  const spying: AcsStore = {
    ...pick(store),
    putDesiredTask: (spec) => {
      order.push(`${spec.arn.split('/').pop()}:${spec.desiredStatus}`);
      return store.putDesiredTask(spec);
    },
  };
  const s = harness(t, { store: spying });
  s.frame(payload([acsTask('run1'), acsTask('stop1', { desiredStatus: 'STOPPED' }), acsTask('run2')]));
  t.deepEqual(order, ['stop1:STOPPED', 'run1:RUNNING', 'run2:RUNNING']);
});

test('desired status only moves forward, and a duplicate payload is harmless and acked again', (t) => {
  const h = harness(t);
  h.frame(payload([acsTask('a', { desiredStatus: 'STOPPED' })]));
  h.frame(payload([acsTask('a', { desiredStatus: 'RUNNING' })]));
  t.is(h.store.getTask(taskArn('a'))?.desiredStatus, 'STOPPED');
  const generation = h.store.generation();
  for (let i = 0; i < 50; i++) h.frame(payload([acsTask('a', { desiredStatus: 'STOPPED' })]));
  t.is(h.store.generation(), generation, 'no write changed anything');
  t.is(h.sent.filter((s) => s.type === 'AckRequest').length, 52);
});

test('an unusable task is reported STOPPED with the UnrecogniedTaskError reason; the rest is written; no ack', (t) => {
  const h = harness(t);
  const bad = acsTask('bad', { containers: [{ name: 'app', image: 'x', overrides: '{"command":"not-a-list"}' }] });
  h.frame(payload([acsTask('good'), bad, { family: 'no-arn' }]));
  t.truthy(h.store.getTask(taskArn('good')));
  t.is(h.store.getTask(taskArn('bad')), undefined);
  const outbox = h.store.peekOutbox(10);
  t.is(outbox.length, 1);
  t.is(outbox[0]?.taskArn, taskArn('bad'));
  t.is(outbox[0]?.kind, 'task');
  t.deepEqual(outbox[0]?.payload, {
    task: taskArn('bad'),
    status: 'STOPPED',
    reason: `${UNRECOGNIZED_TASK_REASON_PREFIX}containers[0].overrides.command: must be an array of strings`,
    containers: [],
  });
  t.deepEqual(h.sent, [], 'no ack');
});

test('an unusable update of a task already here stops it with the reason instead of reporting it early', (t) => {
  const h = harness(t);
  h.frame(payload([acsTask('known')]));
  t.is(h.store.getTask(taskArn('known'))?.desiredStatus, 'RUNNING');
  h.sent.length = 0;
  const broken = acsTask('known', {
    version: '4',
    containers: [{ name: 'app', image: 'x', overrides: '{"command":"not-a-list"}' }],
  });
  h.frame(payload([broken], { messageId: 'm-2' }));
  const task = h.store.getTask(taskArn('known'));
  const reason = `${UNRECOGNIZED_TASK_REASON_PREFIX}containers[0].overrides.command: must be an array of strings`;
  t.is(task?.desiredStatus, 'STOPPED', 'the loops stop what the backend is told is stopped');
  t.is(task?.reason, reason, 'the STOPPED report the loops make carries the reason');
  t.true(
    h.store.listContainers(taskArn('known')).every((c) => c.desiredStatus === 'STOPPED'),
    'its containers are to stop too',
  );
  t.deepEqual(h.store.peekOutbox(10), [], 'no container-less STOPPED ahead of the real one');
  t.deepEqual(h.sent, [], 'no ack');
  t.is(task?.version, '3', 'the unusable definition replaced nothing');

  // ACS sends the unacked message again: nothing changes and nothing is reported twice.
  h.frame(payload([broken], { messageId: 'm-2' }));
  t.deepEqual(h.store.peekOutbox(10), []);
  t.deepEqual(h.sent, []);
});

test('schema errors and task policy refusals name the field', (t) => {
  const h = harness(t, { policy: { disablePrivileged: true, allowSensitiveHostMounts: false } });
  h.frame(
    payload([
      acsTask('priv', {
        containers: [{ name: 'app', image: 'x', dockerConfig: { hostConfig: '{"Privileged":true}' } }],
      }),
      acsTask('types', { memory: 'lots' }),
      acsTask('dup', {
        containers: [
          { name: 'a', image: 'x' },
          { name: 'a', image: 'y' },
        ],
      }),
    ]),
  );
  const reasons = h.store.peekOutbox(10).map((e) => String(e.payload['reason']));
  t.regex(reasons[0] ?? '', /containerDefinitions\[0\]\.privileged: privileged containers are disabled/);
  t.regex(reasons[1] ?? '', /memory: must be integer/);
  t.regex(reasons[2] ?? '', /the name "a" is used twice/);
  t.is(h.store.listTasks().length, 0);
});

test('a message without messageId, clusterArn or containerInstanceArn is rejected: nothing written, no ack', (t) => {
  const h = harness(t);
  for (const field of ['messageId', 'clusterArn', 'containerInstanceArn']) {
    const frame = payload([acsTask('a')]);
    delete (frame['message'] as Record<string, unknown>)[field];
    h.frame(frame);
  }
  h.frame(payload([]));
  t.is(h.store.listTasks().length, 0);
  t.deepEqual(h.sent, []);
  t.false(h.ready());
});

test('all tasks of a payload are one transaction: a failed write leaves nothing and sends no ack', (t) => {
  const h = harness(t);
  let puts = 0;
  const failing: AcsStore = {
    ...pick(h.store),
    putDesiredTask: (spec) => {
      if (++puts === 2) throw new Error('disk full');
      return h.store.putDesiredTask(spec);
    },
  };
  const s = harness(t, { store: failing });
  // Same underlying store: the first task's insert must have been rolled back with the transaction.
  s.frame(payload([acsTask('a'), acsTask('b')]));
  t.is(h.store.listTasks().length, 0);
  t.is(h.store.getSequenceNumber(), -1);
  t.deepEqual(s.sent, []);
  t.truthy(s.log.lines.find((l) => l.level === 'error' && /not acknowledging/.test(l.msg)));
});

test('credentials go to the manager after the write, with one credentials ack each after the AckRequest', (t) => {
  const h = harness(t);
  h.frame(
    payload([
      acsTask('a', {
        roleCredentials: roleCredentials('cred-app'),
        executionRoleCredentials: roleCredentials('cred-exec'),
      }),
    ]),
  );
  t.is(h.credentials.forTask(taskArn('a'), 'TaskApplication')?.credentialsId, 'cred-app');
  t.is(h.credentials.forTask(taskArn('a'), 'TaskExecution')?.secretAccessKey, 'secret');
  t.deepEqual(
    h.sent.map((s) => s.type),
    ['AckRequest', 'IAMRoleCredentialsAckRequest', 'IAMRoleCredentialsAckRequest'],
  );
  t.deepEqual(h.sent[1]?.message, { messageId: 'm-1', credentialsId: 'cred-app', expiration: '2030-01-01T00:00:00Z' });
  t.false(JSON.stringify(h.log.lines).includes('secret'), 'secrets are never logged');
});

test('a lower seqNum does not lower the sequence number', (t) => {
  const h = harness(t);
  h.store.setSequenceNumber(10);
  h.frame(payload([acsTask('a')], { seqNum: 3 }));
  t.is(h.store.getSequenceNumber(), 10);
});

/** Every method of the store a handler uses, bound, so a test can replace one. */
function pick(store: AcsStore): AcsStore {
  return {
    transaction: (fn) => store.transaction(fn),
    putDesiredTask: (spec) => store.putDesiredTask(spec),
    raiseTaskDesiredStatus: (arn, status, reason) => store.raiseTaskDesiredStatus(arn, status, reason),
    getTask: (arn) => store.getTask(arn),
    listTasks: () => store.listTasks(),
    appendOutbox: (entries) => store.appendOutbox(entries),
    getSequenceNumber: () => store.getSequenceNumber(),
    setSequenceNumber: (seq) => store.setSequenceNumber(seq),
    putEniAttachment: (a) => store.putEniAttachment(a),
    listEniAttachments: () => store.listEniAttachments(),
  };
}

test('registryAuthentication is kept for the pull: ecr and asm with their data, other types dropped', (t) => {
  const h = harness(t);
  const ecr = {
    type: 'ecr',
    ecrAuthData: {
      registryId: '123456789012',
      region: 'us-west-2',
      endpointOverride: 'https://ecr.example',
      useExecutionRole: true,
    },
  };
  h.frame(
    payload([
      acsTask('r', {
        containers: [
          { name: 'e', image: '123456789012.dkr.ecr.us-west-2.amazonaws.com/app', registryAuthentication: ecr },
          {
            name: 'a',
            image: 'registry.example/app',
            registryAuthentication: { type: 'asm', asmAuthData: { credentialsParameter: 'arn:secret', region: null } },
          },
          { name: 'bare', image: 'x', registryAuthentication: { type: 'ecr', ecrAuthData: null } },
          { name: 'other', image: 'y', registryAuthentication: { type: 'something-new' } },
          { name: 'none', image: 'z' },
        ],
      }),
    ]),
  );
  const containers = h.store.getTask(taskArn('r'))?.spec.containers ?? [];
  const auth = Object.fromEntries(containers.map((c) => [c.name, c.registryAuth]));
  t.deepEqual(auth, {
    e: {
      type: 'ecr',
      ecrAuthData: {
        registryId: '123456789012',
        region: 'us-west-2',
        endpointOverride: 'https://ecr.example',
        useExecutionRole: true,
      },
    },
    a: { type: 'asm', asmAuthData: { credentialsParameter: 'arn:secret' } },
    bare: { type: 'ecr' },
    other: undefined,
    none: undefined,
  });
  t.is(h.sent[0]?.type, 'AckRequest');
});

test('a registryAuthentication of the wrong shape is a schema error naming the field', (t) => {
  const h = harness(t);
  h.frame(
    payload([
      acsTask('bad', {
        containers: [
          {
            name: 'app',
            image: 'x',
            registryAuthentication: { type: 'ecr', ecrAuthData: { useExecutionRole: 'yes' } },
          },
        ],
      }),
    ]),
  );
  t.is(h.store.getTask(taskArn('bad')), undefined);
  const reason = String((h.store.peekOutbox(10)[0]?.payload as { reason?: string } | undefined)?.reason);
  t.true(reason.includes('useExecutionRole'), reason);
});
