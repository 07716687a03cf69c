/**
 * `loadConfig`: flags over environment over ecs.config over defaults, each value parsed by its kind,
 * validated with ajv against the schema, clamped like upstream, and compiled into a frozen AgentConfig.
 * Every problem is collected before failing, so one run reports all of them.
 */
import { errorMessage } from '../errors.js';
import { LOG_LEVELS, type LogLevel } from '../model/log-level.js';
import { issuesFromAjv } from './ajv-issues.js';
import { assembleConfig } from './assemble.js';
import { applyClamp } from './clamp.js';
import { DEFAULT_ECS_CONFIG_PATH, parseEcsConfigFile, readFileIfExists } from './ecs-config-file.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { configSchema, type PropertySpec } from './schema.js';
import type { ConfigFlags, ConfigSource, LoadedConfig } from './types.js';
import { parseText } from './values.js';

export interface LoadConfigInput {
  /** The process environment (passed in: nothing under src/config reads process.env). */
  env: Record<string, string | undefined>;
  flags?: ConfigFlags;
  /** Reads the ecs.config file; `undefined` means it does not exist. Default: the real filesystem. */
  readFile?: (path: string) => string | undefined;
}

/** Key under which `sources` records the flag-only `-k` setting. */
export const ACCEPT_INSECURE_CERT_KEY = '-k';

/** Set by ECS inside task containers, not agent settings: never warned about. */
const TASK_CONTAINER_VARIABLES = new Set([
  'ECS_CONTAINER_METADATA_URI',
  'ECS_CONTAINER_METADATA_URI_V4',
  'ECS_CONTAINER_METADATA_FILE',
  'ECS_AGENT_URI',
]);

interface Chosen {
  text: string;
  source: Exclude<ConfigSource, 'default'>;
}

export function loadConfig(input: LoadConfigInput): LoadedConfig {
  const { specs, validate } = configSchema();
  const flags = input.flags ?? {};
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const env = nonEmptyValues(Object.entries(input.env));

  const flagPath = flags.configFilePath?.trim();
  const configFilePath = flagPath || env.get('ECSD_CONFIG_FILE') || DEFAULT_ECS_CONFIG_PATH;
  const pathSource: ConfigSource = flagPath ? 'flag' : env.has('ECSD_CONFIG_FILE') ? 'env' : 'default';
  const file = readConfigFile(configFilePath, input.readFile ?? readFileIfExists, issues, pathSource);
  if (file.delete('ECSD_CONFIG_FILE')) warnings.push(`ECSD_CONFIG_FILE in ${configFilePath} is ignored`);

  checkUnknownVariables(env, 'env', specs, issues, warnings);
  checkUnknownVariables(file, 'file', specs, issues, warnings);

  const chosen = new Map<string, Chosen>();
  for (const spec of specs.values()) {
    const pick = chooseText(spec, flags, env, file);
    if (pick !== undefined) chosen.set(spec.variable, pick);
  }

  const parsed: Record<string, unknown> = {};
  for (const [variable, { text, source }] of chosen) {
    const spec = specs.get(variable)!;
    const result = parseText(spec, text);
    if (result.ok) parsed[variable] = result.value;
    else issues.push({ variable, value: shown(spec, text), expected: `${spec.expected} (${result.reason})`, source });
  }
  if (!validate(parsed)) {
    issues.push(...issuesFromAjv(validate.errors ?? [], specs, (variable) => chosen.get(variable)!));
  }
  // Fact sheet 10: external (ECS Anywhere) instances have no instance metadata to take the region from.
  if (parsed['ECS_EXTERNAL'] === true && !chosen.has('AWS_DEFAULT_REGION')) {
    issues.push({ variable: 'AWS_DEFAULT_REGION', value: '', expected: 'a region name when ECS_EXTERNAL is true' });
  }
  checkImageGcWatermarks(parsed, chosen, specs, issues);
  if (issues.length > 0) throw ConfigError.fromIssues(issues);

  const values = new Map<string, unknown>();
  const sources: Record<string, ConfigSource> = {};
  for (const spec of specs.values()) {
    const pick = chosen.get(spec.variable);
    sources[spec.variable] = pick?.source ?? 'default';
    if (pick === undefined) {
      if (spec.defaultValue !== undefined) values.set(spec.variable, spec.defaultValue);
      continue;
    }
    const clamped = applyClamp(spec, parsed[spec.variable]);
    if (clamped.warning !== undefined) warnings.push(clamped.warning);
    if (clamped.value !== undefined) values.set(spec.variable, clamped.value);
  }
  sources[ACCEPT_INSECURE_CERT_KEY] = flags.acceptInsecureCert === undefined ? 'default' : 'flag';

  const config = assembleConfig({
    specs,
    values,
    given: new Set(chosen.keys()),
    acceptInsecureCert: flags.acceptInsecureCert === true,
    ...logLevelFromEnvOrFile(specs.get('ECS_LOGLEVEL')!, env, file),
  });
  return { config, sources, warnings };
}

