/**
 * The ACS source against a tiny WebSocket server on 127.0.0.1 made here (the full backend simulator is
 * test/support's): the signed upgrade and its query, acks over the wire, reconnects after clean closes,
 * drops, garbage, oversized frames, error closes, inactivity, the maximum age and InactiveInstanceException.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import test, { type ExecutionContext } from 'ava';
import { type WebSocket, WebSocketServer } from 'ws';
import { CredentialsManager } from '../src/credentials/manager.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import { DEFAULT_TASK_POLICY } from '../src/model/task-policy.js';
import { AcsSource, type AcsTuning } from '../src/sources/acs/index.js';
import { upgradeSigningRequest } from '../src/sources/acs/sign.js';
import { acsTask, CLUSTER_ARN, INSTANCE_ARN, payload, taskArn } from './acs-helpers.js';
import { recordingClock } from './helpers/recording-clock.js';
import { waitFor } from './helpers/wait-for.js';
import { capturingLogger, memoryStore } from './local-source-helpers.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'test-secret', sessionToken: 'test-token' };

interface Connection {
  query: URLSearchParams;
  signatureValid: boolean;
  ws: WebSocket;
  frames: Array<{ type: string; message: Record<string, unknown> }>;
  closed: Promise<{ code: number; reason: string }>;
}

interface FakeBackend {
  endpoint: string;
  connections: Connection[];
  /** How the next upgrades are answered: accepted, or refused with this status and body. */
  refuseWith?: { status: number; body: string };
  nth(n: number): Promise<Connection>;
}

