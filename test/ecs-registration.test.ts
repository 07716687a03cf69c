/**
 * RegisterContainerInstance through the real SDK client against a loopback endpoint (fact sheet 1.4, 1.5):
 * the request on the wire, first registration vs re-registration, CreateCluster for `default`, transient
 * retries on a fake clock, the exit mapping and the attribute echo check.
 */
import test from 'ava';
import { exitCodeFor } from '../src/agent/errors.js';
import { capabilityAttributes, type EngineFacts, formatAttributes } from '../src/ecs/capabilities.js';
import { REGISTER_BACKOFF, registerInstance } from '../src/ecs/registration.js';
import { AgentStartError } from '../src/errors.js';
import {
  ecsConfig,
  type FakeEcs,
  type Handler,
  makeApi,
  memoryStore,
  type RecordedRequest,
  runWithFakeClock,
  startFakeEcs,
} from './ecs-fixtures.js';

const ARN = 'arn:aws:ecs:us-west-2:123456789012:container-instance/ecsd-test/0123456789abcdef';
const ENGINE: EngineFacts = {
  serverVersion: '20.10.24',
  apiVersion: '1.41',
  ncpu: 2,
  memTotalBytes: 4096 * 1024 * 1024 + 123_456,
  taskCgroupEnabled: true,
};

/** Registers successfully, echoing the attributes sent (as ECS does) plus the AZ. */
function echoRegister(request: RecordedRequest) {
  const attributes = [
    ...((request.body['attributes'] as unknown[]) ?? []),
    { name: 'ecs.availability-zone', value: 'us-west-2b' },
  ];
  return { body: { containerInstance: { containerInstanceArn: ARN, attributes } } };
}

async function setup(t: Parameters<typeof makeApi>[0], handler: Handler, env: Record<string, string> = {}) {
  const ecs = await startFakeEcs(t, handler);
  const config = ecsConfig({ ECS_BACKEND_HOST: ecs.url, ...env });
  const harness = makeApi(t, config);
  const store = memoryStore(t);
  store.saveInstance({ cluster: config.cluster });
  const register = () =>
    registerInstance({
      api: harness.api,
      store,
      config,
      engine: ENGINE,
      logger: harness.capture.logger,
      clock: harness.clock,
      random: () => 0,
      agentHash: 'abc1234',
      arch: 'x64',
    });
  return { ecs, config, store, register, ...harness };
}

function only(ecs: FakeEcs, operation: string): RecordedRequest {
  const calls = ecs.calls(operation);
  if (calls.length !== 1) throw new Error(`expected one ${operation}, saw ${calls.length}`);
  return calls[0] as RecordedRequest;
}

