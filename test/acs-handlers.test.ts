/** The other ACS handlers (fact sheet 2.4, 2.6): manifest and stop verification, credentials, ENIs, updates, notices. */
import test from 'ava';
import { capabilityAttributes } from '../src/ecs/capabilities.js';
import { ATTACHMENT_CAPABILITIES } from '../src/sources/acs/handlers/resource-attachment.js';
import { UPDATES_DISABLED_REASON } from '../src/sources/acs/handlers/update.js';
import { acsTask, CLUSTER_ARN, harness, INSTANCE_ARN, payload, roleCredentials, taskArn } from './acs-helpers.js';
import { ecsConfig } from './ecs-fixtures.js';

const addressed = { clusterArn: CLUSTER_ARN, containerInstanceArn: INSTANCE_ARN };
const ack = (messageId: string) => ({
  type: 'AckRequest',
  message: { cluster: CLUSTER_ARN, containerInstance: INSTANCE_ARN, messageId },
});

function manifest(messageId: string, timeline: number, tasks: Array<{ taskArn: string; desiredStatus: string }>) {
  return { type: 'TaskManifestMessage', message: { ...addressed, messageId, timeline, tasks } };
}

test('heartbeat is answered with HeartbeatAckRequest', (t) => {
  const h = harness(t);
  h.frame({ type: 'HeartbeatMessage', message: { messageId: 'hb-1', healthy: true } });
  t.deepEqual(h.sent, [{ type: 'HeartbeatAckRequest', message: { messageId: 'hb-1' } }]);
});

test('manifest: candidates are verified first, and only the matching ack stops them', (t) => {
  const h = harness(t);
  h.frame(payload([acsTask('keep'), acsTask('gone'), acsTask('listed-stopped')]));
  h.sent.length = 0;
  h.frame(
    manifest('man-1', 8, [
      { taskArn: taskArn('keep'), desiredStatus: 'RUNNING' },
      { taskArn: taskArn('listed-stopped'), desiredStatus: 'STOPPED' },
    ]),
  );
  t.is(h.store.getSequenceNumber(), 8, 'the timeline is persisted');
  t.deepEqual(h.sent[0], ack('man-1'));
  t.deepEqual(h.sent[1], {
    type: 'TaskStopVerificationMessage',
    message: {
      messageId: 'man-1',
      stopCandidates: [
        { taskArn: taskArn('gone'), taskClusterArn: CLUSTER_ARN, desiredStatus: 'STOPPED' },
        { taskArn: taskArn('listed-stopped'), taskClusterArn: CLUSTER_ARN, desiredStatus: 'STOPPED' },
      ],
    },
  });
  t.is(h.store.getTask(taskArn('gone'))?.desiredStatus, 'RUNNING', 'nothing stops before verification');

  h.frame({
    type: 'TaskStopVerificationAck',
    message: { messageId: 'other', stopTasks: [{ taskArn: taskArn('keep') }] },
  });
  t.is(h.store.getTask(taskArn('keep'))?.desiredStatus, 'RUNNING', 'an ack for another manifest is ignored');

  h.frame({
    type: 'TaskStopVerificationAck',
    message: { messageId: 'man-1', stopTasks: [{ taskArn: taskArn('gone') }] },
  });
  t.is(h.store.getTask(taskArn('gone'))?.desiredStatus, 'STOPPED');
  t.is(h.store.getTask(taskArn('listed-stopped'))?.desiredStatus, 'RUNNING', 'only listed tasks stop');
  t.is(h.ctx.manifest.pendingMessageId, undefined, 'the pending id is cleared');
});

test('manifest: a timeline not above the sequence number is dropped without an ack', (t) => {
  const h = harness(t);
  h.frame(payload([acsTask('a')], { seqNum: 9 }));
  h.sent.length = 0;
  h.frame(manifest('man-old', 9, []));
  h.frame(manifest('man-older', 3, []));
  t.deepEqual(h.sent, []);
  t.is(h.store.getSequenceNumber(), 9);
  h.frame(manifest('man-new', 10, [{ taskArn: taskArn('a'), desiredStatus: 'RUNNING' }]));
  t.deepEqual(h.sent, [ack('man-new')], 'no verification when nothing is missing');
  t.true(h.ready());
});

