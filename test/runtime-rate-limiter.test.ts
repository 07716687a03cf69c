import test from 'ava';
import { createItemExponentialBackoff } from '../reconcilers/runtime/backoff.js';
import {
  createBucketRateLimiter,
  createControllerRateLimiter,
  createMaxOfRateLimiter,
} from '../reconcilers/runtime/rate-limiter.js';
import { FakeClock } from './helpers/fake-clock.js';

test('the bucket lets a burst through at once, then one token per 1/qps', (t) => {
  const clock = new FakeClock();
  const bucket = createBucketRateLimiter({ clock, qps: 10, burst: 3 });
  t.deepEqual([bucket.when('a'), bucket.when('b'), bucket.when('c')], [0, 0, 0]);
  t.is(bucket.when('d'), 100, 'the 4th token exists 100 ms from now');
  t.is(bucket.when('e'), 200, 'reservations queue up behind each other');
  clock.advance(1_000);
  // 1 s refills 10 tokens minus the 2 reserved, capped at the burst.
  t.deepEqual([bucket.when('f'), bucket.when('g'), bucket.when('h'), bucket.when('i')], [0, 0, 0, 100]);
});

test('client-go defaults: 10 qps, burst 100', (t) => {
  const clock = new FakeClock();
  const bucket = createBucketRateLimiter({ clock });
  for (let i = 0; i < 100; i++) t.is(bucket.when(`k${i}`), 0);
  t.is(bucket.when('k100'), 100);
});

test('max-of: a failing key backs off exponentially while a storm of keys is held to the bucket', (t) => {
  const clock = new FakeClock();
  const limiter = createControllerRateLimiter({ clock, baseDelayMs: 5, maxDelayMs: 1_000, qps: 10, burst: 2 });
  t.is(limiter.when('a'), 5, 'per-key backoff wins while the bucket has tokens');
  t.is(limiter.when('a'), 10);
  t.is(limiter.when('b'), 100, 'bucket empty: its delay is the larger');
  t.is(limiter.numRequeues('a'), 2);
  limiter.forget('a');
  t.is(limiter.numRequeues('a'), 0);
  clock.advance(10_000);
  for (let i = 0; i < 8; i++) limiter.when('a');
  t.is(limiter.when('a'), 1_000, 'capped');
});

test('max-of takes the largest delay and forgets in every limiter', (t) => {
  const one = createItemExponentialBackoff({ baseDelayMs: 1, maxDelayMs: 100 });
  const two = createItemExponentialBackoff({ baseDelayMs: 7, maxDelayMs: 100 });
  const max = createMaxOfRateLimiter(one, two);
  t.is(max.when('k'), 7);
  t.is(max.when('k'), 14);
  max.forget('k');
  t.is(one.numRequeues('k') + two.numRequeues('k'), 0);
  t.throws(() => createMaxOfRateLimiter(), { instanceOf: RangeError });
  t.throws(() => createBucketRateLimiter({ clock: new FakeClock(), qps: 0 }), { instanceOf: RangeError });
});
