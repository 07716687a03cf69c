/**
 * Text → value parsers for each `x-kind`, matching how upstream reads its variables (fact sheet 10):
 * booleans with Go `strconv.ParseBool`, integers with `strconv.Atoi`, lists and maps as JSON. Each returns
 * the value or the reason it is malformed; ranges and element types are checked afterwards by the schema.
 */
import { parseGoDuration } from './duration.js';
import type { HostPort, PortRange } from './types.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go `strconv.ParseBool`: exactly these twelve spellings. */
export function parseGoBool(text: string): Parsed<boolean> {
  if (GO_TRUE.has(text)) return ok(true);
  if (GO_FALSE.has(text)) return ok(false);
  return fail('not a boolean');
}

/** Go `strconv.Atoi`: optional sign and decimal digits only. */
export function parseGoInt(text: string): Parsed<number> {
  if (!/^[+-]?\d+$/.test(text)) return fail('not an integer');
  const value = Number(text);
  return Number.isSafeInteger(value) ? ok(value) : fail('integer out of range');
}

/** Go `strconv.ParseFloat` for plain decimal and exponent forms (no NaN/Inf, no hex). */
export function parseDecimal(text: string): Parsed<number> {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return fail('not a number');
  const value = Number(text);
  return Number.isFinite(value) ? ok(value) : fail('number out of range');
}

export function parseDuration(text: string): Parsed<number> {
  const parsed = parseGoDuration(text);
  return parsed.ok ? ok(parsed.ms) : fail(parsed.reason);
}

export function parseJsonArray(text: string): Parsed<unknown[]> {
  const value = parseJson(text);
  if (!value.ok) return value;
  return Array.isArray(value.value) ? ok(value.value) : fail('not a JSON array');
}

export function parseJsonObject(text: string): Parsed<Record<string, unknown>> {
  const value = parseJson(text);
  if (!value.ok) return value;
  const object = value.value;
  if (object === null || typeof object !== 'object' || Array.isArray(object)) return fail('not a JSON object');
  return ok(object as Record<string, unknown>);
}

function parseJson(text: string): Parsed<unknown> {
  try {
    return ok(JSON.parse(text));
  } catch (error) {
    return fail(`invalid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** `a, b ,c` → `['a','b','c']`; empty items are dropped (ECS_EXCLUDE_UNTRACKED_IMAGE). */
export function parseCommaList(text: string): Parsed<string[]> {
  return ok(
    text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );
}

/**
 * An image list (ECSD_PINNED_IMAGES, ECSD_PREPULL_IMAGES) in either form an operator is likely to write:
 * a JSON array when the text starts with `[` (so a typo in JSON is an error, not one odd image name), else a
 * comma list like ECS_EXCLUDE_UNTRACKED_IMAGE. Item types (strings) are checked by the schema.
 */
export function parseImageList(text: string): Parsed<unknown[]> {
  return text.startsWith('[') ? parseJsonArray(text) : parseCommaList(text);
}

/** `start-end` (ECS_DYNAMIC_HOST_PORT_RANGE); bounds are checked by the schema. */
export function parsePortRange(text: string): Parsed<PortRange> {
  const match = /^(\d+)\s*-\s*(\d+)$/.exec(text);
  if (match === null) return fail('not of the form start-end');
  const startPort = Number(match[1]);
  const endPort = Number(match[2]);
  if (startPort > endPort) return fail('start port is greater than end port');
  return ok({ startPort, endPort });
}

/** `host:port` or `[ipv6]:port`; the port range is checked by the schema. */
export function parseHostPort(text: string): Parsed<HostPort> {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const plain = /^([^:[\]\s]+):(\d+)$/.exec(text);
  const match = bracketed ?? plain;
  if (match === null) return fail('not of the form host:port');
  return ok({ host: match[1] ?? '', port: Number(match[2]) });
}

/**
 * `steady,burst` (ECS_TASK_METADATA_RPS_LIMIT): exactly two comma-separated integers, spaces allowed around
 * each (upstream trims them, fact sheet 5.5).
 */
export function parseRateLimit(text: string): Parsed<{ steady: number; burst: number }> {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.length !== 2) return fail('not of the form steady,burst');
  const steady = parseGoInt(parts[0] ?? '');
  const burst = parseGoInt(parts[1] ?? '');
  if (!steady.ok || !burst.ok) return fail('steady and burst must be integers');
  return ok({ steady: steady.value, burst: burst.value });
}
