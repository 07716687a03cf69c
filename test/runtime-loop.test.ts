import test from 'ava';
import { createLoop } from '../reconcilers/runtime/loop.js';
import type { LoopDefinition } from '../reconcilers/runtime/types.js';
import { CannotPullContainerError, DockerApiError } from '../src/errors.js';
import { createCapturingLogger } from '../src/logging/index.js';
import { flushAsync } from './helpers/fake-clock.js';
import { deferred, harness, type WorldAction } from './helpers/runtime-harness.js';

const LOOP = { loop: 'world' };
const QUEUE = { name: 'world' };

test('a key is never worked by two workers; nudges while in flight collapse into exactly one follow-up', async (t) => {
  const gate = deferred();
  const h = harness({ beforeObserve: (_key, attempt) => (attempt === 0 ? gate.promise : undefined) });
  h.world.converged('a');
  const loop = createLoop(h.world.definition(), h.deps);

  t.true(loop.nudge('a'));
  await flushAsync();
  t.is(h.world.observeCount('a'), 1);
  t.true(loop.nudge('a'));
  t.true(loop.nudge('a'));
  await flushAsync();
  t.is(h.world.observeCount('a'), 1, 'no second worker while the first is blocked');
  t.is(await h.metrics.sampleValue('workqueue_depth', QUEUE), 1, 'dirty while processing');

  gate.resolve();
  await flushAsync();
  t.is(h.world.observeCount('a'), 2, 'one follow-up reconcile');
  t.is(h.world.maxActivePerKey, 1);
  t.is(await h.metrics.sampleValue('ecs_agent_reconcile_total', { ...LOOP, result: 'success' }), 2);
  t.is(await h.metrics.sampleValue('workqueue_depth', QUEUE), 0);
});

test('duplicate adds collapse: 10 nudges, 1 reconcile, 1 add', async (t) => {
  const h = harness();
  h.world.converged('a');
  const loop = createLoop(h.world.definition(), h.deps);
  for (let i = 0; i < 10; i += 1) loop.nudge('a');
  await flushAsync();
  t.is(h.world.observeCount('a'), 1);
  t.is(await h.metrics.sampleValue('workqueue_adds_total', QUEUE), 1);
  t.is(await h.metrics.sampleValue('workqueue_queue_duration_seconds_count', QUEUE), 1);
  t.is(await h.metrics.sampleValue('workqueue_work_duration_seconds_count', QUEUE), 1);
});

test('different keys progress in parallel up to maxConcurrentReconciles', async (t) => {
  const gate = deferred();
  const h = harness({ maxConcurrentReconciles: 3, beforeObserve: () => gate.promise });
  const keys = ['a', 'b', 'c', 'd', 'e'];
  h.world.converged(...keys);
  const loop = createLoop(h.world.definition(), h.deps);
  for (const key of keys) loop.nudge(key);
  await flushAsync();
  t.is(h.world.activeTotal, 3);
  t.is(await h.metrics.sampleValue('ecs_agent_active_workers', LOOP), 3);
  t.is(await h.metrics.sampleValue('ecs_agent_max_concurrent_reconciles', LOOP), 3);
  t.is(await h.metrics.sampleValue('workqueue_depth', QUEUE), 2);

  gate.resolve();
  await flushAsync();
  t.deepEqual(
    keys.map((k) => h.world.observeCount(k)),
    [1, 1, 1, 1, 1],
  );
  t.is(h.world.maxActiveTotal, 3);
  t.is(await h.metrics.sampleValue('ecs_agent_active_workers', LOOP), 0);
});

test('transient failures retry with per-key exponential backoff 5, 10, 20 ms … capped', async (t) => {
  const h = harness({
    maxBackoffMs: 40,
    beforeObserve: () => {
      throw new DockerApiError('engine said 500');
    },
  });
  h.world.converged('a');
  const loop = createLoop(h.world.definition(), h.deps);
  await loop.syncOnce();
  for (let i = 0; i < 6; i += 1) t.true(await h.clock.runNext());

  const times = h.world.observed.map((o) => o.atMs);
  const gaps = times.slice(1).map((atMs, i) => atMs - (times[i] as number));
  t.deepEqual(gaps, [5, 10, 20, 40, 40, 40]);
  t.is(await h.metrics.sampleValue('workqueue_retries_total', QUEUE), 7);
  t.is(await h.metrics.sampleValue('ecs_agent_reconcile_total', { ...LOOP, result: 'error' }), 7);
  t.is(await h.metrics.sampleValue('ecs_agent_reconcile_errors_total', LOOP), 7);
  t.is(await h.metrics.sampleValue('ecs_agent_loop_last_success_timestamp_seconds', LOOP), 0);
  t.is(loop.lastTerminalError('a'), undefined);
});

