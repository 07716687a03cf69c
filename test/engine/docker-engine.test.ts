/**
 * DockerEngine against the real engine on /var/run/docker.sock (scripts/ensure-docker.sh starts it and
 * builds ecsd-test/busybox:latest). Every container carries `ecsd-test.run=<run>` plus the ECS labels and
 * is force-removed in teardown. Transport faults (a dead socket, a silent server, a dropped event
 * stream) use local unix-socket servers, because the real engine cannot be made to misbehave on cue.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import Dockerode from 'dockerode';
import {
  type ContainerCreateBody,
  createDockerEngine,
  type DockerEngine,
  type DockerEventHint,
  LABEL_CONTAINER_NAME,
  LABEL_TASK_ARN,
} from '../../src/docker/index.js';
import { EcsdError } from '../../src/errors.js';
import { diskUsage } from '../../src/host/disk-usage.js';
import { silentLogger } from '../../src/logging/types.js';
import { waitFor, waitForContainerState } from '../helpers/wait-for.js';

const DOCKER_HOST = 'unix:///var/run/docker.sock';
const IMAGE = 'ecsd-test/busybox:latest';
const RUN = randomUUID().slice(0, 8);
const TASK_ARN = `arn:aws:ecs:us-west-2:123456789012:task/ecsd-test/${RUN}`;

function newEngine(extra: { readOnly?: boolean; onCall?: (op: string, ms: number, ok: boolean) => void } = {}) {
  return createDockerEngine({ dockerHost: DOCKER_HOST, logger: silentLogger, defaultTimeoutMs: 10_000, ...extra });
}

function uniqueName(prefix: string): string {
  return `ecsd-test-${prefix}-${RUN}-${randomUUID().slice(0, 6)}`;
}

function body(containerName: string, cmd: string[], hostConfig: Record<string, unknown> = {}): ContainerCreateBody {
  return {
    Image: IMAGE,
    Cmd: cmd,
    Labels: { 'ecsd-test.run': RUN, [LABEL_TASK_ARN]: TASK_ARN, [LABEL_CONTAINER_NAME]: containerName },
    HostConfig: hostConfig,
  };
}

/** Creates a labelled container and registers its forced removal. */
async function create(
  t: ExecutionContext,
  engine: DockerEngine,
  containerName: string,
  cmd: string[],
  hostConfig: Record<string, unknown> = {},
  extraBody: Partial<ContainerCreateBody> = {},
): Promise<{ id: string; name: string }> {
  const name = uniqueName(containerName);
  const id = await engine.createContainer(
    name,
    { ...body(containerName, cmd, hostConfig), ...extraBody },
    { timeoutMs: 20_000 },
  );
  t.teardown(() => engine.removeContainer(id, { removeVolumes: true, force: true }).catch(() => {}));
  return { id, name };
}

function socketPath(tag: string): string {
  return path.join(tmpdir(), `ecsd-${tag}-${RUN}-${randomUUID().slice(0, 6)}.sock`);
}

/** A fake engine on a unix socket; it answers the version negotiation (API 1.41) unless `handler` does. */
async function listen(t: ExecutionContext, handler: http.RequestListener, answerVersion = true): Promise<string> {
  const file = socketPath('fake');
  const server = http.createServer((req, res) => {
    if (answerVersion && req.url === '/version') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ ApiVersion: '1.41', MinAPIVersion: '1.12' }));
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(file, resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        rmSync(file, { force: true });
      }),
  );
  return file;
}

