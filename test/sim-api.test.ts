/**
 * The simulator's AWS JSON 1.1 side, driven by the real AWS SDK clients: signed calls are served, bad
 * signatures get 403, errors map to the SDK's exception names, and each injected fault happens exactly as
 * many times as asked. Everything stays on 127.0.0.1; credentials are static, so no provider chain runs.
 */

import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import {
  ClusterNotFoundException,
  CreateClusterCommand,
  DiscoverPollEndpointCommand,
  ECSClient,
  InvalidParameterException,
  RegisterContainerInstanceCommand,
  ServerException,
  SubmitAttachmentStateChangesCommand,
  SubmitTaskStateChangeCommand,
} from '@aws-sdk/client-ecs';
import test from 'ava';
import { createEcrAuth } from '../src/docker/ecr-auth.js';
import { CannotPullECRContainerError } from '../src/errors.js';
import { createCapturingLogger } from '../src/logging/index.js';
import { FakeClock } from './helpers/fake-clock.js';
import { buildAcsTask, type EcsSimulator, SimTimeoutError, startEcsSimulator } from './support/ecs-sim/index.js';

// No code path here may reach IMDS or a real AWS host.
process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

function ecsClient(sim: EcsSimulator, overrides: { secretAccessKey?: string; maxAttempts?: number } = {}): ECSClient {
  return new ECSClient({
    endpoint: sim.url,
    region: sim.settings.region,
    credentials: {
      ...sim.credentials,
      ...(overrides.secretAccessKey ? { secretAccessKey: overrides.secretAccessKey } : {}),
    },
    maxAttempts: overrides.maxAttempts ?? 1,
  });
}

const register = (client: ECSClient, extra: Record<string, unknown> = {}) =>
  client.send(
    new RegisterContainerInstanceCommand({
      cluster: 'default',
      totalResources: [{ name: 'CPU', type: 'INTEGER', integerValue: 2048 }],
      versionInfo: { agentVersion: '0.1.0', agentHash: 'abc1234', dockerVersion: 'DockerVersion: 20.10.24' },
      attributes: [
        { name: 'ecs.os-type', value: 'linux' },
        { name: 'com.amazonaws.ecs.capability.privileged-container' },
      ],
      ...extra,
    }),
  );

async function withSim(run: (sim: EcsSimulator) => Promise<void>, options = {}): Promise<void> {
  const sim = await startEcsSimulator(options);
  try {
    await run(sim);
  } finally {
    await sim.close();
  }
}

test('a signed RegisterContainerInstance gets an ARN, echoes the attributes and adds the availability zone', (t) =>
  withSim(async (sim) => {
    const client = ecsClient(sim);
    const first = await register(client);
    const arn = first.containerInstance?.containerInstanceArn;
    t.regex(arn ?? '', /^arn:aws:ecs:us-east-1:111122223333:container-instance\/default\/[0-9a-f]{32}$/);
    t.deepEqual(first.containerInstance?.attributes, [
      { name: 'ecs.os-type', value: 'linux' },
      { name: 'com.amazonaws.ecs.capability.privileged-container' },
      { name: 'ecs.availability-zone', value: 'us-east-1a' },
    ]);
    // Re-registration with the saved ARN keeps it and keeps the first registration's custom attributes.
    const again = await register(client, { containerInstanceArn: arn, attributes: [] });
    t.is(again.containerInstance?.containerInstanceArn, arn);
    t.true(again.containerInstance?.attributes?.some((a) => a.name === 'ecs.os-type'));
    t.is(sim.instances().length, 1);
    t.is(sim.instances()[0]?.registrations, 2);
    const calls = sim.calls('RegisterContainerInstance');
    t.deepEqual(
      calls.map((c) => c.statusCode),
      [200, 200],
    );
    t.is((calls[1]?.body as { containerInstanceArn?: string } | undefined)?.containerInstanceArn, arn);
    t.is(calls[0]?.headers['x-amz-target'], 'AmazonEC2ContainerServiceV20141113.RegisterContainerInstance');
    t.is(calls[0]?.headers['content-type'], 'application/x-amz-json-1.1');
  }));

