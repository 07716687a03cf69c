/**
 * Line formatting pieces the pino pipeline cannot do by itself (fact sheet section 11):
 * - the record object: `msg` first, then child bindings, then the call's fields, with Errors rendered;
 * - RFC 3339 UTC timestamps at second precision (upstream formats with Go's `time.RFC3339`);
 * - the JSON → logfmt rewrite run once per line by pino's `streamWrite` hook.
 */
import { EcsdError } from '../errors.js';
import type { LogFields } from './types.js';

/** Keys the line itself owns; a field with one of these names is written as `fields.<name>` (logrus' habit). */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['level', 'time', 'msg']);

/**
 * Builds the object handed to pino. Putting `msg` in the object (instead of pino's message argument, which
 * pino appends last) keeps upstream's order: `level time msg fields…`. Child bindings are merged here rather
 * than with pino's own `child()` because pino serialises those before `msg`.
 */
export function buildRecord(msg: string, bindings: LogFields | undefined, fields: LogFields | undefined) {
  const record: Record<string, unknown> = { msg };
  if (bindings !== undefined) copyFields(record, bindings);
  if (fields !== undefined) copyFields(record, fields);
  return record;
}

/**
 * Errors print as their message like upstream's `err.Error()`; an EcsdError also adds `<key>Code` so the
 * stable code stays machine-readable. Only top-level values are rewritten (nested Errors are rare and would
 * cost a deep walk on every line).
 */
function copyFields(record: Record<string, unknown>, fields: LogFields): void {
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    const outKey = RESERVED_KEYS.has(key) ? `fields.${key}` : key;
    if (value instanceof Error) {
      record[outKey] = value.message;
      if (value instanceof EcsdError) record[`${outKey}Code`] = value.code;
    } else {
      record[outKey] = value;
    }
  }
}

/** `2024-06-01T12:00:00Z`. */
export function formatRfc3339Seconds(date: Date): string {
  return date.toISOString().slice(0, 19) + 'Z';
}

/** Formats the clock's time, reusing the string while the second has not changed (the agent logs on hot paths). */
export class TimestampCache {
  private lastSecond = Number.NaN;
  private lastText = '';

  constructor(private readonly clock: () => Date) {}

  now(): string {
    const date = this.clock();
    const second = Math.floor(date.getTime() / 1000);
    if (second !== this.lastSecond) {
      this.lastSecond = second;
      this.lastText = formatRfc3339Seconds(date);
    }
    return this.lastText;
  }
}

const UNSAFE_KEY_CHAR = /[\s="]/;
const UNSAFE_KEY_CHARS = /[\s="]/g;
/** A value that needs no quotes in logfmt. */
const BARE_WORD = /^[^\s="\\]+$/;
const BARE_KEYS: ReadonlySet<string> = new Set(['level', 'time', 'module']);
/** Characters JSON.stringify would escape; most log strings have none, and skip the call. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function logfmtKey(key: string): string {
  if (key === '') return '_';
  return UNSAFE_KEY_CHAR.test(key) ? key.replace(UNSAFE_KEY_CHARS, '_') : key;
}

function quote(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : '"' + text + '"';
}

/**
 * Strings are quoted (JSON escaping, which logfmt readers accept and which matches Go's `%q` for printable
 * text); numbers, booleans and null are plain like Go's `%+v`. Objects and arrays are written as quoted
 * compact JSON: Go's `%+v` struct form (`{a:1 b:2}`) has spaces and would break logfmt parsers.
 */
function logfmtValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
    case 'boolean':
      return String(value);
    default:
      return value === null ? 'null' : quote(JSON.stringify(value));
  }
}

/**
 * Rewrites one pino JSON line (`{"level":"info","time":"…","msg":"…",…}\n`) as
 * `level=info time=… msg="…" key=value…\n`. `level`, `time` and a plain-word `module` are bare as upstream prints them.
 * A line that does not parse is passed through untouched rather than lost.
 */
export function jsonLineToLogfmt(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  let out = '';
  for (const key of Object.keys(record)) {
    const value = record[key];
    // level, time and module are bare words upstream (`module=ecs_client.go` is seelog's file name, not a
    // quoted field); everything else follows the quoting rule above.
    const bare = typeof value === 'string' && BARE_KEYS.has(key) && BARE_WORD.test(value);
    const text = bare ? (value as string) : logfmtValue(value);
    out += (out === '' ? '' : ' ') + logfmtKey(key) + '=' + text;
  }
  return out + '\n';
}
