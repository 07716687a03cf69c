/** The system clock, recording every wait it is asked for (a reconnect backoff, say). */
import { type Clock, systemClock } from '../../src/clock.js';

export function recordingClock(): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    nowMs: systemClock.nowMs,
    setTimeout: systemClock.setTimeout,
    sleep: (ms, signal) => {
      sleeps.push(ms);
      return systemClock.sleep(ms, signal);
    },
  };
}