test('an unknown cluster is ClusterNotFoundException in the SDK until CreateCluster makes it', (t) =>
  withSim(
    async (sim) => {
      const client = ecsClient(sim);
      const error = await t.throwsAsync(register(client), { instanceOf: ClusterNotFoundException });
      t.is(error?.$metadata.httpStatusCode, 400);
      const created = await client.send(new CreateClusterCommand({ clusterName: 'default' }));
      t.is(created.cluster?.clusterArn, 'arn:aws:ecs:us-east-1:111122223333:cluster/default');
      const registered = await register(client);
      t.truthy(registered.containerInstance?.containerInstanceArn);
      t.deepEqual(sim.clusters(), ['default']);
    },
    { clusters: [] },
  ));

test('a saved ARN of another cluster is refused with InvalidParameterException', (t) =>
  withSim(async (sim) => {
    const client = ecsClient(sim);
    await t.throwsAsync(
      register(client, {
        containerInstanceArn:
          'arn:aws:ecs:us-east-1:111122223333:container-instance/other/0123456789abcdef0123456789abcdef',
      }),
      { instanceOf: InvalidParameterException },
    );
  }));

test('DiscoverPollEndpoint answers the simulator itself, so ACS is ws://127.0.0.1:<port>/ws', (t) =>
  withSim(async (sim) => {
    const client = ecsClient(sim);
    const registered = await register(client);
    const answer = await client.send(
      new DiscoverPollEndpointCommand({
        cluster: 'default',
        containerInstance: registered.containerInstance?.containerInstanceArn,
      }),
    );
    t.is(answer.endpoint, `${sim.url}/`);
    t.is(`${answer.endpoint?.replace(/^http/, 'ws')}ws`, sim.acsUrl);
    t.truthy(answer.telemetryEndpoint);
  }));

test('an unsigned request and a request signed with the wrong secret get 403 with an AWS JSON error body', (t) =>
  withSim(async (sim) => {
    const unsigned = await fetch(`${sim.url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonEC2ContainerServiceV20141113.DiscoverPollEndpoint',
      },
      body: '{}',
    });
    t.is(unsigned.status, 403);
    t.deepEqual(await unsigned.json(), {
      __type: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });

    const malformed = await fetch(`${sim.url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonEC2ContainerServiceV20141113.DiscoverPollEndpoint',
        authorization: 'AWS4-HMAC-SHA256 Credential=nonsense',
      },
      body: '{}',
    });
    t.is(malformed.status, 403);
    t.is(((await malformed.json()) as { __type: string }).__type, 'IncompleteSignatureException');

    const error = await t.throwsAsync(register(ecsClient(sim, { secretAccessKey: 'not-the-secret' })));
    t.is(error?.name, 'InvalidSignatureException');
    t.is((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 403);
    t.is(sim.instances().length, 0, 'a refused call changes nothing');
    t.deepEqual(
      sim.calls().map((c) => [c.statusCode, c.errorType]),
      [
        [403, 'MissingAuthenticationTokenException'],
        [403, 'IncompleteSignatureException'],
        [403, 'InvalidSignatureException'],
      ],
    );
  }));

test('a signature for another region or a tampered body does not verify', (t) =>
  withSim(async (sim) => {
    const wrongRegion = new ECSClient({
      endpoint: sim.url,
      region: 'eu-west-1',
      credentials: sim.credentials,
      maxAttempts: 1,
    });
    const error = await t.throwsAsync(register(wrongRegion));
    t.is(error?.name, 'InvalidSignatureException');

    const client = ecsClient(sim);
    client.middlewareStack.add(
      (next) => async (args) => {
        // Same length, so only the signature can tell: the content-length header still matches.
        const request = args.request as { body?: Uint8Array | string };
        const text = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body);
        request.body = text.replace('"default"', '"defaulx"');
        return next(args);
      },
      { step: 'deserialize', name: 'tamperAfterSigning' },
    );
    const tampered = await t.throwsAsync(register(client));
    t.is(tampered?.name, 'InvalidSignatureException');
  }));

