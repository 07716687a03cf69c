/**
 * The simulator's ACS WebSocket, driven by a `ws` client whose upgrade is SigV4-signed here (fact sheet
 * 2.1, 2.2): good connects are recorded with their query, bad queries and signatures refused with 403 and
 * a bare-error body, heartbeats arrive, payloads resolve on their own AckRequest, and faults happen.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { ECSClient, RegisterContainerInstanceCommand } from '@aws-sdk/client-ecs';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import test from 'ava';
import WebSocket from 'ws';
import {
  buildAcsTask,
  type EcsSimulator,
  type EcsSimulatorOptions,
  SimNackError,
  SimTimeoutError,
  startEcsSimulator,
} from './support/ecs-sim/index.js';

process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

interface Frame {
  type: string;
  message: Record<string, unknown>;
}

/** A minimal agent side: a signed ws connection that collects parsed frames and can wait for one. */
class TestAgent {
  readonly frames: Array<Frame | string> = [];
  private listeners: Array<() => void> = [];
  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const text = data.toString();
      try {
        this.frames.push(JSON.parse(text) as Frame);
      } catch {
        this.frames.push(text);
      }
      for (const listener of this.listeners) listener();
    });
  }

  next(predicate: (frame: Frame | string) => boolean): Promise<Frame | string> {
    return new Promise((resolve) => {
      const check = () => {
        const found = this.frames.find(predicate);
        if (found === undefined) return;
        this.listeners = this.listeners.filter((l) => l !== check);
        resolve(found);
      };
      this.listeners.push(check);
      check();
    });
  }

  nextOfType(type: string): Promise<Frame> {
    return this.next((f) => typeof f !== 'string' && f.type === type) as Promise<Frame>;
  }

  send(type: string, message: Record<string, unknown>): void {
    this.socket.send(JSON.stringify({ type, message }));
  }

  closed(): Promise<number> {
    return new Promise((resolve) => this.socket.once('close', (code) => resolve(code)));
  }
}

/** Header-signs the upgrade GET as the agent does (fact sheet 2.2) and returns the headers for `ws`. */
async function signedHeaders(url: URL, credentials: { accessKeyId: string; secretAccessKey: string }, region: string) {
  const signer = new SignatureV4({ service: 'ecs', region, credentials, sha256: Sha256 });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { host: url.host },
  });
  const signed = await signer.sign(request);
  return signed.headers as Record<string, string>;
}

function acsQuery(sim: EcsSimulator, instanceArn: string, overrides: Record<string, string | undefined> = {}) {
  const params: Record<string, string | undefined> = {
    agentHash: 'abc1234',
    agentVersion: '0.1.0',
    clusterArn: 'default',
    containerInstanceArn: instanceArn,
    dockerVersion: 'DockerVersion: 20.10.24',
    protocolVersion: '2',
    sendCredentials: 'true',
    seqNum: '1',
    ...overrides,
  };
  const url = new URL(sim.acsUrl);
  for (const key of Object.keys(params).sort()) {
    const value = params[key];
    if (value !== undefined) url.searchParams.set(key, value);
  }
  return url;
}

type ConnectResult = { ok: true; agent: TestAgent } | { ok: false; status: number; body: string };

async function connect(
  sim: EcsSimulator,
  url: URL,
  credentials: { accessKeyId: string; secretAccessKey: string } = sim.credentials,
): Promise<ConnectResult> {
  const headers = await signedHeaders(url, credentials, sim.settings.region);
  const socket = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ ok: true, agent: new TestAgent(socket) }));
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ ok: false, status: res.statusCode ?? 0, body }));
    });
    socket.once('error', reject);
  });
}

async function registeredSim(options: EcsSimulatorOptions = {}): Promise<{ sim: EcsSimulator; arn: string }> {
  const sim = await startEcsSimulator(options);
  const client = new ECSClient({ endpoint: sim.url, region: sim.settings.region, credentials: sim.credentials });
  const answer = await client.send(new RegisterContainerInstanceCommand({ cluster: 'default' }));
  return { sim, arn: answer.containerInstance?.containerInstanceArn ?? '' };
}

async function connected(options: EcsSimulatorOptions = {}) {
  const { sim, arn } = await registeredSim(options);
  const result = await connect(sim, acsQuery(sim, arn));
  if (!result.ok) throw new Error(`connect refused: ${result.status} ${result.body}`);
  return { sim, arn, agent: result.agent };
}