test('create, start, inspect, stop and remove round trip', async (t) => {
  const engine = newEngine();
  const { id, name } = await create(
    t,
    engine,
    'web',
    ['sleep', '30'],
    {
      Init: true, // tini forwards SIGTERM, so this stop is clean and fast
      PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
    },
    { ExposedPorts: { '8080/tcp': {} } },
  );
  t.regex(id, /^[0-9a-f]{64}$/);

  const created = await engine.inspectContainer(id);
  t.truthy(created);
  t.is(created!.name, name);
  t.is(created!.state, 'created');
  t.false(created!.running);
  t.is(created!.taskArn, TASK_ARN);
  t.is(created!.containerName, 'web');
  t.is(created!.image, IMAGE);
  t.regex(created!.imageId, /^sha256:/);
  t.is(created!.startedAtMs, undefined, 'zero time 0001-01-01 maps to undefined');
  t.is(created!.finishedAtMs, undefined);
  t.true(created!.createdAtMs > Date.now() - 60_000);

  await engine.startContainer(id, { timeoutMs: 20_000 });
  await engine.startContainer(id, { timeoutMs: 20_000 }); // HTTP 304 already started: success
  const running = await engine.inspectContainer(id);
  t.is(running!.state, 'running');
  t.true(running!.running);
  t.is(running!.health, 'none');
  t.true(running!.startedAtMs! >= created!.createdAtMs);
  t.is(running!.portBindings.length, 1);
  t.like(running!.portBindings[0], { containerPort: 8080, bindIp: '127.0.0.1', protocol: 'tcp' });
  t.true(running!.portBindings[0]!.hostPort > 0);

  await engine.stopContainer(id, 5, { timeoutMs: 20_000 });
  await engine.stopContainer(id, 5, { timeoutMs: 20_000 }); // HTTP 304 already stopped: success
  const stopped = await engine.inspectContainer(id);
  t.is(stopped!.state, 'exited');
  t.is(stopped!.exitCode, 143, 'tini exits 128+SIGTERM');
  t.truthy(stopped!.finishedAtMs);

  await engine.removeContainer(id, { removeVolumes: true });
  t.is(await engine.inspectContainer(id), undefined);
  await engine.removeContainer(id, { removeVolumes: true }); // 404: already gone is success
  const counts = engine.callCounts();
  t.is(counts['create'], 1);
  t.is(counts['start'], 2);
  t.is(counts['stop'], 2);
  t.is(counts['remove'], 2);
  t.is(counts['inspect'], 4);
});

test('a command exiting 42 is observed with exit code 42', async (t) => {
  const engine = newEngine();
  const { id } = await create(t, engine, 'exit', ['sh', '-c', 'exit 42']);
  await engine.startContainer(id, { timeoutMs: 20_000 });
  const exited = await waitForContainerState(engine, id, (c) => c.state === 'exited');
  t.is(exited.exitCode, 42);
  t.false(exited.running);
  t.false(exited.oomKilled);
});

test('stop escalates to SIGKILL after the grace period when PID 1 ignores SIGTERM', async (t) => {
  const engine = newEngine();
  const { id } = await create(t, engine, 'stubborn', ['sleep', '60']);
  await engine.startContainer(id, { timeoutMs: 20_000 });
  const startedMs = Date.now();
  await engine.stopContainer(id, 1, { timeoutMs: 20_000 });
  t.true(Date.now() - startedMs >= 900, 'docker waited out the 1 s grace');
  const stopped = await engine.inspectContainer(id);
  t.is(stopped!.state, 'exited');
  t.is(stopped!.exitCode, 137);
});

test('a call that outlives its timeout rejects with DockerTimeoutError carrying op and id', async (t) => {
  const engine = newEngine();
  const { id } = await create(t, engine, 'slow', ['sleep', '60']);
  await engine.startContainer(id, { timeoutMs: 20_000 });
  const startedMs = Date.now();
  const error = await t.throwsAsync(engine.stopContainer(id, 3, { timeoutMs: 200 }), { instanceOf: EcsdError });
  t.is(error!.code, 'DockerTimeoutError');
  t.is(error!.errorClass, 'transient');
  t.like(error!.context, { op: 'stop', id, timeoutMs: 200 });
  t.true(Date.now() - startedMs < 1_500, 'the caller was released at the deadline, not after the grace');
});

test('a silent engine times out instead of hanging', async (t) => {
  const file = await listen(
    t,
    () => {
      /* never answer, not even the version negotiation */
    },
    false,
  );
  const engine = createDockerEngine({ dockerHost: `unix://${file}`, logger: silentLogger, defaultTimeoutMs: 150 });
  const error = await t.throwsAsync(engine.inspectContainer('abc'), { instanceOf: EcsdError });
  t.is(error!.code, 'DockerTimeoutError');
  t.like(error!.context, { op: 'inspect', id: 'abc' });
});

