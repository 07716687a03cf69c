/**
 * formatGoDuration: timeouts in container reasons read like Go's time.Duration.String(), as upstream's
 * "Could not transition to created; timed out after waiting 4m0s" does (fact sheet 4.6, 4.9).
 */
import test from 'ava';
import { formatGoDuration } from '../reconcilers/containers/executor.js';

test('whole durations print like Go: hours, minutes and seconds, zero units kept after the first', (t) => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [1_000, '1s'],
    [45_000, '45s'],
    [59_000, '59s'],
    [60_000, '1m0s'],
    [180_000, '3m0s'],
    [240_000, '4m0s'],
    [90_000, '1m30s'],
    [3_600_000, '1h0m0s'],
    [3_661_000, '1h1m1s'],
    [7_200_000 + 5_000, '2h0m5s'],
    [26 * 3_600_000, '26h0m0s'],
  ];
  for (const [ms, expected] of cases) t.is(formatGoDuration(ms), expected, `${ms} ms`);
});

test('fractional seconds print like Go (1m30.5s, 500ms), not rounded', (t) => {
  t.is(formatGoDuration(90_500), '1m30.5s');
  t.is(formatGoDuration(500), '500ms');
});
