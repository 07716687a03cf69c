/**
 * Schema validation of one task-definition file against `schemas/task-definition.schema.json`, with ajv
 * errors turned into `{ path, message }` issues a person can act on: a dotted path to the field
 * (`containerDefinitions[0].portMappings[1].protocol`) and what was expected. All errors are collected at
 * once (ajv `allErrors`), so fixing a file takes one round, not one per mistake.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { TaskDefinition } from './task-definition-types.js';
import { validate as precompiledValidate } from './task-definition-validator.generated.js';
import { TASK_DEFINITION_AJV_OPTIONS } from './task-definition-validator-source.js';

export const TASK_DEFINITION_SCHEMA_FILE = 'task-definition.schema.json';

/** One problem with a task definition: where (dotted path, `''` for the whole document) and what. */
export interface DefinitionIssue {
  path: string;
  message: string;
}

export type TaskDefinitionValidator = (value: unknown) => DefinitionIssue[];

/**
 * Finds `schemas/<name>` by walking up from this module: the same code runs from `src/` (tsx) and from
 * `dist/src/` (compiled), and the schema stays a plain JSON file outside the build.
 */
export function findSchemaFile(name: string, fromUrl: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    const candidate = join(dir, 'schemas', name);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`schema file schemas/${name} not found above ${fileURLToPath(fromUrl)}`);
    dir = parent;
  }
}

export function loadTaskDefinitionSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(findSchemaFile(TASK_DEFINITION_SCHEMA_FILE), 'utf8')) as Record<string, unknown>;
}

/** Compiles `schema` now (~0.2–0.4 CPU-s for the shipped one); the returned function is pure and may be shared. */
export function createTaskDefinitionValidator(schema = loadTaskDefinitionSchema()): TaskDefinitionValidator {
  return issuesOf(new Ajv(TASK_DEFINITION_AJV_OPTIONS).compile<TaskDefinition>(schema));
}

function issuesOf(validate: ValidateFunction<TaskDefinition>): TaskDefinitionValidator {
  return (value) => (validate(value) ? [] : dedupe((validate.errors ?? []).map(toIssue)));
}

/** The shipped schema's validator, compiled ahead of time (immutable, so sharing it is safe). */
const defaultValidator = issuesOf(precompiledValidate as ValidateFunction<TaskDefinition>);

export function defaultTaskDefinitionValidator(): TaskDefinitionValidator {
  return defaultValidator;
}

/** `/containerDefinitions/0/name` → `containerDefinitions[0].name`. */
export function pointerToPath(pointer: string): string {
  if (pointer === '') return '';
  let path = '';
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^\d+$/.test(segment)) path += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

export function joinPath(parent: string, child: string | number): string {
  if (typeof child === 'number') return `${parent}[${child}]`;
  return parent === '' ? child : `${parent}.${child}`;
}

function toIssue(error: ErrorObject): DefinitionIssue {
  const at = pointerToPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return {
        path: joinPath(at, String(params['additionalProperty'])),
        message: 'unknown field (not part of the RegisterTaskDefinition request shape)',
      };
    case 'required':
      return { path: joinPath(at, String(params['missingProperty'])), message: 'is required' };
    case 'enum':
      return {
        path: at,
        message: `must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'type': {
      const types = Array.isArray(params['type']) ? (params['type'] as string[]) : String(params['type']).split(',');
      return { path: at, message: `must be ${types.map(article).join(' or ')}` };
    }
    case 'maxItems':
      return { path: at, message: `must have at most ${params['limit']} items (the RegisterTaskDefinition limit)` };
    case 'pattern': {
      const description = (error.parentSchema as { description?: string } | undefined)?.description;
      return { path: at, message: description ? `must be ${description}` : `must match ${params['pattern']}` };
    }
    default:
      return { path: at, message: error.message ?? `fails ${error.keyword}` };
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function dedupe(issues: DefinitionIssue[]): DefinitionIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