test('an unreachable socket is a transient DockerApiError', async (t) => {
  const engine = createDockerEngine({
    dockerHost: `unix://${socketPath('missing')}`,
    logger: silentLogger,
    defaultTimeoutMs: 2_000,
  });
  const error = await t.throwsAsync(engine.ping(), { instanceOf: EcsdError });
  t.is(error!.code, 'DockerApiError');
  t.is(error!.errorClass, 'transient');
  t.is(error!.context['op'], 'ping');
  const createError = await t.throwsAsync(engine.createContainer('x', body('x', ['true']), { timeoutMs: 2_000 }), {
    instanceOf: EcsdError,
  });
  t.is(createError!.code, 'DockerApiError', 'a dead engine is not a terminal create failure');
});

test('a read-only engine refuses every mutation and creates nothing', async (t) => {
  const engine = newEngine({ readOnly: true });
  t.true(engine.readOnly);
  const name = uniqueName('dryrun');
  const refusals: Array<Promise<unknown>> = [
    engine.createContainer(name, body('dryrun', ['true']), { timeoutMs: 5_000 }),
    engine.startContainer('deadbeef', { timeoutMs: 5_000 }),
    engine.stopContainer('deadbeef', 1, { timeoutMs: 5_000 }),
    engine.removeContainer('deadbeef', { removeVolumes: true }),
    engine.createVolume({ name, driver: 'local', driverOpts: {}, labels: {} }),
    engine.removeVolume(name),
  ];
  for (const refusal of refusals) {
    const error = await t.throwsAsync(refusal, { instanceOf: EcsdError });
    t.is(error!.code, 'DryRunMutationError');
  }
  t.is(await engine.inspectContainer(name), undefined, 'nothing was created');
  t.deepEqual(engine.callCounts(), { negotiate: 1, inspect: 1 }, 'refused calls never reached Docker');
  const listed = await engine.listContainers([`ecsd-test.run=${RUN}`]);
  t.is(listed.filter((c) => c.labels[LABEL_CONTAINER_NAME] === 'dryrun').length, 0);
});

test('inspecting missing objects yields undefined', async (t) => {
  const engine = newEngine();
  t.is(await engine.inspectContainer(`ecsd-test-missing-${RUN}`), undefined);
  t.is(await engine.inspectImage(`ecsd-test/missing-${RUN}:latest`), undefined);
  t.is(await engine.inspectVolume(`ecsd-test-missing-${RUN}`), undefined);
  const image = await engine.inspectImage(IMAGE);
  t.regex(image!.id, /^sha256:/);
  t.true(image!.repoTags.includes(IMAGE));
  t.true(image!.sizeBytes > 0);
});

test('a name conflict is a CannotCreateContainerError the caller can adopt from', async (t) => {
  const engine = newEngine();
  const first = await create(t, engine, 'dup', ['true']);
  const error = await t.throwsAsync(engine.createContainer(first.name, body('dup', ['true']), { timeoutMs: 20_000 }), {
    instanceOf: EcsdError,
  });
  t.is(error!.code, 'CannotCreateContainerError');
  t.like(error!.context, { name: first.name, conflict: true, status: 409 });
  t.regex(error!.message, /already in use/);
  const adopted = await engine.inspectContainer(first.name);
  t.is(adopted!.id, first.id, 'inspect by name finds the existing container');
});

test('create and start failures carry Docker’s message and are terminal', async (t) => {
  const engine = newEngine();
  const missing = await t.throwsAsync(
    engine.createContainer(
      uniqueName('noimg'),
      { ...body('noimg', ['true']), Image: `ecsd-test/none-${RUN}` },
      { timeoutMs: 20_000 },
    ),
    { instanceOf: EcsdError },
  );
  t.is(missing!.code, 'CannotCreateContainerError');
  t.is(missing!.errorClass, 'terminal');
  t.is(missing!.context['conflict'], undefined);
  t.regex(missing!.message, /no such image/i);

  const { id } = await create(t, engine, 'badcmd', ['/no/such/binary']);
  const error = await t.throwsAsync(engine.startContainer(id, { timeoutMs: 20_000 }), { instanceOf: EcsdError });
  t.is(error!.code, 'CannotStartContainerError');
  t.is(error!.errorClass, 'terminal');
  t.regex(error!.message, /no such file or directory/);
  t.is(error!.context['id'], id);
});

