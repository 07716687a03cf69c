/**
 * Cancellation and deadlines reach the socket, a dropped POST is never resent, and every call goes to the
 * negotiated `/v1.NN/` path — against fake engines on unix sockets (no Docker needed).
 */
import type { Socket } from 'node:net';
import test from 'ava';
import { createDockerEngine } from '../src/docker/index.js';
import { EcsdError, TaskStateError } from '../src/errors.js';
import { silentLogger } from '../src/logging/types.js';
import { json, startFakeEngine } from './helpers/fake-docker-socket.js';
import { waitFor } from './helpers/wait-for.js';

/** Far beyond any test: a call that ends did so because of its signal or its own timeoutMs. */
const LONG_DEFAULT_MS = 100_000;

function engineFor(dockerHost: string) {
  return createDockerEngine({ dockerHost, logger: silentLogger, defaultTimeoutMs: LONG_DEFAULT_MS });
}

/** A fake engine that reads requests other than /version and never answers them; their sockets are kept. */
async function silentEngine(t: Parameters<typeof startFakeEngine>[0]) {
  const hung: Socket[] = [];
  const closed = new Set<Socket>();
  const fake = await startFakeEngine(t, (req) => {
    hung.push(req.socket);
    req.socket.once('close', () => closed.add(req.socket));
  });
  return { ...fake, hung, closed };
}

test('an aborted call rejects with an aborted DockerApiError and its socket is closed', async (t) => {
  const fake = await silentEngine(t);
  const engine = engineFor(fake.dockerHost);
  await engine.negotiate();
  const controller = new AbortController();
  const pending = engine.inspectContainer('abc', { signal: controller.signal });
  await waitFor('the inspect to reach the engine', () => fake.hung.length === 1);
  setTimeout(() => controller.abort(new Error('reconcile cancelled')), 50);
  const error = await t.throwsAsync(pending, { instanceOf: EcsdError });
  t.is(error!.code, 'DockerApiError');
  t.is(error!.errorClass, 'transient');
  t.like(error!.context, { op: 'inspect', id: 'abc', aborted: true });
  await waitFor('the engine to see the socket closed', () => fake.closed.has(fake.hung[0]!));
  t.pass();
});

test('an abort whose reason is an EcsdError rejects with that error', async (t) => {
  const fake = await silentEngine(t);
  const engine = engineFor(fake.dockerHost);
  const controller = new AbortController();
  const reason = new TaskStateError('shutting down');
  const pending = engine.stopContainer('abc', 30, { signal: controller.signal });
  await waitFor('the stop to reach the engine', () => fake.hung.length === 1);
  controller.abort(reason);
  t.is(await t.throwsAsync(pending), reason);
  await waitFor('the engine to see the socket closed', () => fake.closed.has(fake.hung[0]!));
});

test('a call past its timeoutMs rejects with DockerTimeoutError and its socket is closed', async (t) => {
  const fake = await silentEngine(t);
  const engine = engineFor(fake.dockerHost);
  await engine.negotiate();
  const error = await t.throwsAsync(
    engine.createContainer('web', { Image: 'busybox', Cmd: ['true'] }, { timeoutMs: 500 }),
    { instanceOf: EcsdError },
  );
  t.is(error!.code, 'DockerTimeoutError');
  t.like(error!.context, { op: 'create', name: 'web', timeoutMs: 500 });
  t.is(fake.hung.length, 1, 'the create reached the engine before its deadline');
  await waitFor('the engine to see the socket closed', () => fake.closed.has(fake.hung[0]!));
});

test('a signal already aborted never reaches the engine', async (t) => {
  const fake = await silentEngine(t);
  const engine = engineFor(fake.dockerHost);
  const error = await t.throwsAsync(engine.ping({ signal: AbortSignal.abort(new Error('gone')) }), {
    instanceOf: EcsdError,
  });
  t.like(error!.context, { op: 'ping', aborted: true });
  t.deepEqual(fake.requests, []);
});

test('an engine that hangs in the negotiation still releases the call at its deadline', async (t) => {
  const fake = await startFakeEngine(t, () => {}, null);
  const engine = engineFor(fake.dockerHost);
  const error = await t.throwsAsync(engine.inspectContainer('abc', { timeoutMs: 100 }), { instanceOf: EcsdError });
  t.is(error!.code, 'DockerTimeoutError');
  t.like(error!.context, { op: 'inspect', id: 'abc' });
  // The shared negotiation outlives the call (bounded by its own deadline); the inspect was never sent.
  await waitFor('the negotiation to reach the engine', () => fake.requests.length > 0);
  t.deepEqual(fake.requests, ['GET /version']);
});

test('a POST the engine read before dropping the connection is sent once and fails transiently', async (t) => {
  const creates: string[] = [];
  const fake = await startFakeEngine(t, (req, res) => {
    if (req.url?.startsWith('/v1.41/containers/create')) {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        creates.push(body);
        req.socket.destroy(); // read it, then drop the connection without an answer
      });
      return;
    }
    if (req.url === '/v1.41/_ping') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('OK');
      return;
    }
    json(res, 404, { message: 'not here' });
  });
  const engine = engineFor(fake.dockerHost);
  await engine.ping(); // negotiation and a ping: the create below goes over a reused keep-alive socket
  const error = await t.throwsAsync(
    engine.createContainer('web', { Image: 'busybox', Cmd: ['true'] }, { timeoutMs: 5_000 }),
    { instanceOf: EcsdError },
  );
  t.is(error!.code, 'DockerApiError', 'a dropped connection is the engine’s trouble, not a terminal create failure');
  t.is(error!.errorClass, 'transient');
  t.is(error!.context['op'], 'create');
  await engine.ping(); // anything resent would have arrived before this answer
  t.is(creates.length, 1, 'never resent');
  t.is(JSON.parse(creates[0]!).Image, 'busybox');
});

