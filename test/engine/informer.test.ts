/**
 * The informer against the real engine. Each test gets its own run label and filters on it (plus the ECS
 * task-ARN label), so concurrent tests and leftovers from earlier runs stay invisible to the container and
 * volume caches. Where a test must rule events out (relist-only behaviour) or inject them (coalescing), it
 * wraps the real engine and replaces only `subscribeEvents`; every list and inspect still goes to Docker.
 * Images and networks are cached whole, so those tests look only for the objects they made.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import {
  createDockerEngine,
  createInformer,
  type DockerEngine,
  type DockerEventHint,
  type Informer,
  type InformerChange,
  type InformerOptions,
  LABEL_CONTAINER_NAME,
  LABEL_TASK_ARN,
} from '../../src/docker/index.js';
import { silentLogger } from '../../src/logging/types.js';
import { waitFor } from '../helpers/wait-for.js';

const IMAGE = 'ecsd-test/busybox:latest';

interface Fixture {
  engine: DockerEngine;
  run: string;
  taskArn: string;
  labelFilter: string[];
}

function fixture(): Fixture {
  const run = randomUUID().slice(0, 8);
  return {
    engine: createDockerEngine({ dockerHost: 'unix:///var/run/docker.sock', logger: silentLogger }),
    run,
    taskArn: `arn:aws:ecs:us-west-2:123456789012:task/ecsd-test/${run}`,
    labelFilter: [LABEL_TASK_ARN, `ecsd-test.run=${run}`],
  };
}

async function createContainer(
  t: ExecutionContext,
  f: Fixture,
  containerName: string,
  options: { start?: boolean; cmd?: string[] } = {},
): Promise<string> {
  const id = await f.engine.createContainer(
    `ecsd-test-informer-${f.run}-${containerName}`,
    {
      Image: IMAGE,
      Cmd: options.cmd ?? ['sleep', '60'],
      Labels: { 'ecsd-test.run': f.run, [LABEL_TASK_ARN]: f.taskArn, [LABEL_CONTAINER_NAME]: containerName },
      HostConfig: { Init: true },
    },
    { timeoutMs: 20_000 },
  );
  t.teardown(() => f.engine.removeContainer(id, { removeVolumes: true, force: true }).catch(() => {}));
  if (options.start !== false) await f.engine.startContainer(id, { timeoutMs: 20_000 });
  return id;
}

function startInformer(
  t: ExecutionContext,
  f: Fixture,
  engine: DockerEngine = f.engine,
  extra: Partial<InformerOptions> = {},
): Informer {
  const informer = createInformer({
    engine,
    labelFilter: f.labelFilter,
    resyncIntervalMs: 60_000,
    logger: silentLogger,
    ...extra,
  });
  t.teardown(() => informer.stop());
  return informer;
}

/** The real engine with the event stream replaced; `emit` injects hints. */
function withoutEvents(engine: DockerEngine): {
  engine: DockerEngine;
  emit: (event: DockerEventHint) => void;
  subscriptions: () => number;
} {
  let handler: ((event: DockerEventHint) => void) | undefined;
  let subscriptions = 0;
  const wrapped: DockerEngine = Object.create(engine);
  wrapped.subscribeEvents = (handlers) => {
    subscriptions += 1;
    handler = (event) => handlers.onEvent(event);
    return () => {
      handler = undefined;
    };
  };
  return { engine: wrapped, emit: (event) => handler?.(event), subscriptions: () => subscriptions };
}

const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));

