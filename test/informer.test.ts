/**
 * The informer's containers and lifecycle against the in-memory engine, on a fake clock: how events, inspects
 * and relists combine (clock skew, reconnects, coalescing, removals), not Docker's behaviour
 * (test/engine/informer.test.ts covers that).
 */
import test from 'ava';
import { createContainerView } from '../src/docker/container-view.js';
import { createInformer, type Informer } from '../src/docker/informer.js';
import { DOCKER_OBJECT_KINDS, type InformerChange, LABEL_TASK_ARN } from '../src/docker/types.js';
import { silentLogger } from '../src/logging/types.js';
import { FakeClock, flushAsync } from './helpers/fake-clock.js';
import { FakeDockerEngine } from './helpers/fake-docker-engine.js';

const TASK = 'arn:aws:ecs:us-west-2:123456789012:task/test/abc';
const COALESCE_MS = 10;
const RESYNC_MS = 60_000;

interface Fixture {
  clock: FakeClock;
  engine: FakeDockerEngine;
  informer: Informer;
  changes: InformerChange[];
  relists: number[];
}

function setup(options: { daemonClockOffsetMs?: number } = {}): Fixture {
  const clock = new FakeClock();
  const engine = new FakeDockerEngine({
    agentNowMs: () => clock.nowMs(),
    daemonClockOffsetMs: options.daemonClockOffsetMs,
  });
  const relists: number[] = [];
  const informer = createInformer({
    engine,
    labelFilter: [LABEL_TASK_ARN],
    resyncIntervalMs: RESYNC_MS,
    logger: silentLogger,
    clock,
    coalesceMs: COALESCE_MS,
    onRelist: (ms) => relists.push(ms),
  });
  const changes: InformerChange[] = [];
  for (const kind of DOCKER_OBJECT_KINDS) informer.subscribe(kind, (change) => changes.push(change));
  return { clock, engine, informer, changes, relists };
}

const count = (engine: FakeDockerEngine, op: string): number => engine.callCounts()[op] ?? 0;

test('start() subscribes first, lists every kind once, inspects only labelled containers, and indexes them', async (t) => {
  const f = setup();
  const app = f.engine.addContainer({ taskArn: TASK, containerName: 'app', state: 'running' });
  const sidecar = f.engine.addContainer({ taskArn: TASK, containerName: 'sidecar' });
  f.engine.addContainer({ labels: { other: 'x' }, state: 'running' });
  t.false(f.informer.synced());
  await f.informer.start();
  t.true(f.informer.synced());
  t.deepEqual(
    ['events', 'list', 'listImages', 'listVolumes', 'listNetworks'].map((op) => count(f.engine, op)),
    [1, 1, 1, 1, 1],
  );
  t.is(count(f.engine, 'inspect'), 2, 'the unlabelled container is neither listed nor inspected');
  const view = f.informer.containers;
  t.is(view.all().length, 2);
  t.is(view.get(app.id)?.state, 'running');
  t.deepEqual(
    view
      .byTask(TASK)
      .map((c) => c.containerName)
      .sort(),
    ['app', 'sidecar'],
  );
  t.deepEqual(view.byTask('arn:other'), []);
  t.true(view.synced());
  const added = f.changes.filter((c) => c.kind === 'container' && c.type === 'added');
  t.deepEqual(added.map((c) => c.id).sort(), [app.id, sidecar.id].sort());
  t.true(added.every((c) => c.taskArn === TASK && c.imageRefs?.[0] === 'ecsd-test/busybox:latest'));
  t.is(f.relists.length, 1, 'onRelist reports the start-up pass');
});

for (const [label, offsetMs] of [
  ['an hour ahead of', 3_600_000],
  ['an hour behind', -3_600_000],
] as const) {
  test(`a die after an inspect is inspected and notified when the daemon's clock is ${label} the agent's`, async (t) => {
    const f = setup({ daemonClockOffsetMs: offsetMs });
    const app = f.engine.addContainer({ taskArn: TASK, containerName: 'app', state: 'running' });
    await f.informer.start();
    await f.informer.containers.refresh(app.id);
    await f.clock.advanceAsync(1_000);
    const inspects = count(f.engine, 'inspect');
    f.changes.length = 0;

    f.engine.exitContainer(app.id, 137);
    await f.clock.advanceAsync(COALESCE_MS);
    t.is(count(f.engine, 'inspect') - inspects, 1, 'the die costs one fresh inspect');
    t.is(f.informer.containers.get(app.id)?.state, 'exited');
    t.is(f.informer.containers.get(app.id)?.exitCode, 137);
    t.deepEqual(f.changes, [
      { kind: 'container', type: 'updated', id: app.id, taskArn: TASK, imageRefs: ['ecsd-test/busybox:latest'] },
    ]);
  });
}

