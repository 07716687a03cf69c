/**
 * Go `time.ParseDuration` syntax, as upstream reads every duration variable (fact sheet 10): an optional
 * sign, then one or more `<decimal><unit>` terms (`1h30m`, `1.5h`, `.5s`, `500ms`), units ns, us, µs, μs,
 * ms, s, m, h. A bare `0` is the only number accepted without a unit. Results are milliseconds: inside
 * ecsd every duration is a number with `Ms` in its name.
 */

const NS_PER_UNIT: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['µs', 1_000n], // U+00B5 micro sign
  ['μs', 1_000n], // U+03BC Greek mu
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

/** Go durations are int64 nanoseconds; anything beyond is an overflow error there too. */
const MAX_NS = (1n << 63n) - 1n;

const TERM = /^(\d*)(?:\.(\d*))?([^\d.]*)/;

export type DurationParse = { ok: true; ms: number } | { ok: false; reason: string };

export function parseGoDuration(text: string): DurationParse {
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (rest === '0') return { ok: true, ms: 0 };
  if (rest === '') return { ok: false, reason: 'empty duration' };
  let totalNs = 0n;
  while (rest !== '') {
    const match = TERM.exec(rest);
    const whole = match?.[1] ?? '';
    const fraction = match?.[2];
    const unit = match?.[3] ?? '';
    if (match === null || (whole === '' && (fraction === undefined || fraction === ''))) {
      return { ok: false, reason: `no number before "${rest}"` };
    }
    if (unit === '') return { ok: false, reason: `missing unit after "${match[0]}"` };
    const unitNs = NS_PER_UNIT.get(unit);
    if (unitNs === undefined) return { ok: false, reason: `unknown unit "${unit}"` };
    let termNs = BigInt(whole === '' ? '0' : whole) * unitNs;
    if (fraction !== undefined && fraction !== '') {
      termNs += (BigInt(fraction) * unitNs) / 10n ** BigInt(fraction.length);
    }
    totalNs += termNs;
    if (totalNs > MAX_NS + (negative ? 1n : 0n)) return { ok: false, reason: 'out of range (int64 nanoseconds)' };
    rest = rest.slice(match[0].length);
  }
  const ms = Number(totalNs) / 1e6;
  return { ok: true, ms: negative ? -ms : ms };
}

const MS_PER_HOUR = 3_600_000;
const MS_PER_MINUTE = 60_000;

/**
 * The shortest Go-syntax text for a duration in ms (`3h`, `1h30m`, `1.5s`, `500ms`): parseable by
 * `parseGoDuration`, used when printing effective values and in warnings.
 */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 0) return `-${formatDurationMs(-ms)}`;
  if (ms < 1) return `${trimNumber(ms * 1000)}us`;
  if (ms < 1000) return `${trimNumber(ms)}ms`;
  const hours = Math.floor(ms / MS_PER_HOUR);
  const minutes = Math.floor((ms % MS_PER_HOUR) / MS_PER_MINUTE);
  const seconds = (ms % MS_PER_MINUTE) / 1000;
  return `${hours ? `${hours}h` : ''}${minutes ? `${minutes}m` : ''}${seconds ? `${trimNumber(seconds)}s` : ''}`;
}

function trimNumber(value: number): string {
  return String(Number(value.toFixed(6)));
}
