/**
 * Periodic work owned by its caller (start/stop): resyncs, and later image and task cleanup sweeps.
 * Two kinds of schedule, chosen by what is meant:
 * - `{ everyMs }`: an interval ("every 5 minutes, from whenever we started") on the injected clock's timers,
 *   optionally jittered so loops started together do not fire together. The next run is scheduled when the
 *   previous one finished, so runs never overlap.
 * - `{ cron }`: a wall-clock schedule ("at 03:00") through node-cron (v4: createTask, start, stop,
 *   destroy), with `noOverlap` so a slow run is never doubled.
 * A run that throws is logged and the schedule goes on.
 */
import cron from 'node-cron';
import type { Clock } from '../../src/clock.js';
import { errorMessage } from '../../src/errors.js';
import type { Logger } from '../../src/logging/types.js';

export type ScheduleSpec =
  | {
      everyMs: number;
      /** Each period varies by ± this fraction (e.g. 0.1 for ±10 %). Default 0. */
      jitterFraction?: number;
    }
  | {
      /** A cron expression (node-cron syntax, optional seconds field), e.g. `0 3 * * *`. */
      cron: string;
      /** IANA zone the expression is read in; default the host's. */
      timezone?: string;
    };

export interface ScheduledJob {
  readonly name: string;
  /** Begin the schedule; the first run comes after one period (or at the next cron match). */
  start(): void;
  /** End the schedule; resolves once a run in progress (if any) has finished. Idempotent. */
  stop(): Promise<void>;
  running(): boolean;
}

/** What the scheduler needs of node-cron; tests may pass their own. */
export interface CronLike {
  createTask(
    expression: string,
    run: () => Promise<void>,
    options: { name: string; noOverlap: boolean; timezone?: string },
  ): { start(): void | Promise<void>; stop(): void | Promise<void>; destroy(): void | Promise<void> };
  validate(expression: string): boolean;
}

export interface ScheduleDeps {
  clock: Clock;
  logger: Logger;
  /** Jitter source in [0, 1); default Math.random. */
  random?: () => number;
  /** Default node-cron. */
  cron?: CronLike;
}

const nodeCron: CronLike = {
  createTask: (expression, run, options) => cron.createTask(expression, run, options),
  validate: (expression) => cron.validate(expression),
};

export function scheduleJob(
  name: string,
  spec: ScheduleSpec,
  run: () => void | Promise<void>,
  deps: ScheduleDeps,
): ScheduledJob {
  const logger = deps.logger.child({ job: name });
  const runOnce = async (): Promise<void> => {
    try {
      await run();
    } catch (error) {
      logger.error('scheduled job failed', { error: errorMessage(error) });
    }
  };
  return 'cron' in spec ? cronJob(name, spec, runOnce, deps) : intervalJob(name, spec, runOnce, deps);
}

function intervalJob(
  name: string,
  spec: { everyMs: number; jitterFraction?: number },
  runOnce: () => Promise<void>,
  deps: ScheduleDeps,
): ScheduledJob {
  const { everyMs } = spec;
  const jitter = spec.jitterFraction ?? 0;
  if (!(everyMs > 0) || !(jitter >= 0 && jitter < 1)) {
    throw new RangeError(`job ${name}: everyMs must be > 0 and jitterFraction in [0, 1) (got ${everyMs}, ${jitter})`);
  }
  const random = deps.random ?? Math.random;
  let timer: { cancel(): void } | undefined;
  let active = false;
  let inProgress: Promise<void> | undefined;
  const scheduleNext = (): void => {
    const delayMs = everyMs * (1 - jitter + 2 * jitter * random());
    timer = deps.clock.setTimeout(() => {
      timer = undefined;
      if (!active) return;
      const current = runOnce();
      inProgress = current;
      void current.finally(() => {
        inProgress = undefined;
        if (active) scheduleNext();
      });
    }, delayMs);
  };
  return {
    name,
    start() {
      if (active) return;
      active = true;
      scheduleNext();
    },
    async stop() {
      active = false;
      timer?.cancel();
      timer = undefined;
      await inProgress;
    },
    running: () => active,
  };
}

function cronJob(
  name: string,
  spec: { cron: string; timezone?: string },
  runOnce: () => Promise<void>,
  deps: ScheduleDeps,
): ScheduledJob {
  const cronLib = deps.cron ?? nodeCron;
  if (!cronLib.validate(spec.cron)) throw new RangeError(`job ${name}: invalid cron expression "${spec.cron}"`);
  let task: ReturnType<CronLike['createTask']> | undefined;
  let inProgress: Promise<void> | undefined;
  const tracked = (): Promise<void> => {
    const current = runOnce();
    inProgress = current;
    return current.finally(() => {
      if (inProgress === current) inProgress = undefined;
    });
  };
  return {
    name,
    start() {
      if (task !== undefined) return;
      task = cronLib.createTask(spec.cron, tracked, {
        name,
        noOverlap: true,
        ...(spec.timezone === undefined ? {} : { timezone: spec.timezone }),
      });
      void task.start();
    },
    async stop() {
      const current = task;
      task = undefined;
      if (current !== undefined) {
        await current.stop();
        await current.destroy();
      }
      await inProgress;
    },
    running: () => task !== undefined,
  };
}
