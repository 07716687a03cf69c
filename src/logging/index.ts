/**
 * Logging for ecsd (fact sheet section 11). Parts receive a `Logger` (types.ts); only the CLI builds one
 * with `createLogger` and calls `close()` on it at shutdown.
 */
export { type CapturedLine, type CapturingLogger, createCapturingLogger } from './capture.js';
export { formatJsonLine, formatLogfmtLine, formatRfc3339Seconds } from './format.js';
export { createLogger } from './logger.js';
export {
  type ClosableLogger,
  LOG_OUTPUT_FORMATS,
  LOG_ROLLOVER_TYPES,
  type LoggerOptions,
  type LogOutputFormat,
  type LogRolloverType,
} from './options.js';
export {
  BYTES_PER_LOG_MB,
  hourlyRollName,
  pruneRolls,
  selectRolls,
  sizeRollName,
} from './rotation.js';
export { LOG_LEVELS, type LogFields, type Logger, type LogLevel, silentLogger } from './types.js';