test('credentials refresh: stored, the task pointed at the new id, acked; unknown task: no ack', (t) => {
  const h = harness(t);
  h.frame(payload([acsTask('a', { roleCredentials: roleCredentials('old') })]));
  h.sent.length = 0;
  const refresh = (arn: string, id: string) => ({
    type: 'IAMRoleCredentialsMessage',
    message: { messageId: `c-${id}`, taskArn: arn, roleType: 'TaskApplication', roleCredentials: roleCredentials(id) },
  });
  h.frame(refresh(taskArn('a'), 'new'));
  t.is(h.credentials.forTask(taskArn('a'), 'TaskApplication')?.credentialsId, 'new');
  t.truthy(h.credentials.get('old'), 'containers started with the old id keep being served');
  t.deepEqual(h.sent, [
    {
      type: 'IAMRoleCredentialsAckRequest',
      message: { messageId: 'c-new', expiration: '2030-01-01T00:00:00Z', credentialsId: 'new' },
    },
  ]);
  h.frame(refresh(taskArn('nobody'), 'x'));
  t.is(h.sent.length, 1);
  t.is(h.credentials.get('x'), undefined);
  h.credentials.removeTask(taskArn('a'));
  t.is(h.credentials.size(), 0);
});

test('ENI attach messages are recorded by MAC and acked; a duplicate MAC only re-arms the expiry', (t) => {
  const h = harness(t);
  const eni = {
    macAddress: '0a:1b:2c:3d:4e:5f',
    attachmentArn: 'arn:aws:ecs:us-east-1:1:attachment/e1',
    ec2Id: 'eni-1',
  };
  h.frame({
    type: 'AttachTaskNetworkInterfacesMessage',
    message: {
      ...addressed,
      messageId: 'eni-1',
      taskArn: taskArn('a'),
      waitTimeoutMs: 5000,
      elasticNetworkInterfaces: [eni],
    },
  });
  const first = h.store.listEniAttachments();
  t.is(first.length, 1);
  t.like(first[0], {
    kind: 'task-eni',
    taskArn: taskArn('a'),
    status: 'NONE',
    sent: false,
    macAddress: eni.macAddress,
  });
  t.is(first[0]?.expiresAtMs, h.clock.nowMs() + 5000);
  t.deepEqual(h.sent, [ack('eni-1')]);

  h.clock.advance(1000);
  h.frame({
    type: 'AttachInstanceNetworkInterfacesMessage',
    message: {
      ...addressed,
      messageId: 'eni-2',
      waitTimeoutMs: 9000,
      elasticNetworkInterfaces: [{ ...eni, attachmentArn: 'other' }],
    },
  });
  const second = h.store.listEniAttachments();
  t.is(second.length, 1, 'same MAC: no second record');
  t.is(second[0]?.expiresAtMs, h.clock.nowMs() + 9000);
  t.is(second[0]?.kind, 'task-eni');
  t.deepEqual(h.sent[1], ack('eni-2'));

  h.frame({
    type: 'AttachTaskNetworkInterfacesMessage',
    message: {
      ...addressed,
      messageId: 'eni-3',
      taskArn: taskArn('a'),
      waitTimeoutMs: 0,
      elasticNetworkInterfaces: [eni],
    },
  });
  t.is(h.sent.length, 2, 'waitTimeoutMs must be positive: no ack');
});

test('stage and perform update are nacked: disabled, or unsupported when enabled', (t) => {
  for (const updatesEnabled of [false, true]) {
    const h = harness(t, { updatesEnabled });
    for (const type of ['StageUpdateMessage', 'PerformUpdateMessage']) {
      h.frame({
        type,
        message: { ...addressed, messageId: type, updateInfo: { location: 'https://x', signature: 'ab' } },
      });
    }
    t.deepEqual(
      h.sent.map((s) => s.type),
      ['NackRequest', 'NackRequest'],
    );
    const reason = h.sent[0]?.message['reason'];
    if (updatesEnabled) t.regex(String(reason), /not supported/);
    else t.is(reason, UPDATES_DISABLED_REASON);
    t.like(h.sent[1]?.message, {
      cluster: CLUSTER_ARN,
      containerInstance: INSTANCE_ARN,
      messageId: 'PerformUpdateMessage',
    });
  }
});

