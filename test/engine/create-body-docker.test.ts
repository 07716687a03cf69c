/**
 * The shipped examples (examples/tasks) through the whole local path — parse, validate, convert to a
 * TaskSpec, build the create body with its dockerConfig overlay — into the real engine: Docker accepts
 * every body, the containers run, and the overlay fields (user, ulimits, log config, init, health check)
 * land in Docker as the ECS backend would have put them. Containers and volumes carry
 * `ecsd-test.run=<run>` and are force-removed in teardown. Needs the engine and ecsd-test/busybox:latest
 * (scripts/ensure-docker.sh).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ensureBindMountSources } from '../../reconcilers/containers/bind-sources.js';
import { bindMountSources, buildCreateBody, dockerContainerName } from '../../reconcilers/containers/create-body.js';
import { createDockerEngine, type DockerEngine } from '../../src/docker/index.js';
import { silentLogger } from '../../src/logging/types.js';
import type { TaskSpec } from '../../src/model/task.js';
import { parseTaskDefinitionFile, taskDefinitionToTaskSpec } from '../../src/sources/local/index.js';
import { containerSpec, taskSpecWith } from '../helpers/specs.js';
import { waitFor, waitForContainerState } from '../helpers/wait-for.js';

const RUN = randomUUID().slice(0, 8);
const EXAMPLES_DIR = join(process.cwd(), 'examples', 'tasks');
const CLUSTER = 'ecsd-test';

const engine: DockerEngine = createDockerEngine({
  dockerHost: 'unix:///var/run/docker.sock',
  logger: silentLogger,
  defaultTimeoutMs: 20_000,
});

function exampleTask(file: string): TaskSpec {
  const def = parseTaskDefinitionFile(file, readFileSync(join(EXAMPLES_DIR, file), 'utf8'));
  const id = randomBytes(16).toString('hex');
  return taskDefinitionToTaskSpec(def, { arn: `arn:aws:ecs:local:000000000000:task/${CLUSTER}/${id}`, version: '1' });
}

/** Creates each task-scoped volume the way the volumes feature names them (fact sheet 3.6). */
async function createTaskVolumes(t: ExecutionContext, spec: TaskSpec): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const volume of spec.volumes) {
    if (volume.type !== 'host' || volume.sourcePath) continue;
    const name = `ecs-${spec.family}-${spec.version}-${volume.name}-${randomBytes(10).toString('hex')}`;
    await engine.createVolume({ name, driver: 'local', driverOpts: {}, labels: { 'ecsd-test.run': RUN } });
    t.teardown(() => engine.removeVolume(name).catch(() => {}));
    names.set(volume.name, name);
  }
  return names;
}

async function createAndStart(
  t: ExecutionContext,
  spec: TaskSpec,
  containerName: string,
  volumeNames: Map<string, string>,
  dockerIds: Map<string, string>,
): Promise<string> {
  const container = spec.containers.find((c) => c.name === containerName)!;
  const body = buildCreateBody({
    task: spec,
    container,
    cluster: CLUSTER,
    hostPorts: new Map(),
    volumeNames,
    dockerIdsByName: dockerIds,
  });
  body.Labels = { ...body.Labels, 'ecsd-test.run': RUN };
  const name = dockerContainerName(spec, containerName, randomBytes(10).toString('hex'));
  const id = await engine.createContainer(name, body, { timeoutMs: 60_000 });
  t.teardown(() => engine.removeContainer(id, { removeVolumes: true, force: true }).catch(() => {}));
  dockerIds.set(containerName, id);
  await engine.startContainer(id, { timeoutMs: 60_000 });
  return id;
}

function dockerInspect(id: string, format: string): string {
  return execFileSync('docker', ['inspect', '--format', format, id], { encoding: 'utf8' }).trim();
}

test.before(async () => {
  await engine.ping({ timeoutMs: 5_000 });
});

