/**
 * Turns ajv errors on the parsed-values object into one issue per variable, naming the variable, its
 * value as given and what is expected, with the failing details (item, key, bound) spelled out.
 */
import type { ErrorObject } from 'ajv';
import { formatDurationMs } from './duration.js';
import type { ConfigIssue } from './errors.js';
import type { PropertySpec } from './schema.js';

export interface GivenValue {
  text: string;
  source: ConfigIssue['source'];
}

export function issuesFromAjv(
  errors: readonly ErrorObject[],
  specs: ReadonlyMap<string, PropertySpec>,
  given: (variable: string) => GivenValue,
): ConfigIssue[] {
  const details = new Map<string, string[]>();
  for (const error of errors) {
    // ajv reports a bad key twice: once for the inner keyword (tagged with propertyName) and once as
    // `propertyNames`; keep the latter.
    if (error.propertyName !== undefined) continue;
    const [variable = '', ...rest] = error.instancePath.split('/').slice(1).map(unescapePointer);
    const spec = specs.get(variable);
    if (spec === undefined) continue;
    const list = details.get(variable) ?? [];
    const detail = describe(error, spec, rest);
    if (detail !== '' && !list.includes(detail)) list.push(detail);
    details.set(variable, list);
  }
  return [...details].map(([variable, list]) => {
    const spec = specs.get(variable)!;
    const { text, source } = given(variable);
    return {
      variable,
      value: spec.secret === 'full' ? '<redacted>' : text,
      expected: list.length === 0 ? spec.expected : `${spec.expected} (${list.join('; ')})`,
      ...(source === undefined ? {} : { source }),
    };
  });
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean',
  array: 'an array',
  object: 'an object',
};

/** One failing detail, or '' when the variable's `expected` text already says it all. */
function describe(error: ErrorObject, spec: PropertySpec, path: string[]): string {
  const where =
    path.length === 0
      ? ''
      : spec.kind === 'json-list' || spec.kind === 'csv-list' || spec.kind === 'image-list'
        ? `item ${path.join('/')} `
        : spec.kind === 'json-map'
          ? `key ${JSON.stringify(path.join('/'))} `
          : `${path.join('.')} `;
  const bound = (limit: unknown): string =>
    spec.kind === 'duration' && path.length === 0 ? formatDurationMs(limit as number) : String(limit);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'minimum':
      return `${where}must be at least ${bound(params['limit'])}`;
    case 'maximum':
      return `${where}must be at most ${bound(params['limit'])}`;
    case 'enum':
      return where === '' ? '' : `${where}must be one of ${(params['allowedValues'] as unknown[]).join(', ')}`;
    case 'type':
      return `${where}must be ${TYPE_WORDS[String(params['type'])] ?? String(params['type'])}`;
    case 'format':
      return `${where}must be a valid ${String(params['format'])}`;
    case 'propertyNames':
      return `key ${JSON.stringify(params['propertyName'])} is not allowed`;
    default:
      return `${where}${error.message ?? error.keyword}`;
  }
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}
