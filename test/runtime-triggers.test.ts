import test from 'ava';
import { createLoop } from '../reconcilers/runtime/loop.js';
import type { LoopChange } from '../reconcilers/runtime/types.js';
import { CannotStartContainerError } from '../src/errors.js';
import { FakeChangeFeed, harness } from './helpers/runtime-harness.js';

test('start resyncs every key once; with the generation unchanged, polling reconciles nothing', async (t) => {
  const h = harness({ pollIntervalMs: 100 });
  h.world.converged('a', 'b');
  const loop = createLoop(h.world.definition(), h.deps);
  t.is(loop.state(), 'idle');
  loop.start();
  t.is(loop.state(), 'running');
  await h.clock.advanceAsync(0);
  t.is(h.world.observed.length, 2);

  await h.clock.advanceAsync(2_000);
  t.is(h.world.observed.length, 2, '20 polls, nothing changed');
  t.is(h.store.changesSinceCalls, 0, 'an unchanged generation costs one comparison, not a feed read');
  await loop.stop(0);
});

test('a store write reconciles only the changed key, at once, without waiting for the poll interval', async (t) => {
  const h = harness({ pollIntervalMs: 60_000 });
  h.world.converged('a', 'b');
  const loop = createLoop(h.world.definition(), h.deps);
  loop.start();
  await h.clock.advanceAsync(0);
  h.store.write('b');
  h.store.write('b');
  await h.clock.advanceAsync(0);
  t.is(h.world.observeCount('a'), 1);
  t.is(h.world.observeCount('b'), 2);
  t.is(h.store.changesSinceCalls, 1, 'writes in one turn are coalesced into one poll');
  await loop.stop(0);
});

test('keysForChange receives the task ARNs and tables the feed reported', async (t) => {
  const h = harness();
  h.world.converged('a');
  const seen: LoopChange[] = [];
  const definition = h.world.definition();
  const loop = createLoop(
    {
      ...definition,
      keysForChange: (change) => {
        seen.push(change);
        return definition.keysForChange(change);
      },
    },
    h.deps,
  );
  loop.start();
  await h.clock.advanceAsync(0);
  h.store.write('a', 'z');
  await h.clock.advanceAsync(0);
  t.deepEqual(seen, [{ taskArns: ['a', 'z'], tables: ['tasks'], keysByTable: { tasks: ['a', 'z'] } }]);
  await loop.stop(0);
});

test('the poll timer picks up changes even without change notifications', async (t) => {
  const h = harness({ pollIntervalMs: 100 });
  h.store.notifyListeners = false;
  h.world.converged('a', 'b');
  const loop = createLoop(h.world.definition(), h.deps);
  loop.start();
  await h.clock.advanceAsync(0);
  h.store.write('a');
  await h.clock.advanceAsync(99);
  t.is(h.world.observeCount('a'), 1);
  await h.clock.advanceAsync(1);
  t.is(h.world.observeCount('a'), 2);
  t.is(h.world.observeCount('b'), 1);
  await loop.stop(0);
});

test("a change feed that lost track ('all') reconciles every key", async (t) => {
  const h = harness({ pollIntervalMs: 100 });
  const store = new FakeChangeFeed(2);
  store.notifyListeners = false;
  h.world.converged('a', 'b', 'c');
  const loop = createLoop(h.world.definition(), { ...h.deps, store });
  loop.start();
  await h.clock.advanceAsync(0);
  for (let i = 0; i < 5; i += 1) store.write('a');
  await h.clock.advanceAsync(100);
  t.deepEqual(
    ['a', 'b', 'c'].map((k) => h.world.observeCount(k)),
    [2, 2, 2],
  );
  await loop.stop(0);
});

test('the full resync runs every resyncIntervalMs with ±10 % jitter', async (t) => {
  const low = harness({ resyncIntervalMs: 10_000, random: () => 0 });
  low.world.converged('a');
  const lowLoop = createLoop(low.world.definition(), low.deps);
  lowLoop.start();
  await low.clock.advanceAsync(8_999);
  t.is(low.world.observeCount('a'), 1);
  await low.clock.advanceAsync(1);
  t.is(low.world.observeCount('a'), 2, 'resync at 0.9 × interval');
  await lowLoop.stop(0);

  const high = harness({ resyncIntervalMs: 10_000, random: () => 0.75 });
  high.world.converged('a');
  const highLoop = createLoop(high.world.definition(), high.deps);
  highLoop.start();
  await high.clock.advanceAsync(10_499);
  t.is(high.world.observeCount('a'), 1);
  await high.clock.advanceAsync(1);
  t.is(high.world.observeCount('a'), 2, 'resync at 1.05 × interval');
  await high.clock.advanceAsync(10_500);
  t.is(high.world.observeCount('a'), 3, 'and again one period later');
  await highLoop.stop(0);
});

test('a terminally failed key is skipped by resyncs and released by a later change to it', async (t) => {
  const h = harness({
    resyncIntervalMs: 1_000,
    random: () => 0.5,
    beforeObserve: (key, attempt) => {
      if (key === 'bad' && attempt === 0) throw new CannotStartContainerError('exec format error');
    },
  });
  h.world.converged('bad', 'good');
  const loop = createLoop(h.world.definition(), h.deps);
  loop.start();
  await h.clock.advanceAsync(5_000);
  t.is(h.world.observeCount('good'), 6, 'initial sync + 5 resyncs');
  t.is(h.world.observeCount('bad'), 1, 'held after its terminal error');
  t.is(loop.lastTerminalError('bad')?.code, 'CannotStartContainerError');

  h.store.write('bad');
  await h.clock.advanceAsync(0);
  t.is(h.world.observeCount('bad'), 2);
  t.is(loop.lastTerminalError('bad'), undefined);
  await h.clock.advanceAsync(1_000);
  t.is(h.world.observeCount('bad'), 3, 'back in the resync once it succeeded');
  await loop.stop(0);
});

