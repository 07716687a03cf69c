/**
 * Builds the AgentConfig from the effective value of every variable (keyed by env var name), adds the
 * settings upstream derives from several variables, and deep-freezes the result.
 */
import type { LogLevel } from '../model/log-level.js';
import type { PropertySpec } from './schema.js';
import type { AgentConfig } from './types.js';

/** Upstream's Prometheus port, reserved when ECS_ENABLE_PROMETHEUS_METRICS is on (fact sheet 9). */
export const PROMETHEUS_RESERVED_PORT = 51680;

export interface AssembleInput {
  specs: ReadonlyMap<string, PropertySpec>;
  /** Effective values after defaults and clamps; a missing key means unset. */
  values: ReadonlyMap<string, unknown>;
  /** Variables given explicitly (flag, env or file), as opposed to defaulted. */
  given: ReadonlySet<string>;
  /** ECS_LOGLEVEL as set in the environment or file (not by a flag), if valid. */
  logLevelFromEnvOrFile?: LogLevel;
  acceptInsecureCert: boolean;
}

export function assembleConfig(input: AssembleInput): AgentConfig {
  const { specs, values, given } = input;
  const config: Record<string, unknown> = {};
  for (const spec of specs.values()) {
    const value = values.get(spec.variable);
    if (value !== undefined) config[spec.field] = structuredClone(value);
  }

  // Fact sheet 10: checkpointing defaults to on exactly when ECS_DATADIR was given.
  config['dataDirSet'] = given.has('ECS_DATADIR');
  if (!given.has('ECS_CHECKPOINT')) config['checkpoint'] = config['dataDirSet'];

  // Fact sheet 11: the file level defaults to off when a log driver is set, else to ECS_LOGLEVEL as set in
  // the environment (a -loglevel-driver flag changes stdout only), else info.
  if (!given.has('ECS_LOGLEVEL_ON_INSTANCE')) {
    config['logLevelOnInstance'] = given.has('ECS_LOG_DRIVER') ? 'off' : (input.logLevelFromEnvOrFile ?? 'info');
  }

  // Fact sheet 9: set explicitly, a failure to create the task cgroup root is fatal instead of quiet.
  config['enableTaskCpuMemLimitExplicit'] = given.has('ECS_ENABLE_TASK_CPU_MEM_LIMIT');

  const reservedPorts = config['reservedPorts'] as number[];
  if (config['enablePrometheusMetrics'] === true && !reservedPorts.includes(PROMETHEUS_RESERVED_PORT)) {
    reservedPorts.push(PROMETHEUS_RESERVED_PORT);
  }

  config['acceptInsecureCert'] = input.acceptInsecureCert;
  return deepFreeze(config) as unknown as AgentConfig;
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
