/** Small request-body checks that answer InvalidParameterException naming the field, as ECS does. */
import { clientError } from './aws-json.js';

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const invalid = (message: string) => clientError('InvalidParameterException', message);

export function optionalString(body: JsonObject, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${field} must be a string, got ${typeof value}`);
  return value;
}

export function requiredString(body: JsonObject, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined || value === '') throw invalid(`${field} is required`);
  return value;
}

export function optionalArray(body: JsonObject, field: string): unknown[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalid(`${field} must be a list`);
  return value;
}

export function objectItems(body: JsonObject, field: string): JsonObject[] {
  const items = optionalArray(body, field) ?? [];
  return items.map((item, index) => {
    if (!isObject(item)) throw invalid(`${field}[${index}] must be an object`);
    return item;
  });
}

export function oneOf(value: string | undefined, field: string, allowed: readonly string[]): void {
  if (value !== undefined && !allowed.includes(value)) {
    throw invalid(`${field} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
}

export function optionalNumber(body: JsonObject, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`${field} must be a number`);
  return value;
}
