/**
 * Loads `schemas/config.schema.json` — the single source of names, defaults, kinds and limits — registers
 * its `x-*` annotation keywords with ajv (so a typo in the schema fails compilation), compiles it, and
 * turns each property into a typed `PropertySpec` with its default already parsed.
 */
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { InternalError } from '../errors.js';
import type { ConfigFlags } from './types.js';
import { parseText } from './values.js';

export const VALUE_KINDS = [
  'string',
  'bool',
  'int',
  'number',
  'duration',
  'json-list',
  'json-map',
  'csv-list',
  'image-list',
  'enum',
  'port-range',
  'address',
  'rate-limit',
] as const;
export type ValueKind = (typeof VALUE_KINDS)[number];

export const FLAG_NAMES = [
  'acceptInsecureCert',
  'logLevel',
  'logLevelDriver',
  'logLevelOnInstance',
  'tasksDir',
  'configFilePath',
] as const satisfies readonly (keyof ConfigFlags)[];
export type StringFlagName = Exclude<(typeof FLAG_NAMES)[number], 'acceptInsecureCert'>;

/** The JSON type each kind's parsed value must be declared as in the schema. */
const KIND_JSON_TYPE: Readonly<Record<ValueKind, string>> = {
  string: 'string',
  bool: 'boolean',
  int: 'integer',
  number: 'number',
  duration: 'number',
  'json-list': 'array',
  'json-map': 'object',
  'csv-list': 'array',
  'image-list': 'array',
  enum: 'string',
  'port-range': 'object',
  address: 'object',
  'rate-limit': 'object',
};

/** Annotation keywords and the shape of their values (checked by ajv when the schema compiles). */
const ANNOTATION_KEYWORDS: Readonly<Record<string, object>> = {
  'x-kind': { enum: [...VALUE_KINDS] },
  'x-field': { type: 'string', pattern: '^[a-z][A-Za-z0-9]*$' },
  'x-default': { type: 'string' },
  'x-default-derived': { type: 'string' },
  'x-secret': { enum: [true, 'userinfo'] },
  'x-flags': { type: 'array', items: { enum: FLAG_NAMES.filter((flag) => flag !== 'acceptInsecureCert') } },
  'x-aliases': { type: 'object', additionalProperties: { type: 'string' } },
  'x-case-insensitive': { type: 'boolean' },
  'x-zero-default': { type: 'boolean' },
  'x-clamp-min': { type: ['string', 'number'] },
  'x-clamp-below': { enum: ['min', 'default'] },
  'x-clamp-max': { type: ['string', 'number'] },
  'x-clamp-above': { enum: ['max', 'default'] },
  'x-expected': { type: 'string' },
  'x-origin': { enum: ['readme', 'fact-sheet', 'ecs-init', 'ecsd'] },
};

export interface PropertySpec {
  variable: string;
  kind: ValueKind;
  /** The AgentConfig field. */
  field: string;
  description: string;
  defaultText?: string;
  /** `defaultText` parsed; undefined when the variable has no default. */
  defaultValue?: unknown;
  derivedDefault?: string;
  secret: false | 'full' | 'userinfo';
  /** ConfigFlags that override this variable, highest precedence first. */
  flags: readonly StringFlagName[];
  aliases: Readonly<Record<string, string>>;
  caseInsensitive: boolean;
  zeroDefault: boolean;
  clampMin?: number;
  clampBelow: 'min' | 'default';
  clampMax?: number;
  clampAbove: 'max' | 'default';
  /** Human description of a valid value, for error messages. */
  expected: string;
}

export interface ConfigSchema {
  specs: ReadonlyMap<string, PropertySpec>;
  /** Validates the object of parsed values keyed by env var name. */
  validate: ValidateFunction;
}

type RawProperty = Record<string, unknown> & { type?: string; enum?: string[] };

export function compileConfigSchema(schema: { properties: Record<string, RawProperty> }): ConfigSchema {
  const ajv = new Ajv({ allErrors: true, strict: true });
  ajv.addFormat('cidr', { type: 'string', validate: isCidr });
  for (const [keyword, metaSchema] of Object.entries(ANNOTATION_KEYWORDS)) ajv.addKeyword({ keyword, metaSchema });
  const validate = ajv.compile(schema);

  const specs = new Map<string, PropertySpec>();
  const fields = new Set<string>();
  for (const [variable, property] of Object.entries(schema.properties)) {
    const spec = toSpec(variable, property);
    if (fields.has(spec.field)) throw schemaBug(variable, `x-field ${spec.field} is used twice`);
    fields.add(spec.field);
    specs.set(variable, spec);
  }
  const defaults = Object.fromEntries(
    [...specs.values()].filter((spec) => spec.defaultValue !== undefined).map((s) => [s.variable, s.defaultValue]),
  );
  if (!validate(structuredClone(defaults))) {
    throw schemaBug('(defaults)', ajv.errorsText(validate.errors));
  }
  return { specs, validate };
}