/**
 * The disk-pressure cleanup removes images from above the high watermark down to the low one, so low must
 * be below high, whichever of the two was set (the other one at its default).
 */
function checkImageGcWatermarks(
  parsed: Record<string, unknown>,
  chosen: ReadonlyMap<string, Chosen>,
  specs: ReadonlyMap<string, PropertySpec>,
  issues: ConfigIssue[],
): void {
  const effective = (variable: string): unknown => parsed[variable] ?? specs.get(variable)?.defaultValue;
  const high = effective('ECSD_IMAGE_GC_HIGH_PERCENT');
  const low = effective('ECSD_IMAGE_GC_LOW_PERCENT');
  if (typeof high !== 'number' || typeof low !== 'number' || low < high) return;
  const blamed = chosen.has('ECSD_IMAGE_GC_LOW_PERCENT') ? 'ECSD_IMAGE_GC_LOW_PERCENT' : 'ECSD_IMAGE_GC_HIGH_PERCENT';
  const pick = chosen.get(blamed);
  issues.push({
    variable: blamed,
    value: String(blamed === 'ECSD_IMAGE_GC_LOW_PERCENT' ? low : high),
    expected: `ECSD_IMAGE_GC_LOW_PERCENT (${low}) below ECSD_IMAGE_GC_HIGH_PERCENT (${high})`,
    ...(pick === undefined ? {} : { source: pick.source }),
  });
}

/** Upstream reads an empty variable as unset (Go's os.Getenv); values are trimmed as upstream trims them. */
function nonEmptyValues(entries: Iterable<[string, string | undefined]>): Map<string, string> {
  const values = new Map<string, string>();
  for (const [key, value] of entries) {
    const trimmed = value?.trim();
    if (trimmed) values.set(key, trimmed);
  }
  return values;
}

function readConfigFile(
  path: string,
  readFile: (path: string) => string | undefined,
  issues: ConfigIssue[],
  pathSource: ConfigSource,
): Map<string, string> {
  try {
    const text = readFile(path);
    return text === undefined ? new Map() : nonEmptyValues(parseEcsConfigFile(text));
  } catch (error) {
    issues.push({
      variable: 'ECSD_CONFIG_FILE',
      value: path,
      expected: `a readable ecs.config file (${errorMessage(error)})`,
      source: pathSource,
    });
    return new Map();
  }
}

function chooseText(
  spec: PropertySpec,
  flags: ConfigFlags,
  env: ReadonlyMap<string, string>,
  file: ReadonlyMap<string, string>,
): Chosen | undefined {
  for (const flag of spec.flags) {
    const text = flags[flag]?.trim();
    if (text) return { text, source: 'flag' };
  }
  const fromEnv = env.get(spec.variable);
  if (fromEnv !== undefined) return { text: fromEnv, source: 'env' };
  const fromFile = file.get(spec.variable);
  if (fromFile !== undefined) return { text: fromFile, source: 'file' };
  return undefined;
}

/** ecsd's own variables are checked strictly (a typo is an error); unknown ECS_* are ignored upstream. */
function checkUnknownVariables(
  values: ReadonlyMap<string, string>,
  source: 'env' | 'file',
  specs: ReadonlyMap<string, PropertySpec>,
  issues: ConfigIssue[],
  warnings: string[],
): void {
  for (const [variable, text] of values) {
    if (specs.has(variable)) continue;
    if (variable.startsWith('ECSD_')) {
      const suggestion = closestName(
        variable,
        [...specs.keys()].filter((name) => name.startsWith('ECSD_')),
      );
      const hint = suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`;
      issues.push({ variable, value: text, expected: `a known ECSD_ variable name${hint}`, source });
    } else if (variable.startsWith('ECS_') && !TASK_CONTAINER_VARIABLES.has(variable)) {
      warnings.push(`unknown variable ${variable} (from ${source}) is ignored`);
    }
  }
}

function closestName(name: string, candidates: string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance <= 3 && (best === undefined || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function shown(spec: PropertySpec, text: string): string {
  return spec.secret === 'full' ? '<redacted>' : text;
}

/**
 * Upstream's file level defaults to ECS_LOGLEVEL as the environment sets it, before flags are applied
 * (fact sheet 11), so `-loglevel-driver` alone leaves the file level alone.
 */
function logLevelFromEnvOrFile(
  spec: PropertySpec,
  env: ReadonlyMap<string, string>,
  file: ReadonlyMap<string, string>,
): { logLevelFromEnvOrFile?: LogLevel } {
  const text = env.get(spec.variable) ?? file.get(spec.variable);
  if (text === undefined) return {};
  const parsed = parseText(spec, text);
  const level = parsed.ok ? parsed.value : undefined;
  return (LOG_LEVELS as readonly unknown[]).includes(level) ? { logLevelFromEnvOrFile: level as LogLevel } : {};
}
