/**
 * ajv validators for the ACS wire model: one per inbound message type (acs-messages.schema.json) and one for
 * a single Task (acs-task.schema.json). Compiled once per process and shared (they are pure).
 *
 * Values are validated after `withoutNulls`: the backend's JSON may carry `null` for an absent field, which
 * upstream's Go decoder reads as a nil pointer, i.e. as absent.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { findSchemaFile, pointerToPath } from '../local/task-definition-schema.js';
import { ACS_MESSAGE_TYPES, type AcsMessageType } from './message-types.js';
import type { AcsTask } from './model.js';

export const ACS_TASK_SCHEMA_FILE = 'acs-task.schema.json';
export const ACS_MESSAGES_SCHEMA_FILE = 'acs-messages.schema.json';
const MESSAGES_ID = 'https://ecsd.local/schemas/acs-messages.schema.json';

export interface AcsValidators {
  /** Problems with an inbound message of that type, as `path: what` lines; empty when valid. */
  message(type: AcsMessageType, value: unknown): string[];
  /** Problems with one PayloadMessage task; empty when it is an AcsTask. */
  task(value: unknown): string[];
}

/** Type guard over `AcsValidators.task`, for callers that go on to use the value. */
export function isValidTask(validators: AcsValidators, value: unknown): value is AcsTask {
  return validators.task(value).length === 0;
}

function loadSchema(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(findSchemaFile(name, import.meta.url), 'utf8')) as Record<string, unknown>;
}

export function createAcsValidators(): AcsValidators {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  ajv.addSchema(loadSchema(ACS_TASK_SCHEMA_FILE));
  ajv.addSchema(loadSchema(ACS_MESSAGES_SCHEMA_FILE));
  const task = ajv.getSchema('https://ecsd.local/schemas/acs-task.schema.json');
  if (task === undefined) throw new Error(`${ACS_TASK_SCHEMA_FILE} did not compile`);
  const messages = new Map<AcsMessageType, ValidateFunction>();
  for (const type of ACS_MESSAGE_TYPES) {
    const validate = ajv.getSchema(`${MESSAGES_ID}#/definitions/${type}`);
    if (validate === undefined) throw new Error(`${ACS_MESSAGES_SCHEMA_FILE} has no definition for ${type}`);
    messages.set(type, validate);
  }
  const run = (validate: ValidateFunction, value: unknown): string[] =>
    validate(value) ? [] : (validate.errors ?? []).map(describe);
  return {
    message: (type, value) => {
      const validate = messages.get(type);
      return validate === undefined ? [`no schema for ${type}`] : run(validate, value);
    },
    task: (value) => run(task, value),
  };
}

let shared: AcsValidators | undefined;

export function defaultAcsValidators(): AcsValidators {
  shared ??= createAcsValidators();
  return shared;
}

function describe(error: ErrorObject): string {
  const at = pointerToPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required') {
    const field = String(params['missingProperty']);
    return `${at === '' ? field : `${at}.${field}`}: is required`;
  }
  if (error.keyword === 'enum') {
    const allowed = (params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ');
    return `${at || '(message)'}: must be one of ${allowed}`;
  }
  return `${at || '(message)'}: ${error.message ?? `fails ${error.keyword}`}`;
}

/** A copy without `null` object members (array elements stay: a null task or container is an error). */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) if (field !== null) out[key] = withoutNulls(field);
  return out;
}
