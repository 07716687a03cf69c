/**
 * The container view against the real engine. Each test gets its own run label and filters on it (plus the
 * ECS task-ARN label), so concurrent tests and leftovers from earlier runs stay invisible to it. Where a
 * test must rule events out (relist-only behaviour) or inject them (coalescing), it wraps the real engine
 * and replaces only `subscribeEvents`; every list and inspect still goes to Docker.
 */
import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import {
  type ContainerView,
  createContainerView,
  createDockerEngine,
  type DockerEngine,
  type DockerEventHint,
  LABEL_CONTAINER_NAME,
  LABEL_TASK_ARN,
} from '../../src/docker/index.js';
import { silentLogger } from '../../src/logging/types.js';

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
    `ecsd-test-view-${f.run}-${containerName}`,
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

function startView(
  t: ExecutionContext,
  f: Fixture,
  engine: DockerEngine = f.engine,
  resyncIntervalMs = 60_000,
): ContainerView {
  const view = createContainerView({ engine, labelFilter: f.labelFilter, resyncIntervalMs, logger: silentLogger });
  t.teardown(() => view.stop());
  return view;
}

/** Resolves once `ready()` holds, checking now and after every change the view reports. */
function until(view: ContainerView, ready: () => boolean, timeoutMs = 10_000): Promise<void> {
  if (ready()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`condition not reached within ${timeoutMs}ms`));
    }, timeoutMs);
    const off = view.onChange(() => {
      if (ready()) {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  });
}

/** The real engine with the event stream replaced; `emit` injects hints. */
function withoutEvents(engine: DockerEngine): { engine: DockerEngine; emit: (event: DockerEventHint) => void } {
  let handler: ((event: DockerEventHint) => void) | undefined;
  const wrapped: DockerEngine = Object.create(engine);
  wrapped.subscribeEvents = (handlers) => {
    handler = (event) => handlers.onEvent(event);
    return () => {
      handler = undefined;
    };
  };
  return { engine: wrapped, emit: (event) => handler?.(event) };
}

test('start() lists and inspects the labelled containers that already exist', async (t) => {
  const f = fixture();
  const running = await createContainer(t, f, 'app');
  const created = await createContainer(t, f, 'sidecar', { start: false });
  const view = startView(t, f);
  t.false(view.synced());
  await view.start();
  t.true(view.synced());
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
  t.is(counts['list'], 1);
  t.is(counts['inspect'], 2);
  t.is(counts['events'], 1, 'subscribed to events');
});

test('a container started after start() appears through events, without a relist', async (t) => {
  const f = fixture();
  const view = startView(t, f);
  await view.start();
  t.deepEqual(view.all(), []);
  const changes: Array<[string | undefined, string]> = [];
  view.onChange((taskArn, id) => changes.push([taskArn, id]));
  const lateRunning = (): boolean => view.byTask(f.taskArn).some((c) => c.containerName === 'late' && c.running);
  const appeared = until(view, lateRunning);
  const id = await createContainer(t, f, 'late');
  await appeared;
  t.is(view.get(id)!.containerName, 'late');
  t.true(changes.every(([taskArn]) => taskArn === f.taskArn));
  t.is(f.engine.callCounts()['list'], 1, 'only the initial list: events did the work');
});

test('a container removed behind the view’s back disappears', async (t) => {
  const f = fixture();
  const id = await createContainer(t, f, 'doomed', { start: false });
  const view = startView(t, f);
  await view.start();
  t.truthy(view.get(id));
  const gone = until(view, () => view.get(id) === undefined);
  await f.engine.removeContainer(id, { removeVolumes: true, force: true });
  await gone;
  t.deepEqual(view.byTask(f.taskArn), []);
});

