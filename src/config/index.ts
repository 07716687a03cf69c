/** Configuration: environment, ecs.config and flags compiled into a frozen AgentConfig (see load.ts). */
export { deepFreeze } from './assemble.js';
export { formatDurationMs, parseGoDuration } from './duration.js';
export { DEFAULT_ECS_CONFIG_PATH, parseEcsConfigFile, readFileIfExists } from './ecs-config-file.js';
export { CONFIG_EXIT_CODE, ConfigError, type ConfigErrorOptions, type ConfigIssue } from './errors.js';
export { ACCEPT_INSECURE_CERT_KEY, type LoadConfigInput, loadConfig } from './load.js';
export {
  type ConfigPrintJson,
  type ConfigPrintRow,
  configPrintJson,
  configPrintRows,
  formatConfigPrint,
  REDACTED,
  redactedConfig,
} from './print.js';
export { parseGoBool } from './scalars.js';
export { configSchema, type PropertySpec, type ValueKind } from './schema.js';
export type {
  AgentConfig,
  ConfigFlags,
  ConfigSource,
  HostPort,
  ImagePullBehavior,
  LoadedConfig,
  LogOutputFormat,
  LogRolloverType,
  PortRange,
} from './types.js';
