import test from 'ava';
import { createLoop } from '../reconcilers/runtime/loop.js';
import { createMutationLimiter } from '../reconcilers/runtime/mutation-limiter.js';
import type { LoopAction, LoopDefinition } from '../reconcilers/runtime/types.js';
import type { DockerObjectKind, InformerChange, InformerEvents } from '../src/docker/types.js';
import { DockerApiError } from '../src/errors.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import { flushAsync } from './helpers/fake-clock.js';
import { type Deferred, deferred, harness } from './helpers/runtime-harness.js';

type Step = LoopAction & { kind: 'record' | 'docker' };

/** A loop whose plan is fixed per key; apply waits on a per-action gate when one is set. */
function graphLoop(
  plans: Record<string, Step[]>,
  gates: Map<string, Deferred> = new Map(),
  failing: ReadonlySet<string> = new Set(),
): { definition: LoopDefinition<true, null, Step>; started: string[]; finished: string[] } {
  const started: string[] = [];
  const finished: string[] = [];
  let done = false;
  const definition: LoopDefinition<true, null, Step> = {
    name: 'graph',
    actionKinds: ['record', 'docker'],
    storeOnlyActionKinds: ['record'],
    keys: () => Object.keys(plans),
    keysForChange: () => [],
    readDesired: () => true,
    observe: async () => null,
    plan: (_d, _a) => ({ actions: done ? [] : (plans['k'] ?? []) }),
    apply: async (key, action) => {
      const name = `${key}:${action.id ?? action.reason}`;
      started.push(name);
      await gates.get(name)?.promise;
      if (failing.has(name)) throw new DockerApiError(`${name} failed`);
      finished.push(name);
      if (finished.length === (plans['k'] ?? []).length) done = true;
    },
  };
  return { definition, started, finished };
}

test('independent actions run concurrently; a plain list stays sequential', async (t) => {
  const h = harness();
  const gates = new Map([
    ['k:stop-a', deferred()],
    ['k:stop-b', deferred()],
  ]);
  const { definition, started } = graphLoop(
    {
      k: [
        { kind: 'record', reason: 'r', id: 'record' },
        { kind: 'docker', reason: 'a', id: 'stop-a', after: ['record'] },
        { kind: 'docker', reason: 'b', id: 'stop-b', after: ['record'] },
        { kind: 'docker', reason: 'c', id: 'after-both', after: ['stop-a', 'stop-b'] },
      ],
    },
    gates,
  );
  const loop = createLoop(definition, h.baseDeps);
  loop.nudge('k');
  await flushAsync();
  t.deepEqual(started, ['k:record', 'k:stop-a', 'k:stop-b'], 'both stops started without waiting for each other');
  gates.get('k:stop-a')?.resolve();
  await flushAsync();
  t.deepEqual(started, ['k:record', 'k:stop-a', 'k:stop-b'], 'the join waits for both');
  gates.get('k:stop-b')?.resolve();
  await flushAsync();
  t.deepEqual(started, ['k:record', 'k:stop-a', 'k:stop-b', 'k:after-both']);
  await loop.stop(0);
});

test("a failed action's dependents are not started, independent ones are, and the first failure is reported", async (t) => {
  const h = harness();
  const { definition, started } = graphLoop(
    {
      k: [
        { kind: 'docker', reason: 'x', id: 'fails', after: [] },
        { kind: 'docker', reason: 'x', id: 'child', after: ['fails'] },
        { kind: 'docker', reason: 'x', id: 'grandchild', after: ['child'] },
        { kind: 'docker', reason: 'x', id: 'sibling', after: [] },
        { kind: 'docker', reason: 'x', id: 'listed-after' },
      ],
    },
    new Map(),
    new Set(['k:fails']),
  );
  const loop = createLoop(definition, h.baseDeps);
  loop.nudge('k');
  await flushAsync();
  t.deepEqual(started, ['k:fails', 'k:sibling', 'k:listed-after']);
  t.is(await h.metrics.sampleValue('ecs_agent_reconcile_total', { loop: 'graph', result: 'error' }), 1);
  await loop.stop(0);
});