test('close, error, exceptions, unknown types and garbage are logged and dropped; counted by bounded type', (t) => {
  const h = harness(t);
  h.frame({ type: 'CloseMessage', message: { message: 'bye' } });
  h.frame({ type: 'ErrorMessage', message: { message: 'oops' } });
  h.frame({ InactiveInstanceException: 'instance is gone' });
  h.frame({ type: 'BrandNewMessage', message: {} });
  h.frame('{"type":"PayloadMessage","message":{');
  h.frame('[1,2]');
  h.frame({
    type: 'ConfirmAttachmentMessage',
    message: { ...addressed, messageId: 'att', attachment: { attachmentType: 'amazonebs' } },
  });
  t.deepEqual(h.sent, []);
  t.deepEqual(h.counted, [
    'CloseMessage',
    'ErrorMessage',
    'InactiveInstanceException',
    'unknown',
    'unknown',
    'unknown',
    'ConfirmAttachmentMessage',
  ]);
  const messages = h.log.lines.map((l) => l.msg);
  t.true(messages.includes('undecodable ACS frame dropped'));
  t.true(messages.includes('ACS message of an unknown type dropped'));
  t.true(messages.includes('ACS sent an exception'));
});

test('ConfirmAttachmentMessage: a warning names the attachment and the capability not advertised; no ack', (t) => {
  const h = harness(t);
  const attachmentArn = 'arn:aws:ecs:us-east-1:111122223333:attachment/1b5f-ebs';
  const confirm = (messageId: string, attachmentType: string) => ({
    type: 'ConfirmAttachmentMessage',
    message: {
      ...addressed,
      messageId,
      taskArn: taskArn('with-volume'),
      waitTimeoutMs: 0,
      attachment: {
        attachmentArn,
        attachmentType,
        attachmentProperties: [
          { name: 'volumeName', value: 'data' },
          { name: 'volumeId', value: 'vol-0123' },
        ],
      },
    },
  });
  h.frame(confirm('att-ebs', 'amazonebs'));
  h.frame(confirm('att-s3', 's3files'));
  h.frame(confirm('att-legacy', 'ElasticBlockStorage'));
  t.deepEqual(h.sent, [], 'nothing is acked: the agent did not take the attachment on');
  const warnings = h.log.lines.filter((l) => l.level === 'warn');
  t.is(warnings.length, 3);
  t.regex(warnings[0]?.msg ?? '', /"amazonebs".*does not advertise ecs\.capability\.storage\.ebs-task-volume-attach/);
  t.like(warnings[0]?.fields, {
    messageId: 'att-ebs',
    attachmentArn,
    attachmentType: 'amazonebs',
    capability: 'ecs.capability.storage.ebs-task-volume-attach',
    taskArn: taskArn('with-volume'),
    volumeName: 'data',
  });
  t.regex(warnings[1]?.msg ?? '', /does not advertise ecs\.capability\.storage\.s3-files/);
  t.regex(warnings[2]?.msg ?? '', /"ElasticBlockStorage", which this agent does not support/);
  t.is(warnings[2]?.fields['capability'], undefined);
});

test('the capabilities that invite resource attachments are never registered', (t) => {
  const everything = ecsConfig({
    ECS_AVAILABLE_LOGGING_DRIVERS: '["json-file","awslogs"]',
    ECS_SELINUX_CAPABLE: 'true',
    ECS_APPARMOR_CAPABLE: 'true',
  });
  const names = capabilityAttributes(everything, { apiVersion: '1.41', taskCgroupEnabled: true }).map((a) => a.name);
  for (const capability of Object.values(ATTACHMENT_CAPABILITIES)) t.false(names.includes(capability), capability);
});