test('every call goes to the negotiated /v1.41/ prefix', async (t) => {
  const fake = await startFakeEngine(t, (req, res) => {
    const url = req.url ?? '';
    const method = req.method ?? '';
    if (url.includes('/containers/create')) return json(res, 201, { Id: 'c1' });
    if (url.endsWith('/start') || url.includes('/stop')) return void res.writeHead(204).end();
    if (method === 'DELETE') return void res.writeHead(url.includes('/images/') ? 200 : 204).end('[]');
    if (url.includes('/containers/json')) return json(res, 200, []);
    if (url.includes('/images/json')) return json(res, 200, []);
    if (url.includes('/volumes')) return json(res, 200, { Volumes: [] });
    if (url.includes('/networks')) return json(res, 200, []);
    if (url.includes('/stats')) return json(res, 200, { read: '2026-01-01T00:00:00Z' });
    if (url.endsWith('/_ping')) return void res.writeHead(200).end('OK');
    if (url.endsWith('/info')) return json(res, 200, { ServerVersion: '20.10', CgroupVersion: '2' });
    if (url.endsWith('/version')) return json(res, 200, { ApiVersion: '1.41', MinAPIVersion: '1.12' });
    json(res, 404, { message: 'no such thing' });
  });
  const engine = engineFor(fake.dockerHost);
  t.is(await engine.negotiate(), '1.41');
  await engine.ping();
  const info = await engine.info();
  t.is(info.negotiatedApiVersion, '1.41');
  await engine.listContainers(['a=b']);
  t.is(await engine.inspectContainer('c1'), undefined);
  await engine.createContainer('web', { Image: 'busybox' }, {});
  await engine.startContainer('c1', {});
  await engine.stopContainer('c1', 1, {});
  await engine.removeContainer('c1', { removeVolumes: true });
  await engine.listImages();
  await engine.removeImage('busybox:latest');
  await engine.listVolumes([]);
  await engine.listNetworks();
  t.like(await engine.containerStats('c1'), { read: '2026-01-01T00:00:00Z' });
  t.is(fake.requests[0], 'GET /version', 'negotiation asks the unversioned path, once');
  const later = fake.requests.slice(1);
  t.true(later.length >= 14);
  t.deepEqual(
    later.filter((line) => !line.split(' ')[1]!.startsWith('/v1.41/')),
    [],
  );
  t.true(later.some((line) => line.startsWith('GET /v1.41/containers/c1/stats?stream=false&one-shot=true')));
});

test('an engine older than API 1.25 is refused, naming both versions', async (t) => {
  const fake = await startFakeEngine(t, () => {}, { ApiVersion: '1.24', MinAPIVersion: '1.12' });
  const engine = engineFor(fake.dockerHost);
  const error = await t.throwsAsync(engine.negotiate(), { instanceOf: EcsdError });
  t.is(error!.code, 'DockerApiError');
  t.is(error!.errorClass, 'terminal', 'retrying cannot help: the agent exits');
  t.regex(error!.message, /1\.24/);
  t.regex(error!.message, /1\.25/);
  t.like(error!.context, { refused: true, engineApiVersion: '1.24' });
  const viaCall = await t.throwsAsync(engine.ping(), { instanceOf: EcsdError });
  t.is(viaCall!.errorClass, 'terminal', 'a call refuses the same way');
  t.true(
    fake.requests.every((line) => line === 'GET /version'),
    'nothing but the negotiation reached it',
  );
});

test('a newer engine is spoken to at the agent’s newest version; one that requires newer still is refused', async (t) => {
  const newer = await startFakeEngine(t, (_req, res) => res.writeHead(200).end('OK'), {
    ApiVersion: '1.47',
    MinAPIVersion: '1.24',
  });
  t.is(await engineFor(newer.dockerHost).negotiate(), '1.44');

  const strict = await startFakeEngine(t, () => {}, { ApiVersion: '1.52', MinAPIVersion: '1.45' });
  const error = await t.throwsAsync(engineFor(strict.dockerHost).negotiate(), { instanceOf: EcsdError });
  t.is(error!.errorClass, 'terminal');
  t.regex(error!.message, /1\.45/);
  t.regex(error!.message, /1\.44/);
});

test('a failed negotiation reads as transient and is retried on the next call', async (t) => {
  let up = false;
  const fake = await startFakeEngine(
    t,
    (req, res) => {
      if (req.url === '/version') {
        if (up) json(res, 200, { ApiVersion: '1.41', MinAPIVersion: '1.12' });
        else json(res, 500, { message: 'daemon is starting' });
        return;
      }
      res.writeHead(200).end('OK');
    },
    null,
  );
  const engine = engineFor(fake.dockerHost);
  const first = await t.throwsAsync(engine.ping(), { instanceOf: EcsdError });
  t.is(first!.code, 'DockerApiError');
  t.is(first!.errorClass, 'transient', 'the agent waits for the engine instead of failing');
  t.like(first!.context, { op: 'ping', phase: 'negotiate' });
  t.is(engine.negotiatedApiVersion(), undefined);
  up = true;
  await engine.ping();
  t.is(engine.negotiatedApiVersion(), '1.41');
  t.deepEqual(fake.requests, ['GET /version', 'GET /version', 'GET /v1.41/_ping']);
});
