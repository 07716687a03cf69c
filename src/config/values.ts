/**
 * Converts between a variable's text form (as in the environment or ecs.config) and its parsed value,
 * dispatching on the schema's `x-kind`.
 */
import { formatDurationMs } from './duration.js';
import {
  type Parsed,
  parseCommaList,
  parseDecimal,
  parseDuration,
  parseGoBool,
  parseGoInt,
  parseHostPort,
  parseImageList,
  parseJsonArray,
  parseJsonObject,
  parsePortRange,
  parseRateLimit,
} from './scalars.js';
import type { PropertySpec } from './schema.js';
import type { HostPort, PortRange } from './types.js';

type SpecForParse = Pick<PropertySpec, 'kind' | 'aliases' | 'caseInsensitive'>;

export function parseText(spec: SpecForParse, text: string): Parsed<unknown> {
  switch (spec.kind) {
    case 'string':
      return { ok: true, value: text };
    case 'enum': {
      const word = spec.caseInsensitive ? text.toLowerCase() : text;
      return { ok: true, value: spec.aliases[word] ?? word };
    }
    case 'bool':
      return parseGoBool(text);
    case 'int':
      return parseGoInt(text);
    case 'number':
      return parseDecimal(text);
    case 'duration':
      return parseDuration(text);
    case 'json-list':
      return parseJsonArray(text);
    case 'json-map':
      return parseJsonObject(text);
    case 'csv-list':
      return parseCommaList(text);
    case 'image-list':
      return parseImageList(text);
    case 'port-range':
      return parsePortRange(text);
    case 'address':
      return parseHostPort(text);
    case 'rate-limit':
      return parseRateLimit(text);
  }
}

/** The text form of a parsed value: what `config print` shows, and what warnings quote. */
export function formatValue(spec: Pick<PropertySpec, 'kind'>, value: unknown): string {
  switch (spec.kind) {
    case 'duration':
      return formatDurationMs(value as number);
    case 'json-list':
    case 'json-map':
      return JSON.stringify(value);
    case 'csv-list':
    case 'image-list':
      return (value as string[]).join(',');
    case 'port-range': {
      const range = value as PortRange;
      return `${range.startPort}-${range.endPort}`;
    }
    case 'address': {
      const { host, port } = value as HostPort;
      return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    }
    case 'rate-limit': {
      const { steady, burst } = value as { steady: number; burst: number };
      return `${steady},${burst}`;
    }
    default:
      return String(value);
  }
}

/** Upstream's zero-value merge treats 0, an empty list and an empty map as "not set" (fact sheet 10). */
export function isZeroValue(value: unknown): boolean {
  if (value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (value !== null && typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}