function toSpec(variable: string, property: RawProperty): PropertySpec {
  const kind = property['x-kind'] as ValueKind;
  if (kind === undefined || property['x-field'] === undefined) throw schemaBug(variable, 'needs x-kind and x-field');
  if (property.type !== KIND_JSON_TYPE[kind]) {
    throw schemaBug(variable, `x-kind ${kind} needs type ${KIND_JSON_TYPE[kind]}, not ${String(property.type)}`);
  }
  const secret = property['x-secret'];
  const spec: PropertySpec = {
    variable,
    kind,
    field: property['x-field'] as string,
    description: typeof property['description'] === 'string' ? property['description'] : '',
    secret: secret === true ? 'full' : secret === 'userinfo' ? 'userinfo' : false,
    flags: (property['x-flags'] as StringFlagName[] | undefined) ?? [],
    aliases: (property['x-aliases'] as Record<string, string> | undefined) ?? {},
    caseInsensitive: property['x-case-insensitive'] === true,
    zeroDefault: property['x-zero-default'] === true,
    clampBelow: (property['x-clamp-below'] as 'min' | 'default' | undefined) ?? 'min',
    clampAbove: (property['x-clamp-above'] as 'max' | 'default' | undefined) ?? 'max',
    expected: (property['x-expected'] as string | undefined) ?? expectedFor(kind, property),
  };
  if (typeof property['x-default-derived'] === 'string') spec.derivedDefault = property['x-default-derived'];
  if (typeof property['x-default'] === 'string') {
    spec.defaultText = property['x-default'];
    const parsed = parseText(spec, spec.defaultText);
    if (!parsed.ok) throw schemaBug(variable, `x-default ${spec.defaultText}: ${parsed.reason}`);
    spec.defaultValue = parsed.value;
  }
  for (const side of ['min', 'max'] as const) {
    const limit = property[`x-clamp-${side}`];
    if (limit === undefined) continue;
    const parsed = typeof limit === 'number' ? limit : parseText({ ...spec, kind: 'duration' }, String(limit));
    const value = typeof parsed === 'number' ? parsed : parsed.ok ? parsed.value : undefined;
    if (typeof value !== 'number') throw schemaBug(variable, `x-clamp-${side} ${String(limit)} is not a number`);
    if (side === 'min') spec.clampMin = value;
    else spec.clampMax = value;
  }
  return spec;
}

function expectedFor(kind: ValueKind, property: RawProperty): string {
  switch (kind) {
    case 'bool':
      return 'a boolean: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false or False';
    case 'int':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'duration':
      return 'a Go duration such as 30s, 1h30m or 500ms';
    case 'enum': {
      const aliases = Object.keys((property['x-aliases'] as Record<string, string> | undefined) ?? {});
      return `one of ${[...(property.enum ?? []), ...aliases].join(', ')}`;
    }
    case 'json-list':
      return 'a JSON array';
    case 'json-map':
      return 'a JSON object of string values';
    case 'csv-list':
      return 'a comma-separated list';
    case 'image-list':
      return 'image references as a comma-separated list or a JSON array of strings';
    case 'port-range':
      return 'a port range start-end with ports 1-65535, e.g. 32768-60999';
    case 'address':
      return 'host:port with a port 0-65535, e.g. 127.0.0.1:51680';
    case 'rate-limit':
      return 'steady,burst as two integers, e.g. 40,60';
    case 'string':
      return typeof property['pattern'] === 'string' ? `a string matching ${property['pattern']}` : 'a string';
  }
}

function isCidr(text: string): boolean {
  const [address, prefix, ...extra] = text.split('/');
  if (address === undefined || prefix === undefined || extra.length > 0 || !/^\d{1,3}$/.test(prefix)) return false;
  const family = isIP(address);
  const bits = Number(prefix);
  return (family === 4 && bits <= 32) || (family === 6 && bits <= 128);
}

function schemaBug(variable: string, problem: string): InstanceType<typeof InternalError> {
  return new InternalError(`schemas/config.schema.json: ${variable}: ${problem}`);
}

/** Finds `schemas/<name>` above this module: the same code runs from `src/` and from `dist/src/`. */
export function findSchemaFile(name: string, fromUrl: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    const candidate = join(dir, 'schemas', name);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; look one level up
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new InternalError(`schema file schemas/${name} not found above ${fileURLToPath(fromUrl)}`);
    dir = parent;
  }
}

let compiled: ConfigSchema | undefined;

/** The compiled config schema. Immutable, so it is compiled once per process and shared. */
export function configSchema(): ConfigSchema {
  compiled ??= compileConfigSchema(JSON.parse(readFileSync(findSchemaFile('config.schema.json'), 'utf8')));
  return compiled;
}
