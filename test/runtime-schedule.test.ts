import test from 'ava';
import { type CronLike, scheduleJob } from '../reconcilers/runtime/schedule.js';
import { silentLogger } from '../src/logging/types.js';
import { FakeClock, flushAsync } from './helpers/fake-clock.js';
import { waitFor } from './helpers/wait-for.js';

test('an interval job runs every period (jittered), never overlaps, survives a throw, and stops', async (t) => {
  const clock = new FakeClock();
  const runs: number[] = [];
  let release: (() => void) | undefined;
  const job = scheduleJob(
    'sweep',
    { everyMs: 1_000, jitterFraction: 0.1 },
    async () => {
      runs.push(clock.nowMs());
      if (runs.length === 2) throw new Error('one bad sweep');
      if (runs.length === 3) await new Promise<void>((resolve) => (release = resolve));
    },
    { clock, logger: silentLogger, random: () => 1 },
  );
  const start = clock.nowMs();
  job.start();
  t.true(job.running());
  await clock.advanceAsync(1_099);
  t.deepEqual(runs, [], 'random 1 → +10 %: 1100 ms');
  await clock.advanceAsync(1);
  t.deepEqual(runs, [start + 1_100]);
  await clock.advanceAsync(1_100);
  await clock.advanceAsync(1_100);
  t.is(runs.length, 3, 'a throwing run does not end the schedule');
  await clock.advanceAsync(10_000);
  t.is(runs.length, 3, 'no second run while the third is still going');
  const stopped = job.stop();
  release?.();
  await stopped;
  t.false(job.running());
  await clock.advanceAsync(10_000);
  await flushAsync();
  t.is(runs.length, 3, 'nothing after stop');
  t.is(clock.pendingTimers, 0);
});

test('a cron job goes through node-cron: created with noOverlap, started, stopped and destroyed', async (t) => {
  const calls: string[] = [];
  let fire: (() => Promise<void>) | undefined;
  const fakeCron: CronLike = {
    validate: (expression) => expression === '0 3 * * *',
    createTask: (expression, run, options) => {
      calls.push(`create ${expression} noOverlap=${options.noOverlap} tz=${options.timezone}`);
      fire = run;
      return {
        start: () => void calls.push('start'),
        stop: () => void calls.push('stop'),
        destroy: () => void calls.push('destroy'),
      };
    },
  };
  let runs = 0;
  const job = scheduleJob(
    'image-cleanup',
    { cron: '0 3 * * *', timezone: 'UTC' },
    () => {
      runs += 1;
    },
    { clock: new FakeClock(), logger: silentLogger, cron: fakeCron },
  );
  job.start();
  await fire?.();
  t.is(runs, 1);
  await job.stop();
  t.deepEqual(calls, ['create 0 3 * * * noOverlap=true tz=UTC', 'start', 'stop', 'destroy']);
  t.throws(
    () =>
      scheduleJob('bad', { cron: 'not cron' }, () => {}, {
        clock: new FakeClock(),
        logger: silentLogger,
        cron: fakeCron,
      }),
    { instanceOf: RangeError },
  );
});

test('a cron job runs on the real node-cron and stops', async (t) => {
  let runs = 0;
  const job = scheduleJob(
    'every-second',
    { cron: '* * * * * *' },
    () => {
      runs += 1;
    },
    { clock: new FakeClock(), logger: silentLogger },
  );
  job.start();
  await waitFor('a scheduled run', () => runs >= 1, { timeoutMs: 5_000 });
  await job.stop();
  const after = runs;
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  t.is(runs, after, 'no run after stop');
});