test('web.json: httpd runs, answers on its dynamic host port and turns healthy', async (t) => {
  const spec = exampleTask('web.json');
  const id = await createAndStart(t, spec, 'httpd', new Map(), new Map());
  const running = await waitForContainerState(engine, id, (c) => c.running && c.portBindings.length > 0, {
    timeoutMs: 20_000,
    intervalMs: 100,
  });
  t.is(running.labels['com.amazonaws.ecs.task-arn'], spec.arn);
  t.is(running.labels['com.amazonaws.ecs.container-name'], 'httpd');
  t.is(running.labels['example'], 'web', 'dockerLabels arrive through the config overlay');
  const binding = running.portBindings.find((b) => b.containerPort === 8080)!;
  t.truthy(binding, 'port 8080 is published');
  const response = await fetch(`http://127.0.0.1:${binding.hostPort}/`);
  t.is(response.status, 200);
  t.regex(await response.text(), /ecsd test image/);
  t.is(dockerInspect(id, '{{.HostConfig.Init}} {{.HostConfig.MemoryReservation}}'), `true ${32 * 1024 * 1024}`);
  const healthy = await waitForContainerState(engine, id, (c) => c.health === 'healthy', {
    timeoutMs: 30_000,
    intervalMs: 100,
  });
  t.is(healthy.health, 'healthy');
});