test('a hint arriving while an inspect is in flight costs one more inspect; one arriving while it waits costs none', async (t) => {
  const f = setup();
  const app = f.engine.addContainer({ taskArn: TASK, state: 'running' });
  await f.informer.start();
  const before = count(f.engine, 'inspect');
  const held = f.engine.hold('inspect');
  const first = f.informer.containers.refresh(app.id);
  const second = f.informer.containers.refresh(app.id);
  await flushAsync();
  t.is(held.parked(), 1, 'the second refresh waits on the first');
  // The first inspect answered "running" when it was sent; the die happens after.
  f.engine.exitContainer(app.id, 1);
  await f.clock.advanceAsync(COALESCE_MS);
  held.release();
  await Promise.all([first, second]);
  await f.clock.advanceAsync(COALESCE_MS);
  t.is(count(f.engine, 'inspect') - before, 2, 'the queued second refresh covers the die');
  t.is(f.informer.containers.get(app.id)?.state, 'exited');

  const hold2 = f.engine.hold('inspect');
  const inFlight = f.informer.containers.refresh(app.id);
  await flushAsync();
  f.engine.emit({ type: 'container', action: 'health_status', id: app.id, labels: { [LABEL_TASK_ARN]: TASK } });
  await f.clock.advanceAsync(COALESCE_MS);
  hold2.release();
  await inFlight;
  await f.clock.advanceAsync(COALESCE_MS);
  t.is(count(f.engine, 'inspect') - before, 4, 'a hint during an in-flight inspect is inspected afterwards');
});

test('the agent’s own mutation costs one inspect for all the events it causes', async (t) => {
  const f = setup();
  const app = f.engine.addContainer({ taskArn: TASK, state: 'running' });
  await f.informer.start();
  const before = count(f.engine, 'inspect');
  f.changes.length = 0;
  await f.informer.containers.withMutation(app.id, () => f.engine.stopContainer(app.id, 5, { timeoutMs: 1_000 }));
  await f.clock.advanceAsync(COALESCE_MS * 10);
  t.is(count(f.engine, 'inspect') - before, 1, 'kill, die and stop arrived during the call: only its refresh');
  t.is(f.informer.containers.get(app.id)?.state, 'exited');
  t.is(f.changes.length, 1);
});

test('an event the cache already shows costs no inspect: a late die or stop after the stop, a start of a running one, any kill', async (t) => {
  const f = setup();
  const app = f.engine.addContainer({ taskArn: TASK, state: 'running' });
  await f.informer.start();
  const labels = { [LABEL_TASK_ARN]: TASK };
  const before = count(f.engine, 'inspect');
  f.engine.emit({ type: 'container', action: 'start', id: app.id, labels });
  f.engine.emit({ type: 'container', action: 'kill', id: app.id, labels });
  await f.clock.advanceAsync(COALESCE_MS * 2);
  t.is(count(f.engine, 'inspect') - before, 0, 'start of a running container, and a signal');

  // The agent's stop, whose die and stop events arrive only after the inspect that follows the call.
  const stop = f.engine.hold('stop');
  const stopping = f.informer.containers.withMutation(app.id, () =>
    f.engine.stopContainer(app.id, 5, { timeoutMs: 1_000 }),
  );
  await flushAsync();
  f.engine.exitContainer(app.id, 143, { silent: true });
  stop.release();
  await stopping;
  t.is(count(f.engine, 'inspect') - before, 1);
  t.is(f.informer.containers.get(app.id)?.state, 'exited');
  f.engine.emit({ type: 'container', action: 'die', id: app.id, labels });
  f.engine.emit({ type: 'container', action: 'stop', id: app.id, labels });
  await f.clock.advanceAsync(COALESCE_MS * 2);
  t.is(count(f.engine, 'inspect') - before, 1, 'the late die and stop say nothing the cache does not show');
});

test('events that arrive while the inspect after a call is on its way cost nothing once its answer shows them', async (t) => {
  const f = setup();
  const app = f.engine.addContainer({ taskArn: TASK, state: 'running' });
  await f.informer.start();
  const labels = { [LABEL_TASK_ARN]: TASK };
  const before = count(f.engine, 'inspect');
  const inspect = f.engine.hold('inspect');
  const stopping = f.informer.containers.withMutation(app.id, () =>
    f.engine.stopContainer(app.id, 5, { timeoutMs: 1_000 }),
  );
  await flushAsync();
  await f.clock.advanceAsync(COALESCE_MS);
  t.is(inspect.parked(), 1, 'the inspect after the call waits for its answer');
  // The call's events reach the agent only now, while that inspect is on its way (the fake's own, sent
  // during the call, were covered by it).
  for (const action of ['kill', 'die', 'stop']) f.engine.emit({ type: 'container', action, id: app.id, labels });
  inspect.release();
  await stopping;
  await f.clock.advanceAsync(COALESCE_MS * 2);
  t.is(count(f.engine, 'inspect') - before, 1, 'its answer shows the exit: no second inspect');
  t.is(f.informer.containers.get(app.id)?.state, 'exited');
});