test("a failing reconcile's own store write does not release its key; a later write does", async (t) => {
  const h = harness({
    pollIntervalMs: 100,
    beforeObserve: (key) => {
      if (key === 'bad') {
        h.store.write('bad');
        throw new CannotStartContainerError('exec format error');
      }
    },
  });
  h.store.notifyListeners = false;
  h.world.converged('bad');
  const loop = createLoop(h.world.definition(), h.deps);
  loop.start();
  await h.clock.advanceAsync(1_000);
  t.is(h.world.observeCount('bad'), 1, 'the write made while failing is not a new change');

  h.store.write('bad');
  await h.clock.advanceAsync(100);
  t.is(h.world.observeCount('bad'), 2);
  await loop.stop(0);
});

test('stop cancels polling and resync: later writes and time reconcile nothing', async (t) => {
  const h = harness({ pollIntervalMs: 100, resyncIntervalMs: 1_000 });
  h.world.converged('a');
  const loop = createLoop(h.world.definition(), h.deps);
  loop.start();
  await h.clock.advanceAsync(0);
  await loop.stop(5_000);
  t.is(loop.state(), 'stopped');
  t.is(h.clock.pendingTimers, 0);
  h.store.write('a');
  await h.clock.advanceAsync(10_000);
  t.is(h.world.observeCount('a'), 1);
  t.throws(() => loop.start());
});

test('a loop with watchedTables is not woken by writes to other tables; a watched write enqueues the key', async (t) => {
  const h = harness({ pollIntervalMs: 60_000 });
  h.world.converged('a', 'b');
  const loop = createLoop({ ...h.world.definition(), watchedTables: ['tasks', 'containers'] }, h.deps);
  loop.start();
  await h.clock.advanceAsync(0);
  h.store.writeTo('sent', 'a');
  h.store.writeTo('outbox', 'a', 'b');
  await h.clock.advanceAsync(0);
  t.is(h.world.observeCount('a'), 1, 'an unwatched write does not enqueue the key');
  t.is(h.store.changesSinceCalls, 0, 'nor even schedule a poll');

  h.store.writeTo('containers', 'b');
  await h.clock.advanceAsync(0);
  t.is(h.world.observeCount('a'), 1, 'the earlier unwatched writes to a are not picked up with it');
  t.is(h.world.observeCount('b'), 2);
  t.deepEqual(h.store.changesSinceTables, [['tasks', 'containers']], 'the feed is asked for watched tables only');
  await loop.stop(0);
});

test('a timer poll over unwatched writes moves past them without asking for keys', async (t) => {
  const h = harness({ pollIntervalMs: 100 });
  h.store.notifyListeners = false;
  h.world.converged('a', 'b');
  const changes: LoopChange[] = [];
  const definition = h.world.definition();
  const loop = createLoop(
    {
      ...definition,
      watchedTables: ['tasks'],
      keysForChange: (change) => {
        changes.push(change);
        return definition.keysForChange(change);
      },
    },
    h.deps,
  );
  loop.start();
  await h.clock.advanceAsync(0);
  h.store.writeTo('sent', 'a');
  await h.clock.advanceAsync(100);
  t.is(h.world.observeCount('a'), 1);
  t.deepEqual(changes, []);

  h.store.writeTo('sent', 'b');
  h.store.writeTo('tasks', 'a');
  await h.clock.advanceAsync(100);
  t.deepEqual(changes, [{ taskArns: ['a'], tables: ['tasks'], keysByTable: { tasks: ['a'] } }]);
  t.is(h.world.observeCount('a'), 2);
  t.is(h.world.observeCount('b'), 1);
  await loop.stop(0);
});

test('without watchedTables a write to any table wakes the loop, as before', async (t) => {
  const h = harness({ pollIntervalMs: 60_000 });
  h.world.converged('a');
  const loop = createLoop(h.world.definition(), h.deps);
  loop.start();
  await h.clock.advanceAsync(0);
  h.store.writeTo('sent', 'a');
  await h.clock.advanceAsync(0);
  t.is(h.world.observeCount('a'), 2);
  t.deepEqual(h.store.changesSinceTables, [undefined]);
  await loop.stop(0);
});

test('a parked key is released by a watched write only', async (t) => {
  const h = harness({
    pollIntervalMs: 60_000,
    beforeObserve: (key, attempt) => {
      if (key === 'bad' && attempt === 0) throw new CannotStartContainerError('exec format error');
    },
  });
  h.world.converged('bad');
  const loop = createLoop({ ...h.world.definition(), watchedTables: ['containers'] }, h.deps);
  loop.start();
  await h.clock.advanceAsync(0);
  t.truthy(loop.lastTerminalError('bad'));
  h.store.writeTo('sent', 'bad');
  await h.clock.advanceAsync(0);
  t.is(h.world.observeCount('bad'), 1);
  t.truthy(loop.lastTerminalError('bad'), 'still held');
  h.store.writeTo('containers', 'bad');
  await h.clock.advanceAsync(0);
  t.is(h.world.observeCount('bad'), 2);
  t.is(loop.lastTerminalError('bad'), undefined);
  await loop.stop(0);
});