test('success forgets the backoff: the next failure waits 5 ms again', async (t) => {
  const failOn = new Set([0, 1, 2, 4]);
  const h = harness({
    beforeObserve: (_key, attempt) => {
      if (failOn.has(attempt)) throw new DockerApiError(`attempt ${attempt}`);
    },
  });
  h.world.converged('a');
  const loop = createLoop(h.world.definition(), h.deps);
  await loop.syncOnce();
  while (await h.clock.runNext()) {}
  t.is(h.world.observeCount('a'), 4, 'three failures then success');
  t.is(h.clock.pendingTimers, 0, 'converged: nothing scheduled');
  t.is(await h.metrics.sampleValue('ecs_agent_loop_last_success_timestamp_seconds', LOOP), h.clock.nowMs() / 1000);

  loop.nudge('a');
  await flushAsync();
  t.is(h.world.observeCount('a'), 5);
  t.is((h.clock.nextDueMs() as number) - h.clock.nowMs(), 5);
});

test('a terminal error is recorded, counted by code and not retried until the key is nudged', async (t) => {
  const h = harness({
    beforeObserve: (_key, attempt) => {
      if (attempt === 0) throw new CannotPullContainerError('pull access denied for nope');
    },
  });
  h.world.converged('a');
  const loop = createLoop(h.world.definition(), h.deps);
  await loop.syncOnce();

  const record = loop.lastTerminalError('a');
  t.is(record?.code, 'CannotPullContainerError');
  t.is(record?.reason, 'CannotPullContainerError: pull access denied for nope');
  t.is(h.clock.pendingTimers, 0, 'no retry scheduled');
  await h.clock.advanceAsync(3_600_000);
  t.is(h.world.observeCount('a'), 1);
  t.is(
    await h.metrics.sampleValue('ecs_agent_terminal_errors_total', { ...LOOP, code: 'CannotPullContainerError' }),
    1,
  );
  t.is(await h.metrics.sampleValue('ecs_agent_terminal_errors_total', { ...LOOP, code: 'DockerApiError' }), 0);
  t.is(await h.metrics.sampleValue('workqueue_retries_total', QUEUE), 0);

  loop.nudge('a');
  await flushAsync();
  t.is(h.world.observeCount('a'), 2);
  t.is(loop.lastTerminalError('a'), undefined, 'cleared by the successful reconcile');
});

test('requeueAfterMs re-plans the key after that delay', async (t) => {
  const h = harness({ planExtras: () => ({ requeueAfterMs: 1000 }) });
  h.world.converged('a');
  const loop = createLoop(h.world.definition(), h.deps);
  await loop.syncOnce();
  t.is(h.world.observeCount('a'), 1);
  await h.clock.advanceAsync(999);
  t.is(h.world.observeCount('a'), 1);
  await h.clock.advanceAsync(1);
  t.is(h.world.observeCount('a'), 2);
  t.is(await h.metrics.sampleValue('ecs_agent_reconcile_total', { ...LOOP, result: 'requeue_after' }), 2);
});

test('after applying actions the key is re-queued to verify the effect, then converges', async (t) => {
  const h = harness();
  h.world.desired.set('a', 2);
  h.world.actual.set('a', 1);
  h.world.actual.set('gone', 7);
  const loop = createLoop(h.world.definition(), h.deps);
  await loop.syncOnce();
  t.deepEqual(
    h.world.applied.map((a) => `${a.key}:${a.kind}`),
    ['a:set', 'gone:remove'],
  );
  t.is(h.world.observeCount('a'), 2);
  t.is(h.world.actual.get('a'), 2);
  t.is(await h.metrics.sampleValue('ecs_agent_reconcile_total', { ...LOOP, result: 'requeue' }), 2);
  t.is(await h.metrics.sampleValue('ecs_agent_reconcile_total', { ...LOOP, result: 'success' }), 2);
  t.is(await h.metrics.sampleValue('ecs_agent_planned_actions_total', { ...LOOP, action: 'set' }), 1);
  t.is(await h.metrics.sampleValue('ecs_agent_planned_actions_total', { ...LOOP, action: 'remove' }), 1);
  t.deepEqual(loop.lastPlans().get('a'), { actions: [] });
  t.false(loop.lastPlans().has('gone'), 'a converged key whose object is gone is dropped');
});