test('SubmitTaskStateChange bodies are recorded in order and waitForTaskStatus resolves on the matching one', async (t) =>
  withSim(async (sim) => {
    const client = ecsClient(sim);
    const task = 'arn:aws:ecs:us-east-1:111122223333:task/default/0123456789abcdef0123456789abcdef';
    const stopped = sim.waitForTaskStatus(task, 'STOPPED', 5_000);
    await client.send(
      new SubmitTaskStateChangeCommand({
        cluster: 'default',
        task,
        status: 'RUNNING',
        containers: [{ containerName: 'web', runtimeId: 'abc', status: 'RUNNING' }],
      }),
    );
    await client.send(
      new SubmitTaskStateChangeCommand({
        cluster: 'default',
        task,
        status: 'STOPPED',
        containers: [{ containerName: 'web', runtimeId: 'abc', status: 'STOPPED', exitCode: 0 }],
        executionStoppedAt: new Date(1_717_000_900_000),
      }),
    );
    const change = await stopped;
    t.is(change.containers?.[0]?.['exitCode'], 0);
    t.is(change.executionStoppedAt, 1_717_000_900, 'timestamps travel as epoch seconds');
    t.deepEqual(
      sim.taskStateChanges(task).map((c) => c.status),
      ['RUNNING', 'STOPPED'],
    );
    await t.throwsAsync(sim.waitForTaskStatus(task, 'PENDING', 50), { instanceOf: SimTimeoutError });
  }));

test('a malformed state change is InvalidParameterException and is not recorded', (t) =>
  withSim(async (sim) => {
    const client = ecsClient(sim);
    await t.throwsAsync(
      client.send(new SubmitTaskStateChangeCommand({ cluster: 'default', task: 'arn:x', status: 'CREATED' })),
      { instanceOf: InvalidParameterException, message: /status must be one of PENDING, RUNNING, STOPPED/ },
    );
    await client.send(
      new SubmitAttachmentStateChangesCommand({
        cluster: 'default',
        attachments: [{ attachmentArn: 'arn:aws:ecs:us-east-1:111122223333:attachment/a', status: 'ATTACHED' }],
      }),
    );
    t.deepEqual(sim.taskStateChanges(), []);
    t.is(sim.calls('SubmitAttachmentStateChanges')[0]?.statusCode, 200);
  }));