test('start() lists every kind once and inspects the labelled containers that already exist', async (t) => {
  const f = fixture();
  const running = await createContainer(t, f, 'app');
  const created = await createContainer(t, f, 'sidecar', { start: false });
  // Without the event stream: another test's network or volume elsewhere on the shared engine would add a
  // list of its own, which is not what this start-up count is about.
  const { engine, subscriptions } = withoutEvents(f.engine);
  const informer = startInformer(t, f, engine);
  t.false(informer.synced());
  await informer.start();
  t.true(informer.synced());
  const view = informer.containers;
  t.is(view.all().length, 2);
  t.is(view.get(running)!.state, 'running');
  t.is(view.get(created)!.state, 'created');
  t.deepEqual(
    view
      .byTask(f.taskArn)
      .map((c) => c.containerName)
      .sort(),
    ['app', 'sidecar'],
  );
  t.deepEqual(view.byTask('arn:aws:ecs:us-west-2:123456789012:task/ecsd-test/other'), []);
  const counts = f.engine.callCounts();
  t.deepEqual(
    ['list', 'listImages', 'listVolumes', 'listNetworks'].map((op) => counts[op]),
    [1, 1, 1, 1],
  );
  t.is(subscriptions(), 1, 'one event subscription');
  t.is(counts['inspect'], 2);
});

test('a container started after start() appears through events, without a relist', async (t) => {
  const f = fixture();
  const informer = startInformer(t, f);
  await informer.start();
  t.deepEqual(informer.containers.all(), []);
  const changes: InformerChange[] = [];
  informer.subscribe('container', (change) => changes.push(change));
  const id = await createContainer(t, f, 'late');
  await waitFor('the late container running in the cache', () => informer.containers.get(id)?.running);
  t.is(informer.containers.get(id)!.containerName, 'late');
  t.true(changes.length > 0 && changes.every((c) => c.taskArn === f.taskArn && c.id === id));
  t.deepEqual(changes[0]?.imageRefs, [IMAGE]);
  t.is(f.engine.callCounts()['list'], 1, 'only the initial list: events did the work');
});

test('a container removed behind the informer’s back disappears', async (t) => {
  const f = fixture();
  const id = await createContainer(t, f, 'doomed', { start: false });
  const informer = startInformer(t, f);
  await informer.start();
  t.truthy(informer.containers.get(id));
  await f.engine.removeContainer(id, { removeVolumes: true, force: true });
  await waitFor('the removed container gone from the cache', () => informer.containers.get(id) === undefined);
  t.deepEqual(informer.containers.byTask(f.taskArn), []);
});

test('relist alone picks up new containers, drops vanished ones, and re-inspects only what changed', async (t) => {
  const f = fixture();
  const { engine } = withoutEvents(f.engine);
  const stays = await createContainer(t, f, 'stays');
  const leaves = await createContainer(t, f, 'leaves', { start: false });
  const informer = startInformer(t, f, engine);
  await informer.start();
  const view = informer.containers;
  t.is(view.all().length, 2);

  const arrives = await createContainer(t, f, 'arrives', { start: false });
  await f.engine.removeContainer(leaves, { removeVolumes: true, force: true });
  const before = f.engine.callCounts();
  await view.relist();
  const after = f.engine.callCounts();
  t.truthy(view.get(arrives));
  t.is(view.get(leaves), undefined);
  t.is(view.get(stays)!.state, 'running');
  t.is(after['list']! - before['list']!, 1, 'one list call per relist');
  t.is(after['inspect']! - before['inspect']!, 1, 'only the new container was inspected');

  await f.engine.stopContainer(stays, 5, { timeoutMs: 20_000 });
  const beforeSecond = f.engine.callCounts();
  await view.relist();
  const afterSecond = f.engine.callCounts();
  t.is(view.get(stays)!.state, 'exited', 'a changed list State triggers an inspect');
  t.is(view.get(stays)!.exitCode, 143);
  t.is(afterSecond['list']! - beforeSecond['list']!, 1);
  t.is(afterSecond['inspect']! - beforeSecond['inspect']!, 1);
});