/** Acks every PayloadMessage / manifest / credentials message the way an agent does (fact sheet 2.5). */
function autoAck(agent: TestAgent): void {
  agent.socket.on('message', (data) => {
    let frame: Frame;
    try {
      frame = JSON.parse(data.toString()) as Frame;
    } catch {
      return;
    }
    const { type, message } = frame;
    if (type === 'PayloadMessage' || type === 'TaskManifestMessage') {
      agent.send('AckRequest', {
        cluster: message['clusterArn'],
        containerInstance: message['containerInstanceArn'],
        messageId: message['messageId'],
      });
    } else if (type === 'IAMRoleCredentialsMessage') {
      const creds = message['roleCredentials'] as Record<string, unknown>;
      agent.send('IAMRoleCredentialsAckRequest', {
        messageId: message['messageId'],
        expiration: creds['expiration'],
        credentialsId: creds['credentialsId'],
      });
    }
  });
}

const webDefinition = {
  family: 'web',
  containerDefinitions: [
    {
      name: 'httpd',
      image: 'ecsd-test/busybox:latest',
      memory: 64,
      memoryReservation: 32,
      command: ['httpd', '-f'],
      environment: [{ name: 'A', value: '1' }],
      portMappings: [{ containerPort: 8080, hostPort: 0, protocol: 'tcp' as const }],
      healthCheck: { command: ['CMD-SHELL', 'true'] },
    },
  ],
};

test('a signed connect with the documented query is accepted and recorded', async (t) => {
  const { sim, arn, agent } = await connected();
  try {
    const connection = await sim.waitForConnection(1);
    t.is(connection.query['containerInstanceArn'], arn);
    t.is(connection.query['dockerVersion'], 'DockerVersion: 20.10.24');
    t.is(connection.query['sendCredentials'], 'true');
    t.regex(connection.rawQuery, /^agentHash=abc1234&agentVersion=0\.1\.0&clusterArn=default&/);
    t.truthy(connection.headers['authorization']);
    agent.socket.close(1000, 'bye');
    await sim.waitUntil('the close recorded', () => sim.connections()[0]?.closedAtMs);
    t.is(sim.connections()[0]?.closeCode, 1000);
    t.is(sim.connections()[0]?.closedBy, 'peer');
  } finally {
    await sim.close();
  }
});

test('bad queries are refused with 403 and a bare-error body naming the problem', async (t) => {
  const { sim, arn } = await registeredSim();
  try {
    const cases: Array<[Record<string, string | undefined>, string, RegExp]> = [
      [{ protocolVersion: '1' }, 'BadRequestException', /protocolVersion must be 2/],
      [{ seqNum: '7' }, 'BadRequestException', /seqNum must be 1/],
      [{ agentHash: undefined }, 'BadRequestException', /agentHash is required/],
      [{ sendCredentials: 'yes' }, 'BadRequestException', /sendCredentials/],
      [{ dockerVersion: '20.10.24' }, 'BadRequestException', /DockerVersion: /],
      [{ extra: 'x' }, 'BadRequestException', /unknown query parameter extra/],
      [{ clusterArn: 'nope' }, 'InvalidClusterException', /nope/],
      [
        { containerInstanceArn: `${arn.slice(0, -4)}ffff` },
        'InvalidInstanceException',
        /is not registered in cluster default/,
      ],
    ];
    for (const [overrides, type, message] of cases) {
      const result = await connect(sim, acsQuery(sim, arn, overrides));
      t.false(result.ok, JSON.stringify(overrides));
      if (result.ok) continue;
      t.is(result.status, 403);
      const body = JSON.parse(result.body) as Record<string, string>;
      t.deepEqual(Object.keys(body), [type], JSON.stringify(overrides));
      t.regex(body[type] ?? '', message);
    }
    t.is(sim.connections().length, 0);
    t.is(sim.upgradeRejections().length, cases.length);
  } finally {
    await sim.close();
  }
});