test('an action waiting for an unknown or later id is a terminal plan error', async (t) => {
  const h = harness();
  const { definition, started } = graphLoop({
    k: [
      { kind: 'docker', reason: 'x', id: 'one', after: ['two'] },
      { kind: 'docker', reason: 'x', id: 'two', after: [] },
    ],
  });
  const loop = createLoop(definition, h.baseDeps);
  await loop.syncOnce();
  t.deepEqual(started, []);
  t.is(loop.lastTerminalError('k')?.code, 'InternalError');
});

test('a reconcile waiting on Docker does not hold a worker: another key plans and records meanwhile', async (t) => {
  const h = harness({ maxConcurrentReconciles: 1 });
  const stop = deferred();
  const started: string[] = [];
  const recorded = new Set<string>();
  // One worker; 'slow' waits in a Docker action (a stop's grace period); 'fast' must still be reconciled.
  let slowPlanned = false;
  const loop3 = createLoop<true, string, Step>(
    {
      name: 'workers3',
      actionKinds: ['record', 'docker'],
      storeOnlyActionKinds: ['record'],
      keys: () => [],
      keysForChange: () => [],
      readDesired: () => true,
      observe: async (key) => key,
      plan: (_desired, key) => {
        if (key === 'slow' && !slowPlanned) {
          slowPlanned = true;
          return { actions: [{ kind: 'docker', reason: 'stop with 30 s grace' }] };
        }
        if (key === 'fast' && !recorded.has('fast')) return { actions: [{ kind: 'record', reason: 'RUNNING seen' }] };
        return { actions: [] };
      },
      apply: async (key, action) => {
        started.push(`${key}:${action.kind}`);
        if (action.kind === 'docker') await stop.promise;
        else recorded.add(key);
      },
    },
    h.baseDeps,
  );
  loop3.nudge('slow');
  await flushAsync();
  t.deepEqual(started, ['slow:docker']);
  loop3.nudge('fast');
  await flushAsync();
  t.deepEqual(started, ['slow:docker', 'fast:record'], 'the record did not wait for the stop');
  t.true(recorded.has('fast'));
  t.is(await h.metrics.sampleValue('ecs_agent_active_workers', { loop: 'workers3' }), 0);
  stop.resolve();
  await flushAsync();
  await loop3.stop(0);
});

test('a store-only plan that is not a fixed point fails the reconcile when the check is on', async (t) => {
  const h = harness();
  const definition: LoopDefinition<true, null, Step> = {
    name: 'broken',
    actionKinds: ['record', 'docker'],
    storeOnlyActionKinds: ['record'],
    keys: () => ['k'],
    keysForChange: () => [],
    readDesired: () => true,
    observe: async () => null,
    // Always asks to record again: a planner bug the rule exists to catch.
    plan: () => ({ actions: [{ kind: 'record', reason: 'again' }] }),
    apply: async () => {},
  };
  const loop = createLoop(definition, h.baseDeps);
  await loop.syncOnce();
  const error = loop.lastTerminalError('k');
  t.is(error?.code, 'InternalError');
  t.regex(error?.reason ?? '', /not a fixed point: planning again gave record: again/);

  const unchecked = createLoop(
    { ...definition, name: 'unchecked' },
    { ...h.baseDeps, checkStoreOnlyFixedPoint: false },
  );
  await unchecked.syncOnce();
  t.is(unchecked.lastTerminalError('k'), undefined, 'off in production');
});

