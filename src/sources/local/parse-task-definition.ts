/**
 * One task-definition file's text → a validated `TaskDefinition`, or a `TaskValidationError` whose message
 * names the file and every bad field with what was expected, all at once:
 *   `web.json: containerDefinitions[0].memry: unknown field (…); networkMode: must be one of "bridge", …`
 */
import { TaskValidationError } from '../../errors.js';
import { jsonSyntaxErrorPosition } from './json-syntax-position.js';
import { checkTaskDefinition } from './task-definition-checks.js';
import {
  type DefinitionIssue,
  defaultTaskDefinitionValidator,
  type TaskDefinitionValidator,
} from './task-definition-schema.js';
import type { TaskDefinition } from './task-definition-types.js';

export function parseTaskDefinitionFile(
  path: string,
  text: string,
  validator: TaskDefinitionValidator = defaultTaskDefinitionValidator(),
): TaskDefinition {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(path, [{ path: '', message: `invalid JSON: ${describeJsonError(text)}` }]);
  }
  const schemaIssues = validator(value);
  if (schemaIssues.length > 0) throw invalid(path, schemaIssues);
  const definition = value as TaskDefinition;
  const issues = checkTaskDefinition(definition);
  if (issues.length > 0) throw invalid(path, issues);
  return definition;
}

export function formatIssues(issues: readonly DefinitionIssue[]): string {
  return issues.map((issue) => (issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`)).join('; ');
}

function invalid(path: string, issues: DefinitionIssue[]): InstanceType<typeof TaskValidationError> {
  return new TaskValidationError(`${path}: ${formatIssues(issues)}`, { context: { file: path, issues } });
}

/** Position only: JSON.parse's own message quotes the text, which may be a secret file's start. */
function describeJsonError(text: string): string {
  const position = jsonSyntaxErrorPosition(text);
  return position === undefined ? 'syntax error' : `syntax error at line ${position.line}, column ${position.column}`;
}