test('stopping a container that does not exist is ContainerVanishedError', async (t) => {
  const engine = newEngine();
  const error = await t.throwsAsync(engine.stopContainer(`ecsd-test-missing-${RUN}`, 1, { timeoutMs: 5_000 }), {
    instanceOf: EcsdError,
  });
  t.is(error!.code, 'ContainerVanishedError');
});

test('volumes: create, inspect, remove, and remove again', async (t) => {
  const engine = newEngine();
  const name = uniqueName('vol');
  t.teardown(() => engine.removeVolume(name).catch(() => {}));
  await engine.createVolume({ name, driver: 'local', driverOpts: {}, labels: { 'ecsd-test.run': RUN } });
  const volume = await engine.inspectVolume(name);
  t.like(volume, { name, driver: 'local', labels: { 'ecsd-test.run': RUN } });
  t.truthy(volume!.mountpoint);
  await engine.removeVolume(name);
  t.is(await engine.inspectVolume(name), undefined);
  await engine.removeVolume(name);
});

test('info reports versions, cgroups and host size', async (t) => {
  const engine = newEngine();
  const info = await engine.info();
  t.truthy(info.serverVersion);
  t.regex(info.apiVersion, /^1\.\d+$/);
  t.regex(info.minApiVersion, /^1\.\d+$/);
  t.is(
    info.negotiatedApiVersion,
    info.apiVersion,
    "this engine (API 1.41) is below the agent's newest: its own version is used",
  );
  t.is(engine.negotiatedApiVersion(), info.apiVersion);
  t.true(['1', '2'].includes(info.cgroupVersion));
  t.truthy(info.cgroupDriver);
  t.true(info.ncpu >= 1);
  t.true(info.memTotalBytes > 0);
  t.regex(info.dockerRootDir, /^\/.+/);
  // The disk-pressure image cleanup watches this filesystem: it must be readable from the agent's side.
  t.true((await diskUsage(info.dockerRootDir)).totalBytes > 0);
});

test('onCall sees every call with its outcome', async (t) => {
  const calls: Array<[string, boolean]> = [];
  const engine = newEngine({ onCall: (op, ms, ok) => calls.push([op, ok && ms >= 0]) });
  await engine.ping();
  await engine.inspectContainer(`ecsd-test-missing-${RUN}`);
  await t.throwsAsync(engine.startContainer(`ecsd-test-missing-${RUN}`, { timeoutMs: 5_000 }));
  t.deepEqual(calls, [
    ['negotiate', true],
    ['ping', true],
    ['inspect', true],
    ['start', false],
  ]);
  t.deepEqual(engine.callCounts(), { negotiate: 1, ping: 1, inspect: 1, start: 1 });
});