test('the mutation limiter runs at most `limit` at once, FIFO, and publishes in-flight and waiting', async (t) => {
  const metrics = createMetricsRegistry();
  const limiter = createMutationLimiter({ limit: 2, metrics: metrics.reconcile.dockerMutations });
  const gates = [deferred(), deferred(), deferred(), deferred()];
  const order: number[] = [];
  const runs = gates.map((gate, i) =>
    limiter.run(async () => {
      order.push(i);
      await gate.promise;
    }),
  );
  await flushAsync();
  t.deepEqual(order, [0, 1]);
  t.is(limiter.inFlight(), 2);
  t.is(limiter.waiting(), 2);
  t.is(await metrics.sampleValue('ecs_agent_docker_mutations_in_flight'), 2);
  t.is(await metrics.sampleValue('ecs_agent_docker_mutations_waiting'), 2);

  // A waiter whose reconcile is cancelled leaves the line at once.
  const controller = new AbortController();
  const cancelled = limiter.run(async () => order.push(99), controller.signal);
  controller.abort(new Error('shutdown'));
  await t.throwsAsync(cancelled, { message: 'shutdown' });
  t.is(limiter.waiting(), 2);

  gates[1]?.resolve();
  await flushAsync();
  t.deepEqual(order, [0, 1, 2], 'the oldest waiter got the slot');
  for (const gate of gates) gate.resolve();
  await Promise.all(runs);
  t.deepEqual(order, [0, 1, 2, 3]);
  t.is(limiter.inFlight(), 0);
  t.is(await metrics.sampleValue('ecs_agent_docker_mutations_in_flight'), 0);
  t.throws(() => createMutationLimiter({ limit: 0 }), { instanceOf: RangeError });
});

test('a loop subscribes to the Docker kinds it watches on start, is woken with mapped keys, and unsubscribes on stop', async (t) => {
  const h = harness();
  h.world.converged('task-1', 'task-2');
  const listeners = new Map<DockerObjectKind, Set<(change: InformerChange) => void>>();
  const informer: InformerEvents = {
    subscribe(kind, listener) {
      const set = listeners.get(kind) ?? new Set();
      set.add(listener);
      listeners.set(kind, set);
      return () => set.delete(listener);
    },
  };
  const emit = (change: InformerChange): void => {
    for (const listener of listeners.get(change.kind) ?? []) listener(change);
  };
  const loop = createLoop(
    {
      ...h.world.definition(),
      watches: [{ kind: 'container', keysFor: (change) => (change.taskArn ? [change.taskArn] : []) }],
    },
    { ...h.deps, informer },
  );
  t.is(listeners.get('container')?.size ?? 0, 0, 'nothing before start');
  loop.start();
  await flushAsync();
  t.is(listeners.get('container')?.size, 1);
  t.is(h.world.observeCount('task-2'), 1, 'the start resync');

  emit({ kind: 'container', type: 'updated', id: 'c1', taskArn: 'task-2' });
  emit({ kind: 'image', type: 'added', id: 'sha256:1', imageRefs: ['busybox'] });
  await flushAsync();
  t.is(h.world.observeCount('task-2'), 2, 'the container change woke its task');
  t.is(h.world.observeCount('task-1'), 1, 'an unwatched kind wakes nothing');

  await loop.stop(0);
  t.is(listeners.get('container')?.size, 0, 'unsubscribed on stop');
});

