import test from 'ava';
import { createItemExponentialBackoff } from '../reconcilers/runtime/backoff.js';
import { WorkQueue } from '../reconcilers/runtime/work-queue.js';
import { FakeClock } from './helpers/fake-clock.js';

function queue(maxDepth = 100, maxDelayMs?: number): { q: WorkQueue; clock: FakeClock; ready: () => number } {
  const clock = new FakeClock();
  let readyCalls = 0;
  const q = new WorkQueue({
    clock,
    maxDepth,
    backoff: createItemExponentialBackoff({ maxDelayMs }),
    onReady: () => {
      readyCalls += 1;
    },
  });
  return { q, clock, ready: () => readyCalls };
}

function drain(q: WorkQueue): string[] {
  const keys: string[] = [];
  for (let key = q.get(); key !== undefined; key = q.get()) {
    keys.push(key);
    q.done(key);
  }
  return keys;
}

test('keys come out in FIFO order and duplicates collapse', (t) => {
  const { q, ready } = queue();
  for (const key of ['a', 'b', 'a', 'c', 'b']) t.true(q.add(key));
  t.is(q.depth, 3);
  t.is(ready(), 3, 'onReady only for keys that became ready');
  t.deepEqual(drain(q), ['a', 'b', 'c']);
  t.true(q.isIdle());
  t.is(q.get(), undefined);
});

test('a key added while processing is not handed out again until done, then exactly once', (t) => {
  const { q } = queue();
  q.add('a');
  t.is(q.get(), 'a');
  q.add('a');
  q.add('a');
  q.add('b');
  t.is(q.get(), 'b', 'a is processing, so the next key is b');
  t.is(q.get(), undefined);
  t.true(q.isProcessing('a'));
  q.done('b');
  q.done('a');
  t.is(q.get(), 'a');
  q.done('a');
  t.is(q.get(), undefined);
  t.true(q.isIdle());
});

test('addAfter delays an add and keeps the earlier of two pending times', async (t) => {
  const { q, clock } = queue();
  q.addAfter('a', 100);
  q.addAfter('a', 50);
  q.addAfter('a', 500);
  t.is(clock.pendingTimers, 1);
  clock.advance(49);
  t.is(q.get(), undefined);
  clock.advance(1);
  t.is(q.get(), 'a');
  q.done('a');
  clock.advance(1_000);
  t.is(q.get(), undefined, 'the later requests were merged into the earlier one');
  q.addAfter('b', 0);
  t.is(q.get(), 'b', 'no delay adds at once');
});

test('addRateLimited backs off per key; forget resets only that key', (t) => {
  const { q } = queue(100, 40);
  t.deepEqual(
    [1, 2, 3, 4, 5, 6].map(() => q.addRateLimited('a')),
    [5, 10, 20, 40, 40, 40],
  );
  t.is(q.addRateLimited('b'), 5, 'independent per key');
  t.is(q.numRequeues('a'), 6);
  q.forget('a');
  t.is(q.numRequeues('a'), 0);
  t.is(q.addRateLimited('a'), 5);
  t.is(q.addRateLimited('b'), 10);
});

test('a full queue refuses new keys into a FIFO overflow that drains as space frees', (t) => {
  const { q } = queue(2);
  t.deepEqual(
    ['a', 'b', 'c', 'd'].map((k) => q.add(k)),
    [true, true, false, false],
  );
  t.is(q.readyCount, 2);
  t.is(q.overflowCount, 2);
  t.is(q.depth, 4);
  t.is(q.get(), 'a');
  t.is(q.readyCount, 2, 'c moved in');
  t.is(q.overflowCount, 1);
  q.add('a');
  q.done('a');
  t.is(q.overflowCount, 2, 'a re-queued while full waits in overflow too');
  t.deepEqual(drain(q), ['b', 'c', 'd', 'a']);
  t.true(q.isIdle());
});

test('shutDown cancels delayed adds and refuses new ones', (t) => {
  const { q, clock } = queue();
  q.addAfter('a', 10);
  q.shutDown();
  t.is(clock.pendingTimers, 0);
  t.false(q.add('b'));
  clock.advance(100);
  t.is(q.get(), undefined);
});

test('in-flight stats report unfinished work and the longest-running key', (t) => {
  const { q, clock } = queue();
  q.add('a');
  q.add('b');
  q.get();
  clock.advance(3_000);
  q.get();
  clock.advance(1_000);
  t.deepEqual(q.inFlight(), { unfinishedWorkSeconds: 5, longestRunningProcessorSeconds: 4 });
  q.done('a');
  t.deepEqual(q.inFlight(), { unfinishedWorkSeconds: 1, longestRunningProcessorSeconds: 1 });
});

test('backoff defaults follow client-go: 5 ms base, 1000 s cap; bad options are refused', (t) => {
  const backoff = createItemExponentialBackoff();
  const delays = Array.from({ length: 30 }, () => backoff.when('k'));
  t.deepEqual(delays.slice(0, 4), [5, 10, 20, 40]);
  t.is(delays.at(-1), 1_000_000);
  t.is(Math.max(...delays), 1_000_000);
  for (let i = 0; i < 2000; i += 1) backoff.when('k');
  t.is(backoff.when('k'), 1_000_000, 'no overflow to Infinity after many failures');
  t.throws(() => createItemExponentialBackoff({ baseDelayMs: 0 }), { instanceOf: RangeError });
  t.throws(() => createItemExponentialBackoff({ baseDelayMs: 10, maxDelayMs: 5 }), { instanceOf: RangeError });
});