test('actions apply in order and the first failure stops the rest', async (t) => {
  type Step = { kind: 'one' | 'two' | 'three'; reason: string };
  const h = harness();
  const applied: string[] = [];
  const definition: LoopDefinition<true, null, Step> = {
    name: 'steps',
    actionKinds: ['one', 'two', 'three'],
    keys: () => ['k'],
    keysForChange: () => ['k'],
    readDesired: () => true,
    observe: async () => null,
    plan: () => ({
      actions: [
        { kind: 'one', reason: 'first' },
        { kind: 'two', reason: 'second' },
        { kind: 'three', reason: 'third' },
      ],
    }),
    apply: async (_key, action) => {
      applied.push(action.kind);
      if (action.kind === 'two') throw new DockerApiError('boom');
    },
  };
  const loop = createLoop(definition, h.baseDeps);
  await loop.syncOnce();
  t.deepEqual(applied, ['one', 'two']);
  t.is(await h.metrics.sampleValue('ecs_agent_reconcile_total', { loop: 'steps', result: 'error' }), 1);
  t.is((h.clock.nextDueMs() as number) - h.clock.nowMs(), 5, 'retry with backoff');
});

test('a full queue pushes back: adds are refused and counted, and nothing is lost', async (t) => {
  const gate = deferred();
  const h = harness({
    maxConcurrentReconciles: 1,
    maxQueueDepth: 2,
    beforeObserve: (key) => (key === 'k0' ? gate.promise : undefined),
  });
  const keys = ['k0', 'k1', 'k2', 'k3', 'k4'];
  h.world.converged(...keys);
  const loop = createLoop(h.world.definition(), h.deps);
  t.true(loop.nudge('k0'));
  await flushAsync();
  t.deepEqual(
    ['k1', 'k2', 'k3', 'k4'].map((k) => loop.nudge(k)),
    [true, true, false, false],
  );
  t.false(loop.nudge('k3'), 'still waiting outside the full queue');
  t.is(await h.metrics.sampleValue('ecs_agent_workqueue_rejected_adds_total', LOOP), 3);
  t.is(await h.metrics.sampleValue('ecs_agent_workqueue_overflow_keys', LOOP), 2);
  t.is(await h.metrics.sampleValue('workqueue_depth', QUEUE), 4);

  gate.resolve();
  await flushAsync();
  t.deepEqual(
    h.world.observed.map((o) => o.key),
    keys,
  );
  t.is(await h.metrics.sampleValue('ecs_agent_workqueue_overflow_keys', LOOP), 0);
  t.is(await h.metrics.sampleValue('workqueue_depth', QUEUE), 0);
});

test('dry-run plans but never applies, reports plans and counts planned actions', async (t) => {
  const seen: Array<[string, string[]]> = [];
  const h = harness({ dryRun: true, onPlan: (key, plan) => seen.push([key, plan.actions.map((a) => a.kind)]) });
  h.world.desired.set('a', 2);
  h.world.actual.set('a', 1);
  h.world.converged('b');
  const loop = createLoop(h.world.definition(), h.deps);
  await loop.syncOnce();
  t.deepEqual(h.world.applied, []);
  t.is(h.world.actual.get('a'), 1);
  t.deepEqual(
    seen.sort(([x], [y]) => x.localeCompare(y)),
    [
      ['a', ['set']],
      ['b', []],
    ],
  );
  t.is(loop.lastPlans().get('a')?.actions[0]?.reason, 'drift');
  t.is(h.world.observeCount('a'), 1, 'no verification requeue when nothing was applied');
  t.is(await h.metrics.sampleValue('ecs_agent_planned_actions_total', { ...LOOP, action: 'set' }), 1);
});