test('a die is still inspected when the cache shows the container running, or when an inspect is on its way', async (t) => {
  const f = setup();
  const app = f.engine.addContainer({ taskArn: TASK, state: 'running' });
  await f.informer.start();
  const labels = { [LABEL_TASK_ARN]: TASK };
  const before = count(f.engine, 'inspect');
  f.engine.exitContainer(app.id, 1);
  await f.clock.advanceAsync(COALESCE_MS);
  t.is(count(f.engine, 'inspect') - before, 1);
  t.is(f.informer.containers.get(app.id)?.state, 'exited');

  // Restarted and exited again while an inspect, sent before the second exit, is on its way: the cache
  // still shows the first exit, but the die may be newer than that inspect's answer.
  f.engine.addContainer({ id: app.id, taskArn: TASK, state: 'running' }, { silent: true });
  const held = f.engine.hold('inspect');
  const inFlight = f.informer.containers.refresh(app.id);
  await flushAsync();
  f.engine.exitContainer(app.id, 2, { silent: true });
  f.engine.emit({ type: 'container', action: 'die', id: app.id, labels });
  held.release();
  await inFlight;
  t.is(f.informer.containers.get(app.id)?.state, 'running', 'the answer sent before the second exit');
  await f.clock.advanceAsync(COALESCE_MS);
  t.is(count(f.engine, 'inspect') - before, 3, 'the die was inspected after it');
  t.is(f.informer.containers.get(app.id)?.state, 'exited');
  t.is(f.informer.containers.get(app.id)?.exitCode, 2);
});

test('a burst of hints costs one inspect, and a refresh that finds nothing new notifies nobody', async (t) => {
  const f = setup();
  const app = f.engine.addContainer({ taskArn: TASK, state: 'running' });
  await f.informer.start();
  const before = count(f.engine, 'inspect');
  f.changes.length = 0;
  const labels = { [LABEL_TASK_ARN]: TASK };
  for (const action of ['kill', 'die', 'stop', 'die', 'kill'])
    f.engine.emit({ type: 'container', action, id: app.id, labels });
  f.engine.emit({ type: 'container', action: 'exec_start', id: app.id, labels });
  f.engine.emit({ type: 'container', action: 'start', id: 'not-ours', labels: { other: 'x' } });
  await f.clock.advanceAsync(COALESCE_MS);
  t.is(count(f.engine, 'inspect') - before, 1);
  t.deepEqual(f.changes, [], 'the container did not change');
});

test('a reconnect of the event stream relists at once: an exit during the outage is seen without the resync timer', async (t) => {
  const f = setup();
  const app = f.engine.addContainer({ taskArn: TASK, state: 'running' });
  const gone = f.engine.addContainer({ taskArn: TASK, state: 'running' });
  await f.informer.start();
  f.changes.length = 0;
  const lists = count(f.engine, 'list');

  f.engine.dropStream();
  f.engine.exitContainer(app.id, 137); // its die event is lost with the stream
  f.engine.containers.delete(gone.id);
  await f.clock.advanceAsync(COALESCE_MS * 10);
  t.deepEqual(f.changes, [], 'nothing is known while the stream is down');

  const resyncDueMs = f.clock.nextDueMs();
  f.engine.reconnectStream();
  await flushAsync();
  t.is(count(f.engine, 'list') - lists, 1, 'one relist, straight away');
  t.is(f.clock.nextDueMs(), resyncDueMs, 'no clock time passed and the periodic resync is still pending');
  t.is(f.informer.containers.get(app.id)?.state, 'exited');
  t.is(f.informer.containers.get(gone.id), undefined);
  t.deepEqual(
    f.changes.map((c) => [c.type, c.id]),
    [
      ['deleted', gone.id],
      ['updated', app.id],
    ],
  );
});