test('a detached action is started, not awaited: the key is reconciled meanwhile, sees it in flight, and is queued when it settles', async (t) => {
  const h = harness();
  const stop = deferred();
  const seenInFlight: string[][] = [];
  let stopped = false;
  let recorded = 0;
  let stopSignal: AbortSignal | undefined;
  const definition: LoopDefinition<true, { stopping: boolean }, Step | (LoopAction & { kind: 'stop' })> = {
    name: 'detached',
    actionKinds: ['record', 'docker', 'stop'],
    storeOnlyActionKinds: ['record'],
    detachedActionKinds: ['stop'],
    keys: () => ['k'],
    keysForChange: () => [],
    readDesired: () => true,
    observe: async (_key, _desired, inFlight) => {
      seenInFlight.push([...inFlight.keys()]);
      return { stopping: inFlight.has('stop:a') };
    },
    plan: (_desired, actual) => {
      const actions: Array<Step | (LoopAction & { kind: 'stop' })> = [];
      // While the stop runs, something else about the key is recorded (e.g. a sibling container's exit).
      if (actual.stopping && recorded === 0) actions.push({ kind: 'record', reason: 'exit seen', id: 'record' });
      if (!stopped && !actual.stopping) actions.push({ kind: 'stop', reason: 'grace 30 s', id: 'stop:a' });
      return { actions };
    },
    apply: async (_key, action, signal) => {
      if (action.kind === 'record') recorded += 1;
      if (action.kind === 'stop') {
        stopSignal = signal;
        await stop.promise;
        stopped = true;
      }
    },
  };
  const loop = createLoop(definition, h.baseDeps);
  loop.nudge('k');
  await flushAsync();
  t.true(stopSignal !== undefined, 'the stop started');
  t.false(stopped);
  t.deepEqual(seenInFlight, [[]], 'the reconcile that started the stop ended without waiting for it');
  // Something else happens to the key meanwhile (an informer event): it is reconciled at once, sees the
  // stop in flight, records, and starts no second stop.
  loop.nudge('k');
  await flushAsync();
  t.deepEqual(seenInFlight.slice(0, 2), [[], ['stop:a']]);
  t.is(recorded, 1);
  const observesBefore = seenInFlight.length;
  stop.resolve();
  await flushAsync();
  t.true(stopped);
  t.true(seenInFlight.length > observesBefore, 'the key was queued again when the stop settled');
  t.deepEqual(seenInFlight.at(-1), [], 'nothing in flight any more');
  await loop.stop(0);
});

test('a detached action that fails is retried with backoff; one still running is aborted at the stop deadline', async (t) => {
  const h = harness();
  let attempts = 0;
  let hang: AbortSignal | undefined;
  const definition: LoopDefinition<true, null, LoopAction & { kind: 'stop' }> = {
    name: 'detached-errors',
    actionKinds: ['stop'],
    detachedActionKinds: ['stop'],
    keys: () => ['k'],
    keysForChange: () => [],
    readDesired: () => true,
    observe: async () => null,
    plan: (_d, _a) => ({
      actions: attempts < 2 && hang === undefined ? [{ kind: 'stop', reason: 'stop', id: 's' }] : [],
    }),
    apply: async (_key, _action, signal) => {
      attempts += 1;
      if (attempts === 1) throw new DockerApiError('daemon busy');
      hang = signal;
      await new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    },
  };
  const loop = createLoop(definition, h.baseDeps);
  loop.nudge('k');
  await flushAsync();
  t.is(attempts, 1);
  t.is(await h.metrics.sampleValue('ecs_agent_reconcile_errors_total', { loop: 'detached-errors' }), 1);
  await h.clock.advanceAsync(5);
  t.is(attempts, 2, 'retried after the 5 ms backoff');
  const stopping = loop.stop(1_000);
  await h.clock.advanceAsync(1_000);
  await stopping;
  t.true(hang?.aborted, "the operation's signal was aborted at the deadline");
});

test('nothing may wait for a detached action', async (t) => {
  const h = harness();
  const definition: LoopDefinition<true, null, LoopAction & { kind: 'stop' | 'docker' }> = {
    name: 'detached-graph',
    actionKinds: ['stop', 'docker'],
    detachedActionKinds: ['stop'],
    keys: () => ['k'],
    keysForChange: () => [],
    readDesired: () => true,
    observe: async () => null,
    plan: () => ({
      actions: [
        { kind: 'stop', reason: 's', id: 's' },
        { kind: 'docker', reason: 'd', after: ['s'] },
      ],
    }),
    apply: async () => {},
  };
  const loop = createLoop(definition, h.baseDeps);
  await loop.syncOnce();
  t.regex(loop.lastTerminalError('k')?.reason ?? '', /waits for detached action stop/);
});
