/**
 * The ECS-mode state-change sink (fact sheet 1.6, 1.8, 1.10) through the real SDK: the JSON on the wire
 * (cluster added, timestamps as epoch seconds, empty optionals omitted, truncation), InvalidParameterException
 * dropped with a warning, a 500 rejected so the reporter retries it, attachments, and a payload that can
 * never be sent dropped.
 */
import test from 'ava';
import { OutboxReporter } from '../src/ecs/reporter.js';
import { ecsStateChangeSink } from '../src/ecs/task-state-sink.js';
import { EcsApiError } from '../src/errors.js';
import type { OutboxEntry } from '../src/store/records.js';
import { ecsConfig, type Handler, makeApi, memoryStore, runWithFakeClock, startFakeEcs } from './ecs-fixtures.js';
import { flushAsync } from './helpers/fake-clock.js';
import { containerSpec, taskSpecWith } from './helpers/specs.js';

const TASK = 'arn:aws:ecs:us-west-2:123456789012:task/ecsd-test/4f1e0c2d';

function entry(payload: Record<string, unknown>, kind: OutboxEntry['kind'] = 'task'): OutboxEntry {
  return { seq: 7, taskArn: TASK, kind, payload, createdAtMs: 0, attempts: 0 };
}

async function setup(t: Parameters<typeof makeApi>[0], handler: Handler) {
  const ecs = await startFakeEcs(t, handler);
  const harness = makeApi(t, ecsConfig({ ECS_BACKEND_HOST: ecs.url }));
  const sink = ecsStateChangeSink({ api: harness.api, cluster: 'ecsd-test', logger: harness.capture.logger });
  return { ecs, sink, ...harness };
}

test('a task change on the wire: cluster, epoch-second timestamps, truncation, empty optionals omitted', async (t) => {
  const { ecs, sink } = await setup(t, () => ({ body: { acknowledgment: 'ok' } }));
  await sink.submit(
    entry({
      task: TASK,
      status: 'STOPPED',
      reason: 'r'.repeat(1500),
      containers: [
        {
          containerName: 'web',
          runtimeId: 'd'.repeat(300),
          status: 'STOPPED',
          exitCode: 0,
          reason: 'x'.repeat(2000),
          networkBindings: [{ bindIP: '0.0.0.0', containerPort: 80, hostPort: 49153, protocol: 'tcp' }],
        },
        { containerName: 'side', status: 'RUNNING', reason: '', networkBindings: [] },
      ],
      pullStartedAt: 1717000000.12,
      pullStoppedAt: 1717000003.4,
      executionStoppedAt: 1717000900,
    }),
  );
  const [request] = ecs.calls('SubmitTaskStateChange');
  t.is(request?.headers['x-amz-target'], 'AmazonEC2ContainerServiceV20141113.SubmitTaskStateChange');
  t.is(request?.headers['content-type'], 'application/x-amz-json-1.1');
  t.regex(String(request?.headers['authorization']), /Credential=AKIDTEST\/\d{8}\/us-west-2\/ecs\/aws4_request/);
  t.deepEqual(request?.body, {
    cluster: 'ecsd-test',
    task: TASK,
    status: 'STOPPED',
    reason: 'r'.repeat(1024),
    containers: [
      {
        containerName: 'web',
        runtimeId: 'd'.repeat(255),
        status: 'STOPPED',
        exitCode: 0,
        reason: 'x'.repeat(1024),
        networkBindings: [{ bindIP: '0.0.0.0', containerPort: 80, hostPort: 49153, protocol: 'tcp' }],
      },
      { containerName: 'side', status: 'RUNNING' },
    ],
    pullStartedAt: 1717000000.12,
    pullStoppedAt: 1717000003.4,
    executionStoppedAt: 1717000900,
  });
  // The raw JSON carries plain numbers, not ISO strings.
  t.regex(request?.raw ?? '', /"executionStoppedAt":1717000900[,}]/);
});