test('relist drops vanished containers, inspects only new or changed ones, and keeps what was observed after its list', async (t) => {
  const f = setup();
  const stays = f.engine.addContainer({ taskArn: TASK, state: 'running' });
  const leaves = f.engine.addContainer({ taskArn: TASK });
  await f.informer.start();
  f.engine.containers.delete(leaves.id);
  const arrives = f.engine.addContainer({ taskArn: TASK }, { silent: true });
  f.engine.exitContainer(stays.id, 0, { silent: true });
  const before = count(f.engine, 'inspect');
  await f.informer.relist();
  t.is(count(f.engine, 'inspect') - before, 2, 'the new one and the one whose listed state changed');
  t.is(f.informer.containers.get(leaves.id), undefined);
  t.truthy(f.informer.containers.get(arrives.id));
  t.is(f.informer.containers.get(stays.id)?.state, 'exited');

  // A list sent before a container existed must not drop it once an inspect sent later has seen it.
  const heldList = f.engine.hold('list');
  const relisted = f.informer.relist();
  await flushAsync();
  const late = f.engine.addContainer({ taskArn: TASK, state: 'running' }, { silent: true });
  await f.informer.containers.refresh(late.id);
  heldList.release();
  await relisted;
  t.is(f.informer.containers.get(late.id)?.state, 'running', 'observed after the list was taken: kept');
});

test('concurrent relists coalesce: callers during a pass share the one pass after it', async (t) => {
  const f = setup();
  await f.informer.start();
  const lists = count(f.engine, 'list');
  const held = f.engine.hold('list');
  const first = f.informer.relist();
  const second = f.informer.relist();
  const third = f.informer.relist();
  t.is(second, third, 'one shared follow-up pass');
  await flushAsync();
  held.release();
  await Promise.all([first, second, third]);
  t.is(count(f.engine, 'list') - lists, 2);
  t.is(f.relists.length, 3, 'start-up pass plus two');
});

test('the periodic resync relists about once a period, and stop() cancels it and aborts calls in flight', async (t) => {
  const f = setup();
  const app = f.engine.addContainer({ taskArn: TASK, state: 'running' });
  await f.informer.start();
  const lists = count(f.engine, 'list');
  await f.clock.advanceAsync(RESYNC_MS * 1.1);
  t.is(count(f.engine, 'list') - lists, 1);
  t.is(count(f.engine, 'listImages') - 1, 1, 'every kind shares the pass');
  await f.clock.advanceAsync(RESYNC_MS * 1.1);
  t.is(count(f.engine, 'list') - lists, 2);
  t.is(f.relists.length, 3);

  f.engine.hold('inspect');
  const pending = f.informer.containers.refresh(app.id);
  await flushAsync();
  f.informer.stop();
  await t.throwsAsync(pending, { message: 'docker informer stopped' }, 'the in-flight inspect is aborted');
  t.is(f.engine.subscriberCount, 0, 'unsubscribed from events');
  t.is(f.clock.pendingTimers, 0, 'no timer left');
  await f.clock.advanceAsync(RESYNC_MS * 2);
  t.is(count(f.engine, 'list') - lists, 2);
});

test('a listener that throws is logged and the others still hear the change', async (t) => {
  const f = setup();
  f.informer.subscribe('container', () => {
    throw new Error('listener bug');
  });
  const viewChanges: Array<[string | undefined, string]> = [];
  f.informer.containers.onChange(() => {
    throw new Error('view listener bug');
  });
  f.informer.containers.onChange((taskArn, id) => viewChanges.push([taskArn, id]));
  await f.informer.start();
  const app = f.engine.addContainer({ taskArn: TASK, state: 'running' });
  await f.clock.advanceAsync(COALESCE_MS);
  t.deepEqual(viewChanges, [[TASK, app.id]]);
  t.is(f.changes.filter((c) => c.kind === 'container').length, 1);
  t.truthy(f.informer.containers.get(app.id));
});

test('a failed start-up relist rejects start() and leaves nothing subscribed', async (t) => {
  const f = setup();
  f.engine.failNext('listImages', new Error('engine down'));
  await t.throwsAsync(f.informer.start(), { message: 'engine down' });
  t.false(f.informer.synced());
  t.is(f.engine.subscriberCount, 0);
});

test('createContainerView is a containers-only informer behind the ContainerView interface', async (t) => {
  const clock = new FakeClock();
  const engine = new FakeDockerEngine({ agentNowMs: () => clock.nowMs() });
  const app = engine.addContainer({ taskArn: TASK, state: 'running' });
  const view = createContainerView({
    engine,
    labelFilter: [LABEL_TASK_ARN],
    resyncIntervalMs: RESYNC_MS,
    logger: silentLogger,
    clock,
  });
  await view.start();
  t.true(view.synced());
  t.is(view.get(app.id)?.state, 'running');
  t.is(count(engine, 'listImages'), 0, 'only containers are listed');
  engine.emit({ type: 'image', action: 'pull', id: 'busybox:latest' });
  await clock.advanceAsync(COALESCE_MS * 2);
  t.is(count(engine, 'inspectImage'), 0, 'nor followed');
  view.stop();
  t.is(engine.subscriberCount, 0);
});