test('worker.json: user, working dir, env, ulimits and log options reach Docker', async (t) => {
  const spec = exampleTask('worker.json');
  const id = await createAndStart(t, spec, 'worker', new Map(), new Map());
  await waitForContainerState(engine, id, (c) => c.running, { timeoutMs: 20_000, intervalMs: 100 });
  t.is(dockerInspect(id, '{{.Config.User}} {{.Config.WorkingDir}}'), 'nobody /tmp');
  t.deepEqual(JSON.parse(dockerInspect(id, '{{json .HostConfig.Ulimits}}')), [
    { Name: 'nofile', Hard: 4096, Soft: 1024 },
  ]);
  t.deepEqual(JSON.parse(dockerInspect(id, '{{json .HostConfig.LogConfig}}')), {
    Type: 'json-file',
    Config: { 'max-file': '2', 'max-size': '1m' },
  });
  const deadline = Date.now() + 10_000;
  let logs = '';
  while (!/hello from ecsd \(uid 65534, cwd \/tmp\)/.test(logs) && Date.now() < deadline) {
    logs = execFileSync('docker', ['logs', id], { encoding: 'utf8' });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.regex(logs, /hello from ecsd \(uid 65534, cwd \/tmp\)/);
});

test('pipeline.json: the producer writes the shared volume and exits 0, then the consumer reads it', async (t) => {
  const spec = exampleTask('pipeline.json');
  const volumeNames = await createTaskVolumes(t, spec);
  const dockerIds = new Map<string, string>();
  const producer = await createAndStart(t, spec, 'producer', volumeNames, dockerIds);
  const exited = await waitForContainerState(engine, producer, (c) => c.state === 'exited', {
    timeoutMs: 20_000,
    intervalMs: 100,
  });
  t.is(exited.exitCode, 0, 'SUCCESS condition of the consumer is met');
  const consumer = await createAndStart(t, spec, 'consumer', volumeNames, dockerIds);
  await waitForContainerState(engine, consumer, (c) => c.running, { timeoutMs: 20_000, intervalMs: 100 });
  const deadline = Date.now() + 10_000;
  let logs = '';
  while (!logs.includes('written by producer') && Date.now() < deadline) {
    logs = execFileSync('docker', ['logs', consumer], { encoding: 'utf8' });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.true(logs.includes('written by producer'), logs);
  t.is(dockerInspect(consumer, '{{json .HostConfig.Binds}}'), 'null', 'no source:target:options strings');
  const [mount] = JSON.parse(dockerInspect(consumer, '{{json .HostConfig.Mounts}}')) as Array<Record<string, unknown>>;
  t.is(mount?.['Type'], 'volume');
  t.regex(String(mount?.['Source']), /^ecs-pipeline-1-shared-[0-9a-f]{20}$/);
  t.is(mount?.['Target'], '/data');
  t.is(mount?.['ReadOnly'], true);
});

test('a bind mount of a missing host dir and a named volume run through HostConfig.Mounts; a ":z" path stays a path', async (t) => {
  const hostDir = mkdtempSync(join(tmpdir(), 'ecsd-mounts-'));
  t.teardown(() => rmSync(hostDir, { recursive: true, force: true }));
  const missing = join(hostDir, 'not', 'yet');
  const volume = `ecsd-test-mounts-${RUN}`;
  await engine.createVolume({ name: volume, driver: 'local', driverOpts: {}, labels: { 'ecsd-test.run': RUN } });
  t.teardown(() => engine.removeVolume(volume).catch(() => {}));
  const app = containerSpec('app', {
    image: 'ecsd-test/busybox:latest',
    command: [
      'sh',
      '-c',
      'echo from-container > /host/out && cat /conf/hello && echo kept > /vol/file && cat /vol/file && ' +
        "echo relabel-free > '/data:z/x' && ls -d '/data:z' && (touch /conf/nope 2>/dev/null || echo conf-is-ro) && " +
        'exec sleep 2147483647',
    ],
    mountPoints: [
      { sourceVolume: 'out', containerPath: '/host', readOnly: false },
      { sourceVolume: 'conf', containerPath: '/conf', readOnly: true },
      { sourceVolume: 'data', containerPath: '/vol', readOnly: false },
      { sourceVolume: 'out', containerPath: '/data:z', readOnly: false },
    ],
  });
  mkdirSync(join(hostDir, 'conf'));
  writeFileSync(join(hostDir, 'conf', 'hello'), 'hello from the host\n');
  const spec = taskSpecWith(
    `arn:aws:ecs:local:000000000000:task/${CLUSTER}/${randomBytes(16).toString('hex')}`,
    [app],
    {
      family: 'mounts',
      version: '1',
      volumes: [
        { name: 'out', type: 'host', sourcePath: missing },
        { name: 'conf', type: 'host', sourcePath: join(hostDir, 'conf') },
        { name: 'data', type: 'host' },
      ],
    },
  );
  // What the executor does before the create: Docker would refuse the missing source of a Mounts bind.
  t.deepEqual(ensureBindMountSources(bindMountSources(spec, app)), [missing]);
  const id = await createAndStart(t, spec, 'app', new Map([['data', volume]]), new Map());
  await waitForContainerState(engine, id, (c) => c.running, { timeoutMs: 20_000, intervalMs: 100 });
  let logs = '';
  await waitFor(
    'the container to report its mounts',
    () => {
      logs = execFileSync('docker', ['logs', id], { encoding: 'utf8' });
      return logs.includes('conf-is-ro') ? logs : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 100 },
  );
  t.regex(logs, /hello from the host/);
  t.regex(logs, /kept/);
  t.regex(logs, /\/data:z/);
  t.is(readFileSync(join(missing, 'out'), 'utf8'), 'from-container\n', 'the created host dir is the one mounted');
  t.is(readFileSync(join(missing, 'x'), 'utf8'), 'relabel-free\n', '"/data:z" is a mount target, literally');
  t.is(dockerInspect(id, '{{json .HostConfig.Binds}}'), 'null');
  const mounts = JSON.parse(dockerInspect(id, '{{json .Mounts}}')) as Array<Record<string, unknown>>;
  const target = mounts.find((m) => m['Destination'] === '/data:z');
  t.truthy(target, 'mounted at the literal path');
  t.is(target?.['Mode'], '', 'no relabelling or other option reached Docker');
  t.is(target?.['Propagation'], 'rprivate');
  t.deepEqual(mounts.map((m) => m['Destination']).sort(), ['/conf', '/data:z', '/host', '/vol']);
});
