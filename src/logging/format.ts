/**
 * Line formatting (fact sheet section 11): upstream's logfmt and json line shapes, written straight from the
 * call's message and fields.
 * - Key order is upstream's: `level time msg`, then child bindings, then the call's fields.
 * - Timestamps are RFC 3339 UTC at second precision (upstream formats with Go's `time.RFC3339`).
 */
import { EcsdError } from '../errors.js';
import type { LogFields } from './types.js';

/** Keys the line itself owns; a field with one of these names is written as `fields.<name>` (logrus' habit). */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['level', 'time', 'msg']);

/**
 * The line's fields in order: bindings, then the call's fields (a key in both keeps the bindings' position
 * and takes the call's value, as an object spread does).
 */
export function buildRecord(
  bindings: LogFields | undefined,
  fields: LogFields | undefined,
): Record<string, unknown> | undefined {
  if (bindings === undefined && fields === undefined) return undefined;
  const record: Record<string, unknown> = {};
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

/**
 * JSON text of a field value, or undefined where JSON has none (undefined, functions, symbols), so such a
 * field is left out of both line shapes. A value JSON.stringify refuses (a cycle, a BigInt) still gets a
 * line: losing the line would hide whatever was being reported.
 */
function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return JSON.stringify(value, tolerantReplacer());
  }
}

/** BigInts as decimal text; an object met again while it is being written becomes "[Circular]". */
function tolerantReplacer(): (this: unknown, key: string, value: unknown) => unknown {
  const open: unknown[] = [];
  return function (this: unknown, _key: string, value: unknown): unknown {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value !== 'object' || value === null) return value;
    // `this` is the holder of `value`: drop the ancestors we have already left.
    while (open.length > 0 && open[open.length - 1] !== this) open.pop();
    if (open.includes(value)) return '[Circular]';
    open.push(value);
    return value;
  };
}

const UNSAFE_KEY_CHAR = /[\s="]/;
const UNSAFE_KEY_CHARS = /[\s="]/g;
/** A value that needs no quotes in logfmt. */
const BARE_WORD = /^[^\s="\\]+$/;
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
 * compact JSON: Go's `%+v` struct form (`{a:1 b:2}`) has spaces and would break logfmt parsers. A value
 * with a JSON form of its own (a Date) is written as that form, as the json shape would show it.
 */
function logfmtValue(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default: {
      if (value === null) return 'null';
      const json = jsonText(value);
      if (json === undefined) return undefined;
      // A JSON string is already a valid quoted logfmt value; anything else is quoted as text.
      return json.startsWith('"') ? json : json === 'null' ? 'null' : quote(json);
    }
  }
}

/**
 * `level=info time=… msg="…" key=value…\n`. `level`, `time` and a plain-word `module` are bare words as
 * upstream prints them (`module=ecs_client.go` is seelog's file name, not a quoted field).
 */
export function formatLogfmtLine(
  levelWord: string,
  time: string,
  msg: string,
  record: Record<string, unknown> | undefined,
): string {
  let line = 'level=' + levelWord + ' time=' + time + ' msg=' + quote(msg);
  if (record !== undefined) {
    for (const key of Object.keys(record)) {
      const value = record[key];
      const text = key === 'module' && typeof value === 'string' && BARE_WORD.test(value) ? value : logfmtValue(value);
      if (text !== undefined) line += ' ' + logfmtKey(key) + '=' + text;
    }
  }
  return line + '\n';
}

/** `{"level":"info","time":"…","msg":"…",…}\n`: the same keys, in the same order, as one JSON object. */
export function formatJsonLine(
  levelWord: string,
  time: string,
  msg: string,
  record: Record<string, unknown> | undefined,
): string {
  let line = '{"level":"' + levelWord + '","time":"' + time + '","msg":' + JSON.stringify(msg);
  if (record !== undefined) {
    for (const key of Object.keys(record)) {
      const json = jsonText(record[key]);
      if (json !== undefined) line += ',' + JSON.stringify(key) + ':' + json;
    }
  }
  return line + '}\n';
}
