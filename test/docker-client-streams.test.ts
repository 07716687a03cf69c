/**
 * Pull progress, pull failures and the event stream's malformed lines, against fake engines on unix sockets
 * (no Docker, no registry). The real-engine side of pull, stats and exec is in test/engine/docker-engine.test.ts.
 */
import test from 'ava';
import { createDockerEngine, type PullProgress } from '../src/docker/index.js';
import { EcsdError } from '../src/errors.js';
import { silentLogger } from '../src/logging/types.js';
import { json, startFakeEngine } from './helpers/fake-docker-socket.js';
import { waitFor } from './helpers/wait-for.js';

function engineFor(dockerHost: string) {
  return createDockerEngine({ dockerHost, logger: silentLogger, defaultTimeoutMs: 100_000 });
}

test('pull reports typed progress and resolves when the stream ends', async (t) => {
  const fake = await startFakeEngine(t, (req, res) => {
    t.is(req.headers['x-registry-auth'] !== undefined, true, 'credentials go in X-Registry-Auth');
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"status":"Pulling from team/app","id":"v2"}\r\n{"status":"Downloading","id":"abc","progress');
    res.end(
      '":"[=>  ]","progressDetail":{"current":10,"total":100}}\r\n{"status":"Status: Downloaded newer image"}\r\n',
    );
  });
  const seen: PullProgress[] = [];
  await engineFor(fake.dockerHost).pullImage(
    'registry.local:5000/team/app:v2',
    { auth: { username: 'u', password: 'p' }, onProgress: (p) => seen.push(p) },
    {},
  );
  t.deepEqual(seen, [
    { status: 'Pulling from team/app', id: 'v2' },
    { status: 'Downloading', id: 'abc', progress: '[=>  ]', currentBytes: 10, totalBytes: 100 },
    { status: 'Status: Downloaded newer image' },
  ]);
  t.is(fake.requests[1], 'POST /v1.41/images/create?fromImage=registry.local%3A5000%2Fteam%2Fapp%3Av2');
});

test('an errorDetail in the stream rejects with CannotPullContainerError carrying the registry’s message', async (t) => {
  const fake = await startFakeEngine(t, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"status":"Pulling from team/app"}\n');
    res.end(
      '{"errorDetail":{"message":"manifest for team/app:v9 not found: manifest unknown"},"error":"manifest for team/app:v9 not found"}\n',
    );
  });
  const error = await t.throwsAsync(engineFor(fake.dockerHost).pullImage('team/app:v9', {}, {}), {
    instanceOf: EcsdError,
  });
  t.is(error!.code, 'CannotPullContainerError');
  t.is(error!.errorClass, 'terminal');
  t.is(error!.message, 'manifest for team/app:v9 not found: manifest unknown');
  t.like(error!.context, { op: 'pull', image: 'team/app:v9' });
});

test('a refused pull (HTTP 404) carries Docker’s message', async (t) => {
  const fake = await startFakeEngine(t, (_req, res) =>
    json(res, 404, { message: 'pull access denied for team/none, repository does not exist' }),
  );
  const error = await t.throwsAsync(engineFor(fake.dockerHost).pullImage('team/none', {}, {}), {
    instanceOf: EcsdError,
  });
  t.is(error!.code, 'CannotPullContainerError');
  t.is(error!.errorClass, 'terminal');
  t.regex(error!.message, /^pull access denied for team\/none/);
  t.like(error!.context, { image: 'team/none:latest', status: 404 });
});

test('a pull without progress for inactivityTimeoutMs is abandoned and its connection closed', async (t) => {
  let closed = false;
  const fake = await startFakeEngine(t, (req, res) => {
    req.socket.once('close', () => {
      closed = true;
    });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"status":"Pulling fs layer","id":"abc"}\n'); // then nothing
  });
  const error = await t.throwsAsync(
    engineFor(fake.dockerHost).pullImage('team/app:v1', { inactivityTimeoutMs: 200 }, {}),
    { instanceOf: EcsdError },
  );
  t.is(error!.code, 'DockerTimeoutError');
  t.like(error!.context, { op: 'pull', inactivityTimeoutMs: 200 });
  await waitFor('the stalled pull’s socket to close', () => closed);
  t.pass();
});

test('an aborted pull stops at once and closes its connection', async (t) => {
  let closed = false;
  let started = false;
  const fake = await startFakeEngine(t, (req, res) => {
    req.socket.once('close', () => {
      closed = true;
    });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"status":"Downloading","id":"abc"}\n');
    started = true;
  });
  const controller = new AbortController();
  const pending = engineFor(fake.dockerHost).pullImage('team/app:v1', {}, { signal: controller.signal });
  await waitFor('the pull to stream', () => started);
  controller.abort(new Error('task stopped'));
  const error = await t.throwsAsync(pending, { instanceOf: EcsdError });
  t.like(error!.context, { op: 'pull', aborted: true });
  await waitFor('the pull’s socket to close', () => closed);
});

test('a pull stream that drops before its end is a transient failure, not a success', async (t) => {
  const fake = await startFakeEngine(t, (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"status":"Downloading","id":"abc"}\n');
    setTimeout(() => req.socket.destroy(), 20);
  });
  const error = await t.throwsAsync(engineFor(fake.dockerHost).pullImage('team/app:v1', {}, {}), {
    instanceOf: EcsdError,
  });
  t.is(error!.errorClass, 'transient');
});

test('a malformed event line is skipped and counted; the events around it arrive', async (t) => {
  const fake = await startFakeEngine(t, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const event = (id: string) =>
      JSON.stringify({ Type: 'network', Action: 'connect', Actor: { ID: id, Attributes: {} }, time: 1_700_000_000 });
    res.write(`${event('n1')}\n{"Type":"container",garbage\n${event('n2')}\n`);
  });
  const engine = engineFor(fake.dockerHost);
  const ids: string[] = [];
  const unsubscribe = engine.subscribeEvents({ onEvent: (event) => ids.push(`${event.type}/${event.id}`) });
  t.teardown(unsubscribe);
  await waitFor('both events', () => ids.length === 2);
  t.deepEqual(ids, ['network/n1', 'network/n2']);
  t.is(engine.malformedEventLines(), 1);
});