test('first registration: the request on the wire, and the ARN and AZ saved', async (t) => {
  const { ecs, store, register } = await setup(t, echoRegister, {
    ECS_INSTANCE_ATTRIBUTES: '{"stack":"blue"}',
    ECS_CONTAINER_INSTANCE_TAGS: '{"team":"web","env":"prod"}',
    ECS_RESERVED_MEMORY: '96',
    ECS_RESERVED_PORTS: '[22,51678]',
    ECS_RESERVED_PORTS_UDP: '[53]',
  });
  const record = await register();
  const request = only(ecs, 'RegisterContainerInstance');

  t.is(request.headers['content-type'], 'application/x-amz-json-1.1');
  t.is(request.headers['x-amz-target'], 'AmazonEC2ContainerServiceV20141113.RegisterContainerInstance');
  t.regex(
    String(request.headers['authorization']),
    /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/us-west-2\/ecs\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
  );
  t.is(
    request.headers['user-agent'],
    'Amazon ECS Agent - v0.1.0 (abc1234) (linux; LINUX) (+http://aws.amazon.com/ecs/)',
  );
  t.false('x-amz-user-agent' in request.headers, "only upstream's User-Agent, not the SDK's x-amz-user-agent");

  const body = request.body;
  t.is(body['cluster'], 'ecsd-test');
  t.false('containerInstanceArn' in body, 'no ARN on a first registration');
  t.is(body['instanceIdentityDocument'], '');
  t.is(body['instanceIdentityDocumentSignature'], '');
  t.regex(String(body['clientToken']), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.deepEqual(body['totalResources'], [
    { name: 'CPU', type: 'INTEGER', integerValue: 2048 },
    { name: 'MEMORY', type: 'INTEGER', integerValue: 4096 - 96 },
    { name: 'PORTS', type: 'STRINGSET', stringSetValue: ['22', '51678'] },
    { name: 'PORTS_UDP', type: 'STRINGSET', stringSetValue: ['53'] },
  ]);
  t.deepEqual(body['versionInfo'], {
    agentVersion: '0.1.0',
    agentHash: 'abc1234',
    dockerVersion: 'DockerVersion: 20.10.24',
  });
  t.deepEqual(body['tags'], [
    { key: 'team', value: 'web' },
    { key: 'env', value: 'prod' },
  ]);
  const attributes = body['attributes'] as Array<{ name: string; value?: string }>;
  t.deepEqual(attributes[0], { name: 'stack', value: 'blue' }, 'custom attributes first');
  for (const expected of [
    { name: 'ecs.os-type', value: 'linux' },
    { name: 'ecs.os-family', value: 'LINUX' },
    { name: 'ecs.os-type-detailed', value: 'LINUX' },
    { name: 'ecs.cpu-architecture', value: 'x86_64' },
    { name: 'ecs.capability.external' },
    { name: 'com.amazonaws.ecs.capability.docker-remote-api.1.32' },
  ]) {
    t.true(
      attributes.some((a) => a.name === expected.name && a.value === expected.value),
      `${expected.name} sent`,
    );
  }
  t.false(
    attributes.some((a) => 'value' in a && a.value === undefined),
    'name-only attributes carry no value key',
  );

  t.is(record.containerInstanceArn, ARN);
  t.is(record.availabilityZone, 'us-west-2b');
  t.is(store.getInstance()?.containerInstanceArn, ARN);
  t.is(store.getInstance()?.cluster, 'ecsd-test');
  t.false('clientToken' in (store.getInstance()?.registration ?? {}), 'the token is not a registration input');
});

test('re-registration sends the saved ARN and not the custom attributes; no tags key when there are none', async (t) => {
  const { ecs, store, register } = await setup(t, echoRegister, { ECS_INSTANCE_ATTRIBUTES: '{"stack":"blue"}' });
  store.saveInstance({ cluster: 'ecsd-test', containerInstanceArn: ARN });
  await register();
  const body = only(ecs, 'RegisterContainerInstance').body;
  t.is(body['containerInstanceArn'], ARN);
  t.false((body['attributes'] as Array<{ name: string }>).some((a) => a.name === 'stack'));
  t.false('tags' in body);
});

test('a zero-valued resource omits its number, as upstream serialises it', async (t) => {
  const { ecs, register } = await setup(t, echoRegister, { ECS_RESERVED_MEMORY: '4096' });
  await register();
  const resources = only(ecs, 'RegisterContainerInstance').body['totalResources'] as unknown[];
  t.deepEqual(resources[1], { name: 'MEMORY', type: 'INTEGER' });
});

test('reserved memory above the host memory is terminal (exit 5) and nothing is sent', async (t) => {
  const { ecs, register } = await setup(t, echoRegister, { ECS_RESERVED_MEMORY: '5000' });
  const error = await t.throwsAsync(register(), { instanceOf: AgentStartError, message: /ECS_RESERVED_MEMORY/ });
  t.is(exitCodeFor(error), 5);
  t.is(ecs.requests.length, 0);
});

test('an empty or default cluster is created when ECS says it is not found, then registered again', async (t) => {
  let created = false;
  const { ecs, store, register } = await setup(
    t,
    (r) => {
      if (r.operation === 'CreateCluster') {
        created = true;
        return { body: { cluster: { clusterName: 'default', status: 'ACTIVE' } } };
      }
      return created ? echoRegister(r) : { error: 'ClusterNotFoundException' };
    },
    { ECS_CLUSTER: '' },
  );
  await register();
  t.deepEqual(
    ecs.requests.map((r) => r.operation),
    ['RegisterContainerInstance', 'CreateCluster', 'RegisterContainerInstance'],
  );
  t.deepEqual(only(ecs, 'CreateCluster').body, { clusterName: 'default' });
  for (const call of ecs.calls('RegisterContainerInstance')) t.is(call.body['cluster'], 'default');
  t.is(store.getInstance()?.containerInstanceArn, ARN);
});

test('a named cluster that does not exist is not created: registration fails, recoverable as upstream', async (t) => {
  const { ecs, register } = await setup(t, () => ({ error: 'ClusterNotFoundException' }));
  const error = await t.throwsAsync(register(), { instanceOf: AgentStartError, message: /ClusterNotFoundException/ });
  t.is(exitCodeFor(error), 1);
  t.is(ecs.calls('CreateCluster').length, 0);
});

test('transient errors are retried 3 s → 192 s ×2 with the same client token, then success', async (t) => {
  const failures = ['ThrottlingException', 'ServerException', 'LimitExceededException'];
  const { ecs, register, clock, metrics } = await setup(t, (r) => {
    const next = failures.shift();
    if (next === undefined) return echoRegister(r);
    return next === 'ServerException' ? { status: 500, error: next } : { error: next };
  });
  const startMs = clock.nowMs();
  const record = await runWithFakeClock(clock, register());
  t.is(record.containerInstanceArn, ARN);
  const calls = ecs.calls('RegisterContainerInstance');
  t.is(calls.length, 4);
  t.is(new Set(calls.map((c) => c.body['clientToken'])).size, 1, 'one token for the whole sequence');
  // random() = 0: waits of exactly 3 s, 6 s and 12 s.
  t.is(clock.nowMs() - startMs, REGISTER_BACKOFF.minMs * (1 + 2 + 4));
  t.is(
    await metrics.sampleValue('ecs_agent_ecs_api_calls_total', {
      operation: 'RegisterContainerInstance',
      result: 'throttled',
    }),
    1,
  );
  t.is(
    await metrics.sampleValue('ecs_agent_ecs_api_calls_total', {
      operation: 'RegisterContainerInstance',
      result: 'error',
    }),
    2,
  );
  t.is(
    await metrics.sampleValue('ecs_agent_ecs_api_calls_total', {
      operation: 'RegisterContainerInstance',
      result: 'success',
    }),
    1,
  );
});

test('transient errors stop being retried after an hour and the agent exits 1', async (t) => {
  const { ecs, register, clock } = await setup(t, () => ({ status: 500, error: 'ServerException' }));
  const startMs = clock.nowMs();
  const error = await t.throwsAsync(runWithFakeClock(clock, register()), { instanceOf: AgentStartError });
  t.is(exitCodeFor(error), 1);
  t.true(clock.nowMs() - startMs <= 60 * 60 * 1000);
  // Waits of 3+6+12+24+48+96 = 189 s, then 17 of 192 s (to 3453 s; an 18th would pass the hour): 24 calls.
  t.is(ecs.calls('RegisterContainerInstance').length, 24);
});

for (const [code, exit] of [
  ['InvalidParameterException', 5],
  ['ClientException', 5],
  ['AccessDeniedException', 1],
] as const) {
  test(`${code} is not retried and exits ${exit}`, async (t) => {
    const { ecs, register } = await setup(t, () => ({ error: code }));
    const error = await t.throwsAsync(register(), { instanceOf: AgentStartError, message: new RegExp(code) });
    t.is(exitCodeFor(error), exit);
    t.is(ecs.calls('RegisterContainerInstance').length, 1);
  });
}

test('an endpoint that does not answer is recoverable (exit 1)', async (t) => {
  const config = ecsConfig({ ECS_BACKEND_HOST: 'http://127.0.0.1:1' });
  const { api, clock, capture } = makeApi(t, config);
  const store = memoryStore(t);
  const error = await t.throwsAsync(
    registerInstance({ api, store, config, engine: ENGINE, logger: capture.logger, clock }),
    { instanceOf: AgentStartError },
  );
  t.is(exitCodeFor(error), 1);
});

test('an attribute not echoed as sent is terminal (AttributeError) and nothing is saved', async (t) => {
  const { store, register } = await setup(t, (r) => {
    const reply = echoRegister(r);
    const attributes = reply.body.containerInstance.attributes as Array<{ name: string; value?: string }>;
    const os = attributes.find((a) => a.name === 'ecs.os-type');
    if (os) os.value = 'windows';
    return reply;
  });
  const error = await t.throwsAsync(register(), { instanceOf: AgentStartError, message: /ecs\.os-type="linux"/ });
  t.is(exitCodeFor(error), 5);
  t.is(store.getInstance()?.containerInstanceArn, undefined);
});

test('more than 50 instance tags is terminal before anything is sent', async (t) => {
  const tags = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
  const { ecs, register } = await setup(t, echoRegister, { ECS_CONTAINER_INSTANCE_TAGS: JSON.stringify(tags) });
  const error = await t.throwsAsync(register(), { instanceOf: AgentStartError, message: /at most 50/ });
  t.is(exitCodeFor(error), 5);
  t.is(ecs.requests.length, 0);
});

test('capabilities: only what ecsd backs, each under its condition', (t) => {
  const names = (env: Record<string, string>, engine: Partial<EngineFacts> = {}) =>
    capabilityAttributes(ecsConfig(env), { apiVersion: '1.41', taskCgroupEnabled: true, ...engine }).map((a) => a.name);
  const all = names({ ECS_AVAILABLE_LOGGING_DRIVERS: '["json-file","awslogs","sumologic"]' });
  const legacy = 'com.amazonaws.ecs.capability.';
  t.deepEqual(all, [
    `${legacy}privileged-container`,
    ...['1.17', '1.18', '1.19', '1.20', '1.21', '1.22', '1.23', '1.24', '1.25', '1.28', '1.29', '1.30', '1.32'].map(
      (v) => `${legacy}docker-remote-api.${v}`,
    ),
    `${legacy}logging-driver.json-file`,
    `${legacy}logging-driver.awslogs`,
    `${legacy}logging-driver.sumologic`,
    'ecs.capability.container-ordering',
    'ecs.capability.container-health-check',
    'ecs.capability.task-cpu-mem-limit',
    'ecs.capability.docker-plugin.local',
    'ecs.capability.external',
  ]);
  const off = names(
    { ECS_DISABLE_PRIVILEGED: 'true', ECS_DISABLE_DOCKER_HEALTH_CHECK: 'true', ECS_EXTERNAL: 'false' },
    { apiVersion: '1.28', taskCgroupEnabled: false },
  );
  for (const absent of [
    'privileged-container',
    'container-health-check',
    'task-cpu-mem-limit',
    'capability.external',
  ]) {
    t.false(
      off.some((n) => n.endsWith(absent)),
      absent,
    );
  }
  t.false(off.includes(`${legacy}docker-remote-api.1.29`), 'nothing above the negotiated API');
  t.false(off.includes(`${legacy}logging-driver.sumologic`) || off.includes(`${legacy}logging-driver.awsfirelens`));
  for (const never of ['task-eni', 'efs', 'secrets', 'firelens', 'ecr-auth', 'task-iam-role', 'execution-role']) {
    t.false(
      [...all, ...off].some((n) => n.includes(never)),
      never,
    );
  }
  t.is(formatAttributes([{ name: 'a' }, { name: 'b', value: 'x' }]), 'a\t\nb\tx\n');
});