// How often the resync fires is pinned with a fake clock in test/informer.test.ts; on this shared machine
// timers run late, so this test counts calls per pass rather than passes per second.
test('idle cost: each periodic resync makes one list call per kind and no inspects', async (t) => {
  const f = fixture();
  await createContainer(t, f, 'idle', { start: false });
  const relists: number[] = [];
  // Other tests share the engine: their events (a network or volume created elsewhere) are not this
  // informer's idle cost, so the stream is cut off and only the periodic passes are counted.
  const { engine } = withoutEvents(f.engine);
  // Stopped from inside the fourth pass's report, so no further pass can start before the counts are read.
  const informer: Informer = startInformer(t, f, engine, {
    resyncIntervalMs: 100,
    onRelist: (ms) => {
      relists.push(ms);
      if (relists.length === 4) informer.stop();
    },
  });
  await informer.start();
  const before = f.engine.callCounts();
  await waitFor('three periodic relists', () => relists.length >= 4, { timeoutMs: 30_000 });
  const after = f.engine.callCounts();
  const passes = relists.length - 1;
  for (const op of ['list', 'listImages', 'listVolumes', 'listNetworks']) {
    t.is(after[op]! - before[op]!, passes, `${op}: one per pass`);
  }
  t.is(after['inspect'], before['inspect'], 'nothing changed, so nothing was inspected');
  t.true(relists.every((ms) => ms >= 0));
  await settle(300);
  t.is(f.engine.callCounts()['list'], after['list'], 'stop() cancelled the resync timer');
});

test('a burst of events for one container costs one inspect, and no-change refreshes notify nobody', async (t) => {
  const f = fixture();
  const { engine, emit } = withoutEvents(f.engine);
  const id = await createContainer(t, f, 'bursty');
  const informer = startInformer(t, f, engine);
  await informer.start();
  const view = informer.containers;
  let notifications = 0;
  view.onChange(() => notifications++);

  const before = f.engine.callCounts()['inspect']!;
  const labels = { [LABEL_TASK_ARN]: f.taskArn, 'ecsd-test.run': f.run };
  for (const action of ['kill', 'die', 'stop', 'die', 'kill']) {
    emit({ type: 'container', action, id, labels, timeMs: Date.now() });
  }
  await settle();
  t.is(f.engine.callCounts()['inspect']! - before, 1, 'five hints within the window, one inspect');
  t.is(notifications, 0, 'the container did not actually change');

  emit({ type: 'container', action: 'start', id: 'not-ours', labels: { other: 'x' }, timeMs: Date.now() });
  await settle(50);
  t.is(f.engine.callCounts()['inspect']! - before, 1, 'events for unlabelled containers are ignored');

  await view.refresh(id);
  t.is(notifications, 0);
  await f.engine.stopContainer(id, 5, { timeoutMs: 20_000 });
  const refreshed = await view.refresh(id);
  t.is(refreshed!.state, 'exited');
  t.is(notifications, 1, 'a real change notifies once');
});

// Changed on purpose from the container view's test: an event stamped before the last inspect was sent used
// to be dropped by comparing the daemon's clock with the agent's; now only arrival order counts.
test('events during the agent’s own mutation cost nothing; a later event costs one inspect whatever its timestamp', async (t) => {
  const f = fixture();
  const { engine, emit } = withoutEvents(f.engine);
  const id = await createContainer(t, f, 'covered', { start: false });
  const informer = startInformer(t, f, engine);
  await informer.start();
  const view = informer.containers;
  const labels = { [LABEL_TASK_ARN]: f.taskArn, 'ecsd-test.run': f.run };
  const inspects = (): number => f.engine.callCounts()['inspect']!;

  const before = inspects();
  // The start event arrives while the start call is in flight: the mutation's own inspect covers it.
  await view.withMutation(id, async () => {
    emit({ type: 'container', action: 'start', id, labels, timeMs: Date.now() });
    await f.engine.startContainer(id, { timeoutMs: 20_000 });
  });
  await settle();
  t.is(inspects() - before, 1, 'only the inspect after the mutation');
  t.is(view.get(id)?.state, 'running');

  // Something the agent did not do (docker stop from a shell), reported by a daemon whose clock is an hour
  // behind: still looked at.
  await f.engine.stopContainer(id, 5, { timeoutMs: 20_000 });
  emit({ type: 'container', action: 'die', id, labels, timeMs: Date.now() - 3_600_000 });
  await settle();
  t.is(inspects() - before, 2);
  t.is(view.get(id)?.state, 'exited');
});

