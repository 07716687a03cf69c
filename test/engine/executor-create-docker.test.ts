/**
 * The containers executor's create against the real engine: a container's Docker name is derived, so a
 * create that meets a container of that name — one an earlier agent process created just before it died,
 * which no store row and no view list mentions yet — adopts it instead of creating a second (fact sheet
 * 4.10). Containers carry `ecsd-test.run=<run>` and are force-removed in teardown. Needs the engine and
 * ecsd-test/busybox:latest (scripts/ensure-docker.sh).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import test from 'ava';
import { buildCreateBody, dockerContainerName, stableNameSuffix } from '../../reconcilers/containers/create-body.js';
import { ContainersExecutor } from '../../reconcilers/containers/executor.js';
import { systemClock } from '../../src/clock.js';
import { createContainerView } from '../../src/docker/container-view.js';
import { createDockerEngine } from '../../src/docker/index.js';
import { LABEL_TASK_ARN } from '../../src/docker/types.js';
import { HostPortAllocator } from '../../src/host/ports.js';
import { createCgroupV1Manager } from '../../src/host/task-cgroup.js';
import { silentLogger } from '../../src/logging/types.js';
import { openStore } from '../../src/store/index.js';
import { TEST_IMAGE } from '../helpers/agent-process.js';
import { containerSpec, taskSpecWith } from '../helpers/specs.js';

const RUN = randomUUID().slice(0, 8);
const CLUSTER = 'ecsd-test';

test('stableNameSuffix: 20 hex characters, fixed for a container, different for another task, insert or name', (t) => {
  const task = { arn: 'arn:aws:ecs:local:0:task/c/1', createdAtMs: 1_000 };
  const suffix = stableNameSuffix(task, 'app');
  t.regex(suffix, /^[0-9a-f]{20}$/);
  t.is(stableNameSuffix({ ...task }, 'app'), suffix);
  t.not(stableNameSuffix({ ...task, arn: 'arn:aws:ecs:local:0:task/c/2' }, 'app'), suffix);
  t.not(stableNameSuffix({ ...task, createdAtMs: 1_001 }, 'app'), suffix, 'a re-inserted ARN gets new names');
  t.not(stableNameSuffix(task, 'side'), suffix);
});

test('a create that meets its own derived name in Docker adopts that container, never a second one', async (t) => {
  const engine = createDockerEngine({
    dockerHost: 'unix:///var/run/docker.sock',
    logger: silentLogger,
    defaultTimeoutMs: 20_000,
  });
  const { store } = openStore({ dataDir: '/nonexistent', checkpoint: false, logger: silentLogger });
  t.teardown(() => store.close());
  const arn = `arn:aws:ecs:local:000000000000:task/${CLUSTER}/${randomBytes(16).toString('hex')}`;
  const spec = taskSpecWith(arn, [
    containerSpec('app', {
      image: TEST_IMAGE,
      command: ['sleep', '3600'],
      dockerConfig: { config: JSON.stringify({ Labels: { 'ecsd-test.run': RUN } }) },
    }),
  ]);
  store.putDesiredTask(spec);
  const task = store.getTask(arn)!;
  const name = dockerContainerName(spec, 'app', stableNameSuffix(task, 'app'));
  t.teardown(() => {
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=ecsd-test.run=${RUN}`])
      .toString()
      .trim();
    if (ids) execFileSync('docker', ['rm', '-f', ...ids.split('\n')]);
  });

  // What an agent killed mid-create leaves behind: the container exists, nothing recorded its name or ID.
  const earlierId = await engine.createContainer(
    name,
    buildCreateBody({
      task: spec,
      container: spec.containers[0]!,
      cluster: CLUSTER,
      hostPorts: new Map(),
      volumeNames: new Map(),
      dockerIdsByName: new Map(),
    }),
    { timeoutMs: 20_000 },
  );
  t.is(store.listContainers(arn)[0]?.dockerName, undefined);

  const view = createContainerView({
    engine,
    labelFilter: [LABEL_TASK_ARN],
    resyncIntervalMs: 60_000,
    logger: silentLogger,
  });
  await view.start();
  t.teardown(() => view.stop());
  const executor = new ContainersExecutor({
    engine,
    view,
    store,
    cgroups: createCgroupV1Manager({ cgroupRoot: '/nonexistent', cpuPeriodMs: 100 }),
    ports: new HostPortAllocator({
      range: { startPort: 49_153, endPort: 65_535 },
      reserved: new Set(),
      isFree: () => true,
    }),
    logger: silentLogger,
    clock: systemClock,
    cluster: CLUSTER,
    createTimeoutMs: 20_000,
    startTimeoutMs: 20_000,
    stopClientSlackMs: 1_000,
  });

  await executor.apply(arn, { kind: 'create', container: 'app', reason: 'test' }, task);

  const ids = execFileSync('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=ecsd-test.run=${RUN}`])
    .toString()
    .trim()
    .split('\n');
  t.deepEqual(ids, [earlierId], 'exactly the container the earlier create made');
  t.is(view.byTask(arn)[0]?.id, earlierId, 'and the view knows it, so the next plan sees it CREATED');
});