test('relist alone picks up new containers, drops vanished ones, and re-inspects only what changed', async (t) => {
  const f = fixture();
  const { engine } = withoutEvents(f.engine);
  const stays = await createContainer(t, f, 'stays');
  const leaves = await createContainer(t, f, 'leaves', { start: false });
  const view = startView(t, f, engine);
  await view.start();
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

test('idle cost: the periodic resync makes one list call per period and no inspects', async (t) => {
  const f = fixture();
  await createContainer(t, f, 'idle', { start: false });
  const relists: number[] = [];
  const view = createContainerView({
    engine: f.engine,
    labelFilter: f.labelFilter,
    resyncIntervalMs: 200,
    logger: silentLogger,
    onRelist: (ms) => relists.push(ms),
  });
  t.teardown(() => view.stop());
  await view.start();
  const before = f.engine.callCounts();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  view.stop();
  const after = f.engine.callCounts();
  const lists = after['list']! - before['list']!;
  // 1000 ms / (200 ms ± 10 % + the list itself) → 4 or 5 periods; 3 allows for a loaded 2-core machine.
  t.true(lists >= 3 && lists <= 5, `expected 3-5 list calls, saw ${lists}`);
  t.is(after['inspect'], before['inspect'], 'nothing changed, so nothing was inspected');
  t.true(relists.length >= lists, 'onRelist reports every relist');
  t.true(relists.every((ms) => ms >= 0));
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is(f.engine.callCounts()['list'], after['list'], 'stop() cancelled the resync timer');
});

test('a burst of events for one container costs one inspect, and no-change refreshes notify nobody', async (t) => {
  const f = fixture();
  const { engine, emit } = withoutEvents(f.engine);
  const id = await createContainer(t, f, 'bursty');
  const view = startView(t, f, engine);
  await view.start();
  let notifications = 0;
  view.onChange(() => notifications++);

  const before = f.engine.callCounts()['inspect']!;
  const labels = { [LABEL_TASK_ARN]: f.taskArn, 'ecsd-test.run': f.run };
  for (const action of ['kill', 'die', 'stop', 'die', 'kill']) {
    emit({ type: 'container', action, id, labels, timeMs: Date.now() });
  }
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.is(f.engine.callCounts()['inspect']! - before, 1, 'five hints within the window, one inspect');
  t.is(notifications, 0, 'the container did not actually change');

  emit({ type: 'container', action: 'start', id: 'not-ours', labels: { other: 'x' }, timeMs: Date.now() });
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(f.engine.callCounts()['inspect']! - before, 1, 'events for unlabelled containers are ignored');

  await view.refresh(id);
  t.is(notifications, 0);
  await f.engine.stopContainer(id, 5, { timeoutMs: 20_000 });
  const refreshed = await view.refresh(id);
  t.is(refreshed!.state, 'exited');
  t.is(notifications, 1, 'a real change notifies once');
});

test('events the agent’s own inspects already cover cost nothing; a later event costs one inspect', async (t) => {
  const f = fixture();
  const { engine, emit } = withoutEvents(f.engine);
  const id = await createContainer(t, f, 'covered', { start: false });
  const view = startView(t, f, engine);
  await view.start();
  const labels = { [LABEL_TASK_ARN]: f.taskArn, 'ecsd-test.run': f.run };
  const inspects = (): number => f.engine.callCounts()['inspect']!;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

  const before = inspects();
  // The start event arrives while the start call is in flight: the mutation's own inspect covers it.
  await view.withMutation(id, async () => {
    emit({ type: 'container', action: 'start', id, labels, timeMs: Date.now() });
    await f.engine.startContainer(id, { timeoutMs: 20_000 });
  });
  await settle();
  t.is(inspects() - before, 1, 'only the inspect after the mutation');
  t.is(view.get(id)?.state, 'running');

  // An event stamped before that inspect was sent is stale.
  emit({ type: 'container', action: 'start', id, labels, timeMs: Date.now() - 60_000 });
  await settle();
  t.is(inspects() - before, 1, 'a stale event costs nothing');

  // Something the agent did not do (docker stop from a shell) is looked at.
  await f.engine.stopContainer(id, 5, { timeoutMs: 20_000 });
  emit({ type: 'container', action: 'die', id, labels, timeMs: Date.now() });
  await settle();
  t.is(inspects() - before, 2);
  t.is(view.get(id)?.state, 'exited');
});