test('a RUNNING change without timestamps, reason or containers sends only what it has', async (t) => {
  const { ecs, sink } = await setup(t, () => ({ body: {} }));
  await sink.submit(entry({ task: TASK, status: 'RUNNING', containers: [] }));
  t.deepEqual(ecs.calls('SubmitTaskStateChange')[0]?.body, { cluster: 'ecsd-test', task: TASK, status: 'RUNNING' });
});

test('InvalidParameterException drops the change with a warning naming the reason', async (t) => {
  const { sink, capture, metrics } = await setup(t, () => ({ error: 'InvalidParameterException' }));
  await t.notThrowsAsync(sink.submit(entry({ task: TASK, status: 'RUNNING', containers: [] })));
  const warning = capture.lines.find((l) => l.level === 'warn');
  t.regex(warning?.msg ?? '', /rejected by ECS as invalid; dropping/);
  t.regex(String(warning?.fields['reason']), /InvalidParameterException/);
  t.is(warning?.fields['taskArn'], TASK);
  t.is(
    await metrics.sampleValue('ecs_agent_ecs_api_calls_total', { operation: 'SubmitTaskStateChange', result: 'error' }),
    1,
  );
});

test('a server error rejects, so the reporter retries the same change after its backoff', async (t) => {
  let failures = 1;
  const { ecs, api, capture, clock } = await setup(t, () =>
    failures-- > 0 ? { status: 500, error: 'ServerException' } : { body: {} },
  );
  const sink = ecsStateChangeSink({ api, cluster: 'ecsd-test', logger: capture.logger });
  await t.throwsAsync(sink.submit(entry({ task: TASK, status: 'RUNNING' })), { instanceOf: EcsApiError });

  failures = 1;
  const store = memoryStore(t);
  store.putDesiredTask(taskSpecWith(TASK, [containerSpec('web')]));
  store.appendOutbox([{ taskArn: TASK, kind: 'task', payload: { task: TASK, status: 'RUNNING', containers: [] } }]);
  const reporter = new OutboxReporter({ store, sink, clock, logger: capture.logger, random: () => 0 });
  reporter.start();
  t.teardown(() => reporter.stop());
  await runWithFakeClock(
    clock,
    (async () => {
      while (store.outboxDepth() > 0) await flushAsync(1);
    })(),
  );
  const calls = ecs.calls('SubmitTaskStateChange');
  t.is(calls.length, 3, 'the direct call, then the reporter: one 500 and one success');
  t.deepEqual(calls[1]?.body, calls[2]?.body, 'the same change was retried');
  t.is(store.getTask(TASK)?.sentStatus, 'RUNNING');
});

test('attachments: an instance attachment via SubmitAttachmentStateChanges, a task ENI via the task variant', async (t) => {
  const { ecs, sink } = await setup(t, () => ({ body: {} }));
  const attachment = { attachmentArn: 'arn:aws:ecs:us-west-2:123456789012:attachment/a1', status: 'ATTACHED' };
  await sink.submit(entry({ attachments: [attachment] }, 'attachment'));
  await sink.submit(entry({ task: TASK, attachments: [attachment] }, 'attachment'));
  t.deepEqual(ecs.calls('SubmitAttachmentStateChanges')[0]?.body, { cluster: 'ecsd-test', attachments: [attachment] });
  t.deepEqual(ecs.calls('SubmitTaskStateChange')[0]?.body, {
    cluster: 'ecsd-test',
    task: TASK,
    attachments: [attachment],
  });
});

test('a payload that can never be sent is dropped with an error, without a call', async (t) => {
  const { ecs, sink, capture } = await setup(t, () => ({ body: {} }));
  await sink.submit(entry({ status: 'RUNNING' }));
  await sink.submit(entry({ task: TASK, status: 'RUNNING', containers: [{ status: 'RUNNING' }] }));
  await sink.submit(entry({ attachments: [] }, 'attachment'));
  t.is(ecs.requests.length, 0);
  t.deepEqual(
    capture.lines.filter((l) => l.level === 'error').map((l) => String(l.fields['error'])),
    [
      'outbox payload cannot be sent: no task ARN',
      'outbox payload cannot be sent: a container has no containerName',
      'outbox payload cannot be sent: no attachments',
    ],
  );
});