test('the event stream delivers container events with their labels', async (t) => {
  const engine = newEngine();
  const seen: DockerEventHint[] = [];
  const unsubscribe = engine.subscribeEvents({ onEvent: (event) => seen.push(event) });
  t.teardown(unsubscribe);
  await new Promise((resolve) => setTimeout(resolve, 200)); // let the stream connect
  const { id } = await create(t, engine, 'events', ['sleep', '30'], { Init: true });
  await engine.startContainer(id, { timeoutMs: 20_000 });
  const deadline = Date.now() + 5_000;
  while (!seen.some((e) => e.action === 'start' && e.id === id) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const start = seen.find((e) => e.action === 'start' && e.id === id);
  t.truthy(start);
  t.is(start!.type, 'container');
  t.is(start!.labels[LABEL_TASK_ARN], TASK_ARN);
  t.true(Math.abs(start!.timeMs - Date.now()) < 60_000);
  t.truthy(seen.find((e) => e.action === 'create' && e.id === id));
  t.is(engine.callCounts()['events'], 1);

  // kill and stop bracket the die that changes the state: they are not subscribed to.
  await engine.stopContainer(id, 5, { timeoutMs: 20_000 });
  const dieDeadline = Date.now() + 5_000;
  while (!seen.some((e) => e.action === 'die' && e.id === id) && Date.now() < dieDeadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  const actions = seen.filter((e) => e.id === id).map((e) => e.action);
  t.true(actions.includes('die'));
  t.false(actions.includes('kill') || actions.includes('stop'), actions.join(','));
});

test('the event stream survives split chunks and reconnects with since after the stream ends', async (t) => {
  const urls: string[] = [];
  const file = await listen(t, (req, res) => {
    urls.push(req.url ?? '');
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const event = JSON.stringify({
      Type: 'container',
      Action: 'die',
      Actor: { ID: `c${urls.length}`, Attributes: { name: 'ü-name', exitCode: '0' } },
      time: 1_700_000_000 + urls.length,
      timeNano: (1_700_000_000 + urls.length) * 1e9,
    });
    const bytes = Buffer.from(`${event}\n`);
    // Split inside the two-byte 'ü' so the decoder must carry half a character over.
    const cut = bytes.indexOf(Buffer.from('ü')) + 1;
    res.write(bytes.subarray(0, cut));
    setTimeout(() => {
      res.write(bytes.subarray(cut));
      if (urls.length === 1) res.end(); // first stream ends: the subscriber must reconnect
    }, 20);
  });
  const engine = createDockerEngine({ dockerHost: `unix://${file}`, logger: silentLogger, defaultTimeoutMs: 2_000 });
  const events: DockerEventHint[] = [];
  let wake: () => void = () => {};
  const two = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const unsubscribe = engine.subscribeEvents({
    onEvent: (event) => {
      events.push(event);
      if (events.length === 2) wake();
    },
  });
  await two;
  unsubscribe();
  t.deepEqual(
    events.map((e) => [e.type, e.action, e.id, e.labels['name'], e.timeMs]),
    [
      ['container', 'die', 'c1', 'ü-name', 1_700_000_001_000],
      ['container', 'die', 'c2', 'ü-name', 1_700_000_002_000],
    ],
  );
  t.is(urls.length, 2);
  const filters = JSON.parse(new URLSearchParams(urls[0]!.split('?')[1]).get('filters')!);
  t.deepEqual(filters.type, ['container', 'image', 'volume', 'network']);
  t.true(filters.event.includes('die') && filters.event.includes('health_status') && !filters.event.includes('kill'));
  t.true(
    filters.event.includes('create') && filters.event.includes('destroy'),
    'network create/destroy for the informer',
  );
  t.false(filters.event.includes('connect'), 'not connect/disconnect: one per container start, nothing cached changes');
  t.regex(urls[0]!, /^\/v1\.41\/events\?/, 'the stream is versioned too');
  t.notRegex(urls[0]!, /since=/);
  t.regex(urls[1]!, /since=1700000001/, 'the reconnect asks for what it missed');
  t.is(engine.callCounts()['events'], 2);
});

test('a pull from a registry that is not there fails fast with the engine’s reason', async (t) => {
  // No registry runs on this machine, so only the failure path of a real pull can be tested here; the
  // progress path is tested against a fake engine (test/docker-client-streams.test.ts).
  const engine = newEngine();
  const seen: string[] = [];
  const error = await t.throwsAsync(
    engine.pullImage(
      '127.0.0.1:1/ecsd-test/none:latest',
      { onProgress: (p) => seen.push(p.status) },
      { timeoutMs: 20_000 },
    ),
    { instanceOf: EcsdError },
  );
  t.is(error!.code, 'CannotPullContainerError');
  t.regex(error!.message, /127\.0\.0\.1:1/);
  t.regex(error!.message, /connection refused/);
  t.like(error!.context, { op: 'pull', image: '127.0.0.1:1/ecsd-test/none:latest' });
  t.is(engine.callCounts()['pull'], 1);
});

test('a read-only engine refuses pulls, image removal and exec', async (t) => {
  const engine = newEngine({ readOnly: true });
  for (const refusal of [
    engine.pullImage(IMAGE, {}, {}),
    engine.removeImage(IMAGE),
    engine.exec('deadbeef', { cmd: ['true'] }),
  ]) {
    const error = await t.throwsAsync(refusal, { instanceOf: EcsdError });
    t.is(error!.code, 'DryRunMutationError');
  }
  t.deepEqual(engine.callCounts(), {});
});

test('exec runs a command over the upgraded connection and returns its exit code and output', async (t) => {
  const engine = newEngine();
  const { id } = await create(t, engine, 'exec', ['sleep', '30'], { Init: true });
  await engine.startContainer(id, { timeoutMs: 20_000 });
  const result = await engine.exec(id, { cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'] }, { timeoutMs: 20_000 });
  t.is(result.exitCode, 3);
  t.regex(result.output, /out/);
  t.regex(result.output, /err/);
  const ok = await engine.exec(id, { cmd: ['cat', '/etc/hostname'] }, { timeoutMs: 20_000 });
  t.is(ok.exitCode, 0);
  t.is(ok.output.trim(), id.slice(0, 12));
});

test('an exec aborted while its command runs rejects at once', async (t) => {
  const engine = newEngine();
  const { id } = await create(t, engine, 'execabort', ['sleep', '30'], { Init: true });
  await engine.startContainer(id, { timeoutMs: 20_000 });
  const controller = new AbortController();
  const pending = engine.exec(id, { cmd: ['sleep', '20'] }, { signal: controller.signal, timeoutMs: 60_000 });
  setTimeout(() => controller.abort(new Error('shutdown')), 300);
  const error = await t.throwsAsync(pending, { instanceOf: EcsdError });
  t.like(error!.context, { op: 'exec', aborted: true });
});

test('one-shot stats of a running container, undefined for a missing one', async (t) => {
  const engine = newEngine();
  const { id } = await create(t, engine, 'stats', ['sleep', '30'], { Init: true });
  await engine.startContainer(id, { timeoutMs: 20_000 });
  const sample = await engine.containerStats(id, { timeoutMs: 20_000 });
  t.truthy(sample);
  t.truthy(sample!.read);
  t.is(typeof (sample!.memory_stats as { usage?: unknown }).usage, 'number');
  t.truthy(sample!.cpu_stats);
  t.is(await engine.containerStats(`ecsd-test-missing-${RUN}`), undefined);
});

test('removeImage removes a tag, and an image already gone is done', async (t) => {
  const engine = newEngine();
  const tag = `ecsd-test/rmi-${RUN}`;
  // A second tag of the test image (nothing else to pull here): removing it untags only.
  const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
  await docker.getImage(IMAGE).tag({ repo: tag, tag: 'latest' });
  t.teardown(() =>
    docker
      .getImage(`${tag}:latest`)
      .remove()
      .catch(() => {}),
  );
  t.truthy(await engine.inspectImage(`${tag}:latest`));
  await engine.removeImage(`${tag}:latest`);
  t.is(await engine.inspectImage(`${tag}:latest`), undefined);
  t.truthy(await engine.inspectImage(IMAGE), 'the original tag is untouched');
  await engine.removeImage(`${tag}:latest`); // 404: already gone
});

test('network events reach subscribers', async (t) => {
  const engine = newEngine();
  const seen: DockerEventHint[] = [];
  let connected = false;
  const unsubscribe = engine.subscribeEvents({
    onEvent: (event) => seen.push(event),
    onConnected: () => {
      connected = true;
    },
  });
  t.teardown(unsubscribe);
  await waitFor('the event stream to connect', () => connected);
  const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
  const network = await docker.createNetwork({ Name: uniqueName('net'), Labels: { 'ecsd-test.run': RUN } });
  await network.remove();
  const created = await waitFor('the network create event', () =>
    seen.find((e) => e.type === 'network' && e.action === 'create' && e.id === network.id),
  );
  t.truthy(created);
  await waitFor('the network destroy event', () =>
    seen.find((e) => e.type === 'network' && e.action === 'destroy' && e.id === network.id),
  );
});