test('an upgrade signed with the wrong secret, or not signed, is refused with AccessDeniedException', async (t) => {
  const { sim, arn } = await registeredSim();
  try {
    const wrong = await connect(sim, acsQuery(sim, arn), { ...sim.credentials, secretAccessKey: 'wrong' });
    t.false(wrong.ok);
    if (!wrong.ok) {
      t.is(wrong.status, 403);
      t.regex(JSON.parse(wrong.body)['AccessDeniedException'], /InvalidSignatureException/);
    }
    // Signed for one query, sent with another: the signature covers the query.
    const url = acsQuery(sim, arn);
    const headers = await signedHeaders(url, sim.credentials, sim.settings.region);
    url.searchParams.set('sendCredentials', 'false');
    const tampered = new WebSocket(url, { headers });
    const status = await new Promise<number>((resolve) =>
      tampered.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    t.is(status, 403);
    const unsigned = new WebSocket(acsQuery(sim, arn));
    const unsignedStatus = await new Promise<number>((resolve) =>
      unsigned.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    t.is(unsignedStatus, 403);
    t.is(sim.connections().length, 0);
  } finally {
    await sim.close();
  }
});

test('a deactivated instance and rejectConnections answer the bodies asked for', async (t) => {
  const { sim, arn } = await registeredSim();
  try {
    sim.faults.rejectConnections(1, { InactiveInstanceException: 'deregistered' });
    const forced = await connect(sim, acsQuery(sim, arn));
    t.deepEqual(forced.ok ? undefined : [forced.status, JSON.parse(forced.body)], [
      403,
      { InactiveInstanceException: 'deregistered' },
    ]);
    const accepted = await connect(sim, acsQuery(sim, arn));
    t.true(accepted.ok, 'only the next one was refused');
    if (accepted.ok) accepted.agent.socket.close();
    sim.deactivateInstance(arn);
    const inactive = await connect(sim, acsQuery(sim, arn));
    t.false(inactive.ok);
    if (!inactive.ok) t.truthy(JSON.parse(inactive.body)['InactiveInstanceException']);
  } finally {
    await sim.close();
  }
});

test('heal ends an outage: queued connection rejections and API faults are forgotten', async (t) => {
  const { sim, arn } = await registeredSim();
  try {
    sim.faults.rejectConnections(1000);
    sim.faults.serverError('*', 1000);
    const refused = await connect(sim, acsQuery(sim, arn));
    t.false(refused.ok, 'refused while the outage lasts');
    const client = new ECSClient({
      endpoint: sim.url,
      region: sim.settings.region,
      credentials: sim.credentials,
      maxAttempts: 1,
    });
    await t.throwsAsync(client.send(new RegisterContainerInstanceCommand({ cluster: 'default' })), {
      name: 'ServerException',
    });
    sim.faults.heal();
    const accepted = await connect(sim, acsQuery(sim, arn));
    t.true(accepted.ok, 'accepted once healed');
    if (accepted.ok) accepted.agent.socket.close();
    t.truthy(await client.send(new RegisterContainerInstanceCommand({ cluster: 'default' })));
    t.is(sim.upgradeRejections().length, 1);
  } finally {
    await sim.close();
  }
});

test('heartbeats arrive on the heartbeat interval and their acks are counted', async (t) => {
  const { sim, agent } = await connected({ heartbeatIntervalMs: 50 });
  try {
    const heartbeat = await agent.nextOfType('HeartbeatMessage');
    t.is(heartbeat.message['healthy'], true);
    t.is(typeof heartbeat.message['messageId'], 'string');
    agent.send('HeartbeatAckRequest', { messageId: heartbeat.message['messageId'] });
    await sim.waitUntil('a counted heartbeat ack', () =>
      sim.connections()[0]?.heartbeatAcks === 1 ? true : undefined,
    );
    t.true((sim.connections()[0]?.heartbeatsSent ?? 0) >= 1);
  } finally {
    await sim.close();
  }
});

test('sendPayload delivers the ACS task shape and resolves only on the AckRequest with its messageId', async (t) => {
  const { sim, arn, agent } = await connected();
  try {
    const task = buildAcsTask(webDefinition, { version: 3 });
    const sent = sim.sendPayload([task], { timeoutMs: 5_000 });
    const payload = await agent.nextOfType('PayloadMessage');
    const message = payload.message;
    t.is(message['containerInstanceArn'], arn);
    t.is(message['clusterArn'], 'arn:aws:ecs:us-east-1:111122223333:cluster/default');
    t.is(message['seqNum'], 1);
    const [wireTask] = message['tasks'] as Array<Record<string, unknown>>;
    t.is(wireTask?.['arn'], task.arn);
    t.is(wireTask?.['taskClusterArn'], message['clusterArn']);
    t.is(wireTask?.['version'], '3');
    t.is(wireTask?.['desiredStatus'], 'RUNNING');
    const [container] = (wireTask?.['containers'] ?? []) as Array<Record<string, unknown>>;
    t.deepEqual(container?.['environment'], { A: '1' });
    t.is(container?.['healthCheckType'], 'docker');
    t.deepEqual(JSON.parse(String((container?.['dockerConfig'] as { hostConfig?: string } | undefined)?.hostConfig)), {
      MemoryReservation: 32 * 1024 * 1024,
    });

    // An ack for another message does not settle it; the matching one does.
    agent.send('AckRequest', { cluster: message['clusterArn'], containerInstance: arn, messageId: 'someone-else' });
    agent.send('AckRequest', {
      cluster: message['clusterArn'],
      containerInstance: arn,
      messageId: message['messageId'],
    });
    t.is(await sent, String(message['messageId']));
    t.deepEqual(
      sim.agentFrames('AckRequest').map((f) => f.message?.['messageId']),
      ['someone-else', message['messageId']],
    );
    t.is(sim.desiredTasks().get(task.arn)?.desiredStatus, 'RUNNING');
  } finally {
    await sim.close();
  }
});

test('an unacked payload times out, a nacked one rejects, and non-JSON agent frames are recorded', async (t) => {
  const { sim, agent } = await connected();
  try {
    await t.throwsAsync(sim.sendPayload([buildAcsTask(webDefinition)], { timeoutMs: 100 }), {
      instanceOf: SimTimeoutError,
    });
    const nacked = sim.sendPayload([buildAcsTask(webDefinition)], { messageId: 'm-nack', timeoutMs: 5_000 });
    await agent.next((f) => typeof f !== 'string' && f.message['messageId'] === 'm-nack');
    agent.send('NackRequest', { messageId: 'm-nack', reason: 'Updates are disabled' });
    await t.throwsAsync(nacked, { instanceOf: SimNackError, message: /Updates are disabled/ });
    agent.socket.send('not json');
    const frame = await sim.waitUntil('the garbage frame', () => sim.agentFrames().find((f) => f.parseError));
    t.is(frame.text, 'not json');
    t.regex(frame.parseError ?? '', /not JSON/);
  } finally {
    await sim.close();
  }
});

test('dropSocket terminates the socket, and an unacked payload is redelivered on the next connection', async (t) => {
  const { sim, arn, agent } = await connected();
  try {
    const messageId = await sim.sendPayload([buildAcsTask(webDefinition)], { awaitAck: false });
    await agent.nextOfType('PayloadMessage');
    const closed = agent.closed();
    t.true(sim.faults.dropSocket());
    t.is(await closed, 1006);
    await sim.waitUntil('the drop recorded', () => sim.connections()[0]?.closedAtMs);
    t.is(sim.connections()[0]?.closedBy, 'simulator');

    const again = await connect(sim, acsQuery(sim, arn, { sendCredentials: 'false' }));
    if (!again.ok) throw new Error('reconnect refused');
    // Sent right after the upgrade: read it from the frames already collected, then ack it by hand.
    const redelivered = await again.agent.nextOfType('PayloadMessage');
    t.is(redelivered.message['messageId'], messageId);
    again.agent.send('AckRequest', { cluster: 'default', containerInstance: arn, messageId });
    await sim.waitForAck(messageId, 5_000);
    t.deepEqual(
      sim.sentFrames('PayloadMessage').map((f) => [f.connectionId, f.messageId]),
      [
        [1, messageId],
        [2, messageId],
      ],
    );
  } finally {
    await sim.close();
  }
});

test('garbage sends a non-JSON frame and sendRaw sends a frame as given', async (t) => {
  const { sim, agent } = await connected();
  try {
    t.true(sim.faults.garbage());
    t.is(await agent.next((f) => typeof f === 'string'), 'this is not JSON {');
    t.true(sim.sendRaw('{"type":"CloseMessage","message":{"message":"bye"}}'));
    t.deepEqual((await agent.nextOfType('CloseMessage')).message, { message: 'bye' });
  } finally {
    await sim.close();
  }
});

test('delayAcks holds the ack back for the delay, then sendPayload resolves', async (t) => {
  const { sim, agent } = await connected();
  try {
    autoAck(agent);
    sim.faults.delayAcks(300);
    const sent = sim.sendPayload([buildAcsTask(webDefinition)], { timeoutMs: 5_000 });
    const ackFrame = await sim.waitForAgentFrame('AckRequest');
    const messageId = String(ackFrame.message?.['messageId']);
    t.false(sim.state.acked.has(messageId), 'the ack arrived but does not count yet');
    t.is(await sent, messageId);
  } finally {
    await sim.close();
  }
});

test('a manifest lists the sent tasks and a stop verification is confirmed with a TaskStopVerificationAck', async (t) => {
  const { sim, agent } = await connected();
  try {
    autoAck(agent);
    const running = buildAcsTask(webDefinition);
    await sim.sendPayload([running]);
    const manifestId = await sim.sendManifest({ timeline: 10 });
    const manifest = (await agent.nextOfType('TaskManifestMessage')).message;
    t.is(manifest['messageId'], manifestId);
    t.is(manifest['timeline'], 10);
    t.deepEqual(manifest['tasks'], [
      {
        taskArn: running.arn,
        taskClusterArn: 'arn:aws:ecs:us-east-1:111122223333:cluster/default',
        desiredStatus: 'RUNNING',
      },
    ]);
    const candidate = {
      taskArn: 'arn:aws:ecs:us-east-1:111122223333:task/default/old',
      taskClusterArn: 'c',
      desiredStatus: 'STOPPED',
    };
    agent.send('TaskStopVerificationMessage', { messageId: manifestId, stopCandidates: [candidate] });
    const ack = await agent.nextOfType('TaskStopVerificationAck');
    t.is(ack.message['messageId'], manifestId);
    t.deepEqual(ack.message['stopTasks'], [candidate]);
    t.true(((await sim.sendManifest()) && sim.sentFrames('TaskManifestMessage').length) === 2);
    const second = sim.sentFrames('TaskManifestMessage')[1];
    t.true((JSON.parse(second?.text ?? '{}').message.timeline as number) > 10, 'timelines only grow');
  } finally {
    await sim.close();
  }
});

test('sendCredentials resolves on the IAMRoleCredentialsAckRequest', async (t) => {
  const { sim, agent } = await connected();
  try {
    autoAck(agent);
    const task = buildAcsTask(webDefinition);
    await sim.sendPayload([task]);
    const messageId = await sim.sendCredentials({ taskArn: task.arn, credentials: { credentialsId: 'cred-1' } });
    const frame = sim.agentFrames('IAMRoleCredentialsAckRequest')[0];
    t.is(frame?.message?.['messageId'], messageId);
    t.is(frame?.message?.['credentialsId'], 'cred-1');
    const sent = JSON.parse(sim.sentFrames('IAMRoleCredentialsMessage')[0]?.text ?? '{}');
    t.is(sent.message.roleType, 'TaskApplication');
    t.is(sent.message.taskArn, task.arn);
  } finally {
    await sim.close();
  }
});

test('buildAcsTask maps host-mode ports, volumes and task cpu/memory as ECS sends them', (t) => {
  const task = buildAcsTask(
    {
      family: 'h',
      networkMode: 'host',
      cpu: '512',
      memory: '1 GB',
      volumes: [{ name: 'data', host: { sourcePath: '/srv' } }, { name: 'scratch' }],
      containerDefinitions: [{ name: 'c', image: 'i', portMappings: [{ containerPort: 80 }] }],
    },
    { arn: 'arn:aws:ecs:us-east-1:111122223333:task/default/x', desiredStatus: 'STOPPED' },
  );
  t.is(task.cpu, 0.5);
  t.is(task.memory, 1024);
  t.is(task.desiredStatus, 'STOPPED');
  t.deepEqual(task.containers[0]?.portMappings, [{ protocol: 'tcp', containerPort: 80, hostPort: 80 }]);
  t.true(task.containers[0]?.essential);
  t.deepEqual(task.volumes, [
    { name: 'data', type: 'host', host: { sourcePath: '/srv' } },
    { name: 'scratch', type: 'host', host: {} },
  ]);
  t.throws(() => buildAcsTask({ containerDefinitions: [] }), { message: /no family/ });
});