test('images are listed whole and found by ID and by reference; a new tag shows up through its event', async (t) => {
  const f = fixture();
  // Only this image's inspects count: other tests on the shared engine pull and tag images meanwhile, and the
  // informer rightly inspects those from their events.
  const inspected: string[] = [];
  const engine: DockerEngine = {
    ...f.engine,
    inspectImage: (ref, options) => {
      inspected.push(ref);
      return f.engine.inspectImage(ref, options);
    },
  };
  const informer = startInformer(t, f, engine);
  await informer.start();
  const id = execFileSync('docker', ['image', 'inspect', IMAGE, '--format', '{{.Id}}']).toString().trim();
  const refs = [IMAGE, 'ecsd-test/busybox', 'docker.io/ecsd-test/busybox:latest', id];
  for (const ref of refs) {
    t.is(informer.images.get(ref)?.id, id, ref);
  }
  t.deepEqual(
    inspected.filter((ref) => refs.includes(ref)),
    [],
    'the list carries everything',
  );

  const tag = `ecsd-test/informer-${f.run}:tagged`;
  const changes: InformerChange[] = [];
  informer.subscribe('image', (change) => changes.push(change));
  execFileSync('docker', ['tag', IMAGE, tag]);
  // Removes only this test's tag: the image keeps ecsd-test/busybox:latest.
  t.teardown(() => {
    try {
      execFileSync('docker', ['rmi', tag], { stdio: 'ignore' });
    } catch {
      // Already removed by the test itself.
    }
  });
  await waitFor('the new tag in the image index', () => informer.images.get(tag));
  t.is(informer.images.get(tag)?.id, id);
  t.true(changes.some((c) => c.id === id && c.imageRefs?.includes(tag)));
  execFileSync('docker', ['rmi', tag], { stdio: 'ignore' });
  await waitFor('the removed tag gone from the image index', () => informer.images.get(tag) === undefined);
  t.is(informer.images.get(IMAGE)?.id, id, 'the image itself stays');
});

test('a labelled volume created after start shows up through its event; one removed goes', async (t) => {
  const f = fixture();
  const informer = startInformer(t, f);
  await informer.start();
  const name = `ecsd-test-informer-${f.run}`;
  await f.engine.createVolume({
    name,
    driver: 'local',
    driverOpts: {},
    labels: { [LABEL_TASK_ARN]: f.taskArn, 'ecsd-test.run': f.run },
  });
  t.teardown(() => f.engine.removeVolume(name).catch(() => {}));
  await waitFor('the new volume in the cache', () => informer.volumes.get(name));
  t.is(informer.volumes.get(name)?.labels['ecsd-test.run'], f.run);
  t.is(f.engine.callCounts()['listVolumes'], 1, 'no relist: the event did it');
  await f.engine.removeVolume(name);
  await waitFor('the removed volume gone from the cache', () => informer.volumes.get(name) === undefined);
});

// The engine subscribes to network create/destroy/connect/disconnect events, so a new network needs no relist.
test('a network created after start shows up through its event', async (t) => {
  const f = fixture();
  const informer = startInformer(t, f);
  await informer.start();
  const name = `ecsd-test-informer-${f.run}`;
  const id = execFileSync('docker', ['network', 'create', '--label', `ecsd-test.run=${f.run}`, name])
    .toString()
    .trim();
  t.teardown(() => {
    execFileSync('docker', ['network', 'rm', id], { stdio: 'ignore' });
  });
  await waitFor('the new network in the cache', () => informer.networks.get(name), { timeoutMs: 5_000 });
  t.is(informer.networks.get(id)?.name, name);
  t.is(informer.networks.get(name)?.labels['ecsd-test.run'], f.run);
});