async function fakeBackend(t: ExecutionContext): Promise<FakeBackend> {
  const wss = new WebSocketServer({ noServer: true });
  const server: Server = createServer();
  const backend: FakeBackend = {
    endpoint: '',
    connections: [],
    nth: (n) => waitFor(`connection ${n}`, () => backend.connections[n], { timeoutMs: 5000 }),
  };
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    if (backend.refuseWith !== undefined) {
      const { status, body } = backend.refuseWith;
      socket.end(
        `HTTP/1.1 ${status} Refused\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    void verify(req).then((signatureValid) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        const frames: Connection['frames'] = [];
        ws.on('message', (data) => frames.push(JSON.parse(String(data))));
        const closed = new Promise<{ code: number; reason: string }>((resolve) =>
          ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
        );
        const query = new URL(req.url ?? '', 'ws://x').searchParams;
        backend.connections.push({ query, signatureValid, ws, frames, closed });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.teardown(() => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    server.close();
  });
  return backend;
}

/** What a backend does with the upgrade: re-sign the request it received (same key, same date) and compare. */
async function verify(req: IncomingMessage): Promise<boolean> {
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!match) return false;
  const [, y, mo, d, h, mi, s] = match;
  const signingDate = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  const url = `ws://${req.headers.host}${req.url}`;
  const signer = new SignatureV4({
    service: 'ecs',
    region: 'us-east-1',
    credentials,
    sha256: Sha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(upgradeSigningRequest(url), { signingDate });
  return (
    signed.headers['authorization'] === req.headers.authorization &&
    req.headers['x-amz-security-token'] === 'test-token'
  );
}

function startSource(t: ExecutionContext, backend: FakeBackend, tuning: Partial<AcsTuning> = {}) {
  const store = memoryStore(t);
  const clock = recordingClock();
  const metrics = createMetricsRegistry();
  const log = capturingLogger();
  const source = new AcsSource({
    store,
    credentialsManager: new CredentialsManager(),
    discoverEndpoint: async () => backend.endpoint,
    awsCredentials: async () => credentials,
    region: 'us-east-1',
    cluster: CLUSTER_ARN,
    containerInstanceArn: INSTANCE_ARN,
    agentVersion: '1.105.1',
    agentHash: 'abc123',
    dockerVersion: '24.0.7',
    updatesEnabled: false,
    acceptInsecureCert: false,
    taskPolicy: DEFAULT_TASK_POLICY,
    logger: log,
    clock,
    metrics: metrics.acs,
    random: () => 0,
    tuning: { backoff: { minMs: 20, maxMs: 100, multiplier: 1.5, jitterFraction: 0.2 }, ...tuning },
  });
  source.start();
  t.teardown(() => source.stop());
  return { source, store, clock, metrics, log };
}

test('connects signed with the right query, writes a payload before acking it, then reconnects after close 1000', async (t) => {
  const backend = await fakeBackend(t);
  const { source, store, clock, metrics } = startSource(t, backend);
  const first = await backend.nth(0);
  t.true(first.signatureValid, 'the upgrade carries a valid SigV4 signature');
  t.is(first.query.get('sendCredentials'), 'true');
  t.is(first.query.get('clusterArn'), CLUSTER_ARN);
  t.is(first.query.get('containerInstanceArn'), INSTANCE_ARN);
  t.is(first.query.get('dockerVersion'), 'DockerVersion: 24.0.7');
  t.is(first.query.get('protocolVersion'), '2');
  t.is(first.query.get('seqNum'), '1');

  first.ws.send(JSON.stringify(payload([acsTask('a')])));
  await source.whenReady();
  await waitFor('a frame from the agent', () => first.frames.length > 0, { timeoutMs: 5000 });
  t.deepEqual(first.frames[0], {
    type: 'AckRequest',
    message: { cluster: CLUSTER_ARN, containerInstance: INSTANCE_ARN, messageId: 'm-1' },
  });
  t.truthy(store.getTask(taskArn('a')));
  t.true(source.state().connected);
  t.is(await metrics.sampleValue('ecs_agent_acs_connected'), 1);
  t.is(await metrics.sampleValue('ecs_agent_acs_messages_total', { type: 'PayloadMessage' }), 1);

  first.ws.close(1000, 'bye');
  const second = await backend.nth(1);
  t.is(second.query.get('sendCredentials'), 'false', 'only the first connect asks for credentials');
  t.deepEqual(clock.sleeps, [], 'a clean close reconnects at once');
  t.is(await metrics.sampleValue('ecs_agent_acs_reconnects_total'), 1);
});

test('a dropped socket reconnects at once; garbage is dropped and the session goes on', async (t) => {
  const backend = await fakeBackend(t);
  const { clock, log } = startSource(t, backend);
  const first = await backend.nth(0);
  first.ws.send('{"type":"PayloadMessage","message":{');
  first.ws.send(JSON.stringify({ type: 'HeartbeatMessage', message: { messageId: 'hb' } }));
  await waitFor('a frame from the agent', () => first.frames.length > 0, { timeoutMs: 5000 });
  t.deepEqual(first.frames[0], { type: 'HeartbeatAckRequest', message: { messageId: 'hb' } });
  t.truthy(log.lines.find((l) => l.msg === 'undecodable ACS frame dropped'));
  first.ws.terminate();
  await backend.nth(1);
  t.deepEqual(clock.sleeps, []);
});

test('an error close and an oversized frame wait the backoff before reconnecting', async (t) => {
  const backend = await fakeBackend(t);
  const { clock, log } = startSource(t, backend, { maxFrameBytes: 1024 });
  (await backend.nth(0)).ws.close(4000, 'go away');
  const second = await backend.nth(1);
  t.deepEqual(clock.sleeps, [20]);
  second.ws.send(JSON.stringify({ type: 'PayloadMessage', message: { pad: 'x'.repeat(4096) } }));
  t.is((await second.closed).code, 1009, 'the agent closes on a frame over the limit');
  await backend.nth(2);
  t.deepEqual(clock.sleeps, [20, 30], 'the backoff grows while sessions keep failing');
  t.truthy(log.lines.find((l) => l.msg === 'ACS connection failed' && /Max payload/i.test(String(l.fields['error']))));
});

test('a silent backend is dropped after the inactivity timeout; a long session is closed as expired', async (t) => {
  const backend = await fakeBackend(t);
  const { clock } = startSource(t, backend, {
    sessionTimers: { inactivityMs: 200, inactivityJitterMs: 0, maxAgeMs: 60_000, maxAgeJitterMs: 0 },
  });
  await (await backend.nth(0)).closed;
  await backend.nth(1);
  t.deepEqual(clock.sleeps, [20], 'inactivity is a failure: backoff');

  const aged = await fakeBackend(t);
  startSource(t, aged, {
    sessionTimers: { inactivityMs: 60_000, inactivityJitterMs: 0, maxAgeMs: 200, maxAgeJitterMs: 0 },
  });
  const closed = await (await aged.nth(0)).closed;
  t.deepEqual(closed, { code: 1000, reason: 'ConnectionExpired: Reconnect to continue' });
  await aged.nth(1);
});

test('InactiveInstanceException in the upgrade response waits an hour', async (t) => {
  const backend = await fakeBackend(t);
  backend.refuseWith = { status: 400, body: '{"InactiveInstanceException":"The container instance is inactive"}' };
  const { clock, log, source } = startSource(t, backend);
  await waitFor('a reconnect wait', () => clock.sleeps.length > 0, { timeoutMs: 5000 });
  t.deepEqual(clock.sleeps, [60 * 60_000]);
  t.truthy(log.lines.find((l) => /deregistered/.test(l.msg)));
  t.false(source.state().connected);
  await source.stop();
});

test('other upgrade refusals back off and stop() ends the loop', async (t) => {
  const backend = await fakeBackend(t);
  backend.refuseWith = { status: 500, body: '{"ServerException":"try later"}' };
  const { clock, log, source } = startSource(t, backend);
  await waitFor('two reconnect waits', () => clock.sleeps.length >= 2, { timeoutMs: 5000 });
  t.deepEqual(clock.sleeps.slice(0, 2), [20, 30]);
  t.truthy(log.lines.find((l) => l.fields['exception'] === 'ServerException' && l.fields['status'] === 500));
  await source.stop();
});