test('an action kind outside the declared list is a terminal error and is not counted as a label', async (t) => {
  type Loose = { kind: string; reason: string };
  const h = harness();
  const definition: LoopDefinition<true, null, Loose> = {
    name: 'strict',
    actionKinds: ['set'],
    keys: () => ['k'],
    keysForChange: () => ['k'],
    readDesired: () => true,
    observe: async () => null,
    plan: () => ({ actions: [{ kind: 'explode', reason: 'bug' }] }),
    apply: async () => {
      t.fail('an undeclared action must not be applied');
    },
  };
  const loop = createLoop(definition, h.baseDeps);
  await loop.syncOnce();
  t.is(loop.lastTerminalError('k')?.code, 'InternalError');
  t.is(
    await h.metrics.sampleValue('ecs_agent_planned_actions_total', { loop: 'strict', action: 'explode' }),
    undefined,
  );
  t.is(await h.metrics.sampleValue('ecs_agent_planned_actions_total', { loop: 'strict', action: 'set' }), 0);
  t.is(await h.metrics.sampleValue('ecs_agent_terminal_errors_total', { loop: 'strict', code: 'InternalError' }), 1);
});

test('stop waits for in-flight work, aborts it through the signal at the deadline, then refuses work', async (t) => {
  const applyStarted = deferred();
  const h = harness({
    beforeApply: (_key, _action, signal) =>
      new Promise<void>((_resolve, reject) => {
        applyStarted.resolve();
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
  });
  h.world.desired.set('a', 2);
  const loop = createLoop(h.world.definition(), h.deps);
  loop.nudge('a');
  await applyStarted.promise;

  let stopped = false;
  const stopping = loop.stop(1000).then(() => {
    stopped = true;
  });
  t.is(loop.state(), 'stopping');
  t.false(loop.nudge('b'));
  await h.clock.advanceAsync(999);
  t.false(stopped);
  await h.clock.advanceAsync(1);
  await stopping;
  t.true(stopped);
  t.is(loop.state(), 'stopped');
  t.is(h.clock.pendingTimers, 0, 'no retry scheduled after stop');
  await t.throwsAsync(loop.syncOnce());
});

/**
 * These tests count observes to show what woke a key; the fixed-point check (on in the harness) observes
 * once more after each store-only plan, so they turn it off. The rule itself is checked in
 * runtime-actions.test.ts and in every other harness test.
 */
function uncheckedDeps(h: ReturnType<typeof harness>): ReturnType<typeof harness>['deps'] {
  return { ...h.deps, checkStoreOnlyFixedPoint: false };
}

/**
 * A loop whose 'set' writes the store (like the containers loop's record action): synchronously by default,
 * or after an await. With 'set' declared store-only, its plan is not verified and its own write does not
 * wake the key again.
 */
function storeWritingDefinition(
  h: ReturnType<typeof harness>,
  options: { storeOnly: boolean; writeAfterAwait?: boolean },
): LoopDefinition<number, number | undefined, WorldAction> {
  const base = h.world.definition();
  return {
    ...base,
    ...(options.storeOnly ? { storeOnlyActionKinds: ['set'] } : {}),
    apply: async (key, action, signal, desired, origin) => {
      if (options.writeAfterAwait) await Promise.resolve();
      h.store.writerFor(origin).write(key);
      await base.apply(key, action, signal, desired, origin);
    },
  };
}

test('a plan of store-only actions is not verified, and its own writes do not wake the key', async (t) => {
  const h = harness();
  h.world.desired.set('task-a', 2);
  h.world.actual.set('task-a', 1);
  const loop = createLoop(storeWritingDefinition(h, { storeOnly: true }), uncheckedDeps(h));
  loop.start();
  await flushAsync();
  await h.clock.advanceAsync(1_000);
  t.is(h.world.observeCount('task-a'), 1, 'one reconcile: no verification, no wake-up by its own write');
  t.is(h.world.actual.get('task-a'), 2);
  t.is(await h.metrics.sampleValue('ecs_agent_reconcile_total', { ...LOOP, result: 'success' }), 1);
  t.is(await h.metrics.sampleValue('ecs_agent_reconcile_total', { ...LOOP, result: 'requeue' }), 0);

  // Someone else's write to the same key still wakes it.
  h.store.write('task-a');
  await h.clock.advanceAsync(200);
  t.is(h.world.observeCount('task-a'), 2);
  await loop.stop(1_000);
});

test('without store-only kinds the key is looked at again to verify the effect', async (t) => {
  const h = harness();
  h.world.desired.set('task-a', 2);
  h.world.actual.set('task-a', 1);
  const loop = createLoop(storeWritingDefinition(h, { storeOnly: false }), h.deps);
  loop.start();
  await flushAsync();
  await h.clock.advanceAsync(1_000);
  t.is(h.world.observeCount('task-a'), 2);
  await loop.stop(1_000);
});

/**
 * Own writes are attributed by origin, not by timing: the action awaits before and after its write. For a
 * task-keyed table and for a table keyed by something else (volume names), the write does not wake its own
 * key, while a write the same action makes to another key, or another loop's write to the key, does.
 */
for (const table of ['tasks', 'volumes'] as const) {
  test(`own writes to ${table} do not wake their key wherever the awaits fall; others' writes do`, async (t) => {
    const h = harness();
    h.world.desired.set('k1', 2);
    h.world.actual.set('k1', 1);
    h.world.converged('k2');
    const base = h.world.definition();
    const loop = createLoop(
      {
        ...base,
        watchedTables: [table],
        storeOnlyActionKinds: ['set'],
        keysForChange: (change) =>
          change.keysByTable === 'all' ? ['k1', 'k2'] : (change.keysByTable[table] ?? []).filter((k) => k !== 'x'),
        apply: async (key, action, signal, desired, origin) => {
          const writer = h.store.writerFor(origin);
          await flushAsync(2);
          writer.writeTo(table, key);
          await flushAsync(2);
          if (key === 'k1') writer.writeTo(table, 'k2');
          await base.apply(key, action, signal, desired, origin);
        },
      },
      uncheckedDeps(h),
    );
    loop.start();
    await flushAsync();
    await h.clock.advanceAsync(1_000);
    await flushAsync();
    t.is(h.world.observeCount('k1'), 1, 'its own write, after awaits, did not wake k1');
    t.is(h.world.observeCount('k2'), 2, 'its write to another key woke that key');

    h.store.writerFor({ loop: 'another-loop', key: 'k1' }).writeTo(table, 'k1');
    await h.clock.advanceAsync(200);
    await flushAsync();
    t.is(h.world.observeCount('k1'), 2, "another loop's write to the same key wakes it");
    await loop.stop(1_000);
  });
}

test('an outside write made while the key is being reconciled is not mistaken for its own', async (t) => {
  const gate = deferred();
  const h = harness({ beforeObserve: (_key, attempt) => (attempt === 0 ? gate.promise : undefined) });
  h.world.desired.set('task-a', 2);
  h.world.actual.set('task-a', 1);
  const loop = createLoop(storeWritingDefinition(h, { storeOnly: true }), uncheckedDeps(h));
  loop.start();
  await flushAsync();
  h.store.write('task-a'); // e.g. the source raised the desired status meanwhile
  gate.resolve();
  await flushAsync();
  await h.clock.advanceAsync(1_000);
  t.is(h.world.observeCount('task-a'), 2);
  await loop.stop(1_000);
});

test('one info line per plan names the actions that are not store-only; store-only ones log at debug', async (t) => {
  const capture = createCapturingLogger();
  const h = harness();
  h.world.desired.set('changed', 2);
  h.world.actual.set('changed', 1);
  h.world.actual.set('gone', 7);
  const definition = { ...h.world.definition(), storeOnlyActionKinds: ['remove'] };
  const loop = createLoop(definition, { ...h.deps, logger: capture.logger });
  await loop.syncOnce();
  const info = capture.lines.filter((line) => line.level === 'info' && line.msg === 'applying actions');
  t.deepEqual(
    info.map((line) => [line.fields['key'], line.fields['actions']]),
    [['changed', ['set: drift']]],
  );
  const debug = capture.lines.filter((line) => line.level === 'debug' && line.msg === 'applying action');
  t.deepEqual(debug.map((line) => `${line.fields['key']}:${line.fields['kind']}`).sort(), [
    'changed:set',
    'gone:remove',
  ]);
});

test('apply is handed the desired state its plan was made from', async (t) => {
  const h = harness();
  h.world.desired.set('task-a', 2);
  h.world.actual.set('task-a', 1);
  const base = h.world.definition();
  const seen: Array<number | undefined> = [];
  const loop = createLoop(
    {
      ...base,
      apply: async (key, action, signal, desired, origin) => {
        seen.push(desired);
        await base.apply(key, action, signal, desired, origin);
      },
    },
    h.deps,
  );
  await loop.syncOnce();
  t.deepEqual(seen, [2]);
});
