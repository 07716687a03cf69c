/**
 * Decoding a `dockerConfig.config` / `dockerConfig.hostConfig` JSON string on top of the body the agent
 * built, with Go `json.Unmarshal` semantics (fact sheet 3.5): keys match Docker API field names
 * case-insensitively (exact match first), keys that are not fields are dropped, objects merge key by key
 * into existing structs and maps, arrays replace, `null` clears a list/map/struct and leaves a scalar
 * alone, and a value of the wrong JSON type fails the whole decode — as do malformed JSON and a top
 * level that is not an object. Errors carry the upstream wording, as the container's stop reason.
 */
import { CannotCreateContainerError } from '../../src/errors.js';
import {
  DOCKER_CONFIG_FIELDS,
  DOCKER_HOST_CONFIG_FIELDS,
  type FieldKind,
  type FieldTable,
} from './create-docker-fields.js';

export type OverlayTarget = 'config' | 'hostConfig';

/** Upstream message prefixes (agent/api/task/task.go `dockerConfig` / `dockerHostConfig`). */
export const OVERLAY_ERROR_PREFIX: Readonly<Record<OverlayTarget, string>> = {
  config: 'Unable decode given docker config: ',
  hostConfig: 'Unable to decode given host config: ',
};

const TABLES: Readonly<Record<OverlayTarget, FieldTable>> = {
  config: DOCKER_CONFIG_FIELDS,
  hostConfig: DOCKER_HOST_CONFIG_FIELDS,
};

class DecodeError extends Error {}

/**
 * Returns `base` with the overlay decoded on top; `base` itself is not modified. An absent or blank
 * string leaves `base` as it is.
 */
export function applyDockerConfigOverlay(
  base: Readonly<Record<string, unknown>>,
  json: string | undefined,
  target: OverlayTarget,
): Record<string, unknown> {
  const result = structuredClone(base) as Record<string, unknown>;
  if (json === undefined || json.trim() === '') return result;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw overlayError(target, error instanceof Error ? error.message : String(error), error);
  }
  // `null` at the top level decodes to nothing in Go.
  if (parsed === null) return result;
  try {
    decodeStruct(result, parsed, TABLES[target], target === 'config' ? 'Config' : 'HostConfig');
  } catch (error) {
    if (error instanceof DecodeError) throw overlayError(target, error.message, error);
    throw error;
  }
  return result;
}

/**
 * Whether the overlay JSON names `field` at its top level (in any letter case, with any value, `null`
 * included): what Go's decode would have written into that field. Malformed JSON names nothing (applying
 * it fails anyway).
 */
export function overlayNamesField(json: string | undefined, target: OverlayTarget, field: string): boolean {
  if (json === undefined || json.trim() === '') return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return false;
  }
  if (!isPlainObject(parsed)) return false;
  return Object.keys(parsed).some((key) => canonicalKey(TABLES[target], key) === field);
}

function overlayError(
  target: OverlayTarget,
  detail: string,
  cause: unknown,
): InstanceType<typeof CannotCreateContainerError> {
  return new CannotCreateContainerError(`${OVERLAY_ERROR_PREFIX[target]}${detail}`, { cause, context: { target } });
}

/** Key lookup as Go does it: an exact field name first, then a case-insensitive one. */
const foldedTables = new WeakMap<FieldTable, Map<string, string>>();

function canonicalKey(table: FieldTable, key: string): string | undefined {
  if (Object.hasOwn(table, key)) return key;
  let folded = foldedTables.get(table);
  if (!folded) {
    folded = new Map(Object.keys(table).map((name) => [name.toLowerCase(), name]));
    foldedTables.set(table, folded);
  }
  return folded.get(key.toLowerCase());
}

function decodeStruct(target: Record<string, unknown>, source: unknown, table: FieldTable, path: string): void {
  if (!isPlainObject(source)) throw mismatch(source, path, 'struct');
  for (const [rawKey, value] of Object.entries(source)) {
    const key = canonicalKey(table, rawKey);
    if (key === undefined) continue;
    const kind = table[key]!;
    const decoded = decodeValue(target[key], value, kind, `${path}.${key}`);
    if (decoded === undefined) delete target[key];
    else target[key] = decoded;
  }
}

/** The new value for a field, or undefined to remove it. */
function decodeValue(current: unknown, value: unknown, kind: FieldKind, path: string): unknown {
  if (value === null) return typeof kind === 'string' && isScalar(kind) ? current : undefined;
  if (typeof kind === 'string') {
    switch (kind) {
      case 'int':
        if (typeof value !== 'number' || !Number.isInteger(value)) throw mismatch(value, path, 'int64');
        return value;
      case 'string':
        if (typeof value !== 'string') throw mismatch(value, path, 'string');
        return value;
      case 'bool':
        if (typeof value !== 'boolean') throw mismatch(value, path, 'bool');
        return value;
      case 'strings':
        return decodeStrings(value, path, '[]string');
      case 'strslice':
        return typeof value === 'string' ? [value] : decodeStrings(value, path, 'strslice.StrSlice');
      case 'any':
        return structuredClone(value);
    }
  }
  if ('map' in kind) {
    if (!isPlainObject(value)) throw mismatch(value, path, 'map');
    const merged: Record<string, unknown> = isPlainObject(current) ? { ...current } : {};
    for (const [key, element] of Object.entries(value)) {
      // Go stores the zero value for a null map element: "" for strings, nil otherwise.
      merged[key] =
        element === null
          ? kind.map === 'string'
            ? ''
            : null
          : decodeValue(undefined, element, kind.map, `${path}[${key}]`);
    }
    return merged;
  }
  if ('struct' in kind) {
    const merged: Record<string, unknown> = isPlainObject(current) ? { ...current } : {};
    decodeStruct(merged, value, kind.struct, path);
    return merged;
  }
  if (!Array.isArray(value)) throw mismatch(value, path, '[]struct');
  return value.map((element, i) => {
    const item: Record<string, unknown> = {};
    if (element !== null) decodeStruct(item, element, kind.list, `${path}[${i}]`);
    return item;
  });
}

function decodeStrings(value: unknown, path: string, goType: string): string[] {
  if (!Array.isArray(value)) throw mismatch(value, path, goType);
  return value.map((element, i) => {
    if (element === null) return '';
    if (typeof element !== 'string') throw mismatch(element, `${path}[${i}]`, 'string');
    return element;
  });
}

function isScalar(kind: string): boolean {
  return kind === 'int' || kind === 'string' || kind === 'bool';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Go's wording: `json: cannot unmarshal string into Go struct field HostConfig.Memory of type int64`. */
function mismatch(value: unknown, path: string, goType: string): DecodeError {
  const jsonType = Array.isArray(value)
    ? 'array'
    : value === null
      ? 'null'
      : typeof value === 'object'
        ? 'object'
        : typeof value;
  return new DecodeError(`json: cannot unmarshal ${jsonType} into Go struct field ${path} of type ${goType}`);
}