test('throttle, serverError and invalidParameter answer exactly the next N calls of that operation', (t) =>
  withSim(async (sim) => {
    const client = ecsClient(sim);
    sim.faults.throttle('RegisterContainerInstance', 2);
    sim.faults.serverError('RegisterContainerInstance', 1);
    sim.faults.invalidParameter('DiscoverPollEndpoint', 1);
    const first = await t.throwsAsync(register(client));
    t.is(first?.name, 'ThrottlingException');
    t.is((first as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 400);
    await t.throwsAsync(register(client), { name: 'ThrottlingException' });
    const server = await t.throwsAsync(register(client), { instanceOf: ServerException });
    t.is(server?.$metadata.httpStatusCode, 500);
    t.truthy(await register(client));
    await t.throwsAsync(client.send(new DiscoverPollEndpointCommand({ cluster: 'default' })), {
      instanceOf: InvalidParameterException,
    });
    t.truthy((await client.send(new DiscoverPollEndpointCommand({ cluster: 'default' }))).endpoint);
    t.deepEqual(
      sim.calls().map((c) => [c.operation, c.errorType ?? c.statusCode]),
      [
        ['RegisterContainerInstance', 'ThrottlingException'],
        ['RegisterContainerInstance', 'ThrottlingException'],
        ['RegisterContainerInstance', 'ServerException'],
        ['RegisterContainerInstance', 200],
        ['DiscoverPollEndpoint', 'InvalidParameterException'],
        ['DiscoverPollEndpoint', 200],
      ],
    );
  }));

test("the SDK's retry strategy retries a throttled call and succeeds on the next attempt", (t) =>
  withSim(async (sim) => {
    const client = ecsClient(sim, { maxAttempts: 3 });
    sim.faults.throttle('DiscoverPollEndpoint', 1);
    const answer = await client.send(new DiscoverPollEndpointCommand({ cluster: 'default' }));
    t.is(answer.endpoint, `${sim.url}/`);
    t.deepEqual(
      sim.calls('DiscoverPollEndpoint').map((c) => c.statusCode),
      [400, 200],
    );
  }));

test('ECR GetAuthorizationToken returns the configured user:password, signed for service ecr', (t) =>
  withSim(
    async (sim) => {
      const ecr = new ECRClient({
        endpoint: sim.url,
        region: sim.settings.region,
        credentials: sim.credentials,
        maxAttempts: 1,
      });
      const answer = await ecr.send(new GetAuthorizationTokenCommand({ registryIds: ['111122223333'] }));
      const data = answer.authorizationData?.[0];
      t.is(Buffer.from(data?.authorizationToken ?? '', 'base64').toString(), 'AWS:registry-password');
      t.is(data?.proxyEndpoint, 'http://127.0.0.1:5000');
      t.true((data?.expiresAt?.getTime() ?? 0) > Date.now());
      t.is(sim.calls('GetAuthorizationToken')[0]?.service, 'ecr');

      const badSecret = new ECRClient({
        endpoint: sim.url,
        region: sim.settings.region,
        credentials: { ...sim.credentials, secretAccessKey: 'wrong' },
        maxAttempts: 1,
      });
      await t.throwsAsync(badSecret.send(new GetAuthorizationTokenCommand({})), { name: 'InvalidSignatureException' });
    },
    { ecr: { password: 'registry-password', proxyEndpoint: 'http://127.0.0.1:5000' } },
  ));

test('ECR takes execution-role credentials the backend sent, records the signing key, and names only its registries', (t) =>
  withSim(
    async (sim) => {
      const containerInstanceArn =
        'arn:aws:ecs:us-east-1:111122223333:container-instance/default/0123456789abcdef0123456789abcdef';
      const issued = sim.roleCredentials();
      const task = {
        ...buildAcsTask({ family: 'f', containerDefinitions: [{ name: 'a', image: 'x' }] }),
        executionRoleCredentials: issued,
      };
      // Not connected: the payload is only queued, but its credentials now exist as far as ECR is concerned.
      await sim.sendPayload([task], { awaitAck: false, containerInstanceArn });
      const { logger } = createCapturingLogger();
      const keys = new Map([[task.arn, { accessKeyId: issued.accessKeyId, secretAccessKey: issued.secretAccessKey }]]);
      const auth = createEcrAuth({
        credentialsFor: (taskArn) => keys.get(taskArn),
        logger,
        clock: new FakeClock(Date.now()),
        endpoint: sim.url,
      });
      const request = { registryId: '111122223333', region: 'us-east-1', useExecutionRole: true, taskArn: task.arn };
      t.deepEqual(await auth.authFor(request), {
        username: 'AWS',
        password: 'exec-pull-password',
        serveraddress: 'http://127.0.0.1:5000',
      });
      t.deepEqual(
        sim.calls('GetAuthorizationToken').map((c) => [c.accessKeyId, c.statusCode]),
        [[issued.accessKeyId, 200]],
      );

      await t.throwsAsync(auth.authFor({ ...request, registryId: '444455556666' }), {
        instanceOf: CannotPullECRContainerError,
        message: /AccessDeniedException/,
      });
      // Keys the backend never sent (or took back) are not accepted, whatever they sign.
      sim.revokeKey(issued.accessKeyId);
      const revoked = await t.throwsAsync(
        auth.authFor({ ...request, taskArn: task.arn, endpointOverride: `${sim.url}/` }),
        {
          instanceOf: CannotPullECRContainerError,
          message: /UnrecognizedClientException/,
        },
      );
      t.is((revoked as InstanceType<typeof CannotPullECRContainerError> | undefined)?.errorClass, 'terminal');
      t.false(JSON.stringify(sim.calls()).includes(issued.secretAccessKey));
    },
    {
      ecr: {
        registries: { '111122223333': { password: 'exec-pull-password', proxyEndpoint: 'http://127.0.0.1:5000' } },
      },
    },
  ));
