/**
 * Options for `createLogger` and the level vocabulary shared by the logger's parts.
 * The env-var parsing (ECS_LOGLEVEL, ECS_LOG_ROLLOVER_TYPE, …) lives in src/config/; this file only
 * describes the already-parsed values (fact sheet section 11).
 */
import { ConfigError } from '../errors.js';
import type { Logger, LogLevel } from './types.js';

export const LOG_OUTPUT_FORMATS = ['logfmt', 'json'] as const;
export type LogOutputFormat = (typeof LOG_OUTPUT_FORMATS)[number];

/**
 * `size` and `hourly` are upstream's `size` and `date` (fact sheet 11); `none` never rotates.
 * (upstream v1.73.1 had no `none`; v1.105.1 does.)
 */
export const LOG_ROLLOVER_TYPES = ['size', 'hourly', 'none'] as const;
export type LogRolloverType = (typeof LOG_ROLLOVER_TYPES)[number];

export interface LoggerOptions {
  /** stdout ("driver") level: ECS_LOGLEVEL / -loglevel. `off` disables stdout. */
  level: LogLevel;
  /** File level: ECS_LOGLEVEL_ON_INSTANCE. `off` disables the file. */
  levelOnInstance: LogLevel;
  format: LogOutputFormat;
  /** ECS_LOGFILE; unset → no file output. Parent directories are created. */
  file?: string;
  rolloverType: LogRolloverType;
  /** Size rollover threshold in units of 1,000,000 bytes (upstream multiplies by 1e6, not 2^20). Fractions allowed. */
  maxFileSizeMB: number;
  /** Rolled files kept beside the active one; 0 keeps all (seelog's `maxrolls` 0 means no limit). */
  maxRollCount: number;
  /** Default `process.stdout`. */
  stdout?: NodeJS.WritableStream;
  /** Time source for line timestamps and hourly rollover. Default `() => new Date()`. */
  clock?: () => Date;
}

/** A logger that owns files: `close()` drains every output and closes the log file (call once, at shutdown). */
export interface ClosableLogger extends Logger {
  close(): Promise<void>;
}

/**
 * Each level's rank (higher is more severe) and the word a line prints for it: `critical` is what upstream
 * prints for `crit` (fact sheet 11).
 */
export const LEVEL_RANK = { debug: 20, info: 30, warn: 40, error: 50, crit: 60 } as const;
export type LineLevel = keyof typeof LEVEL_RANK;
export const LEVEL_WORD: Readonly<Record<LineLevel, string>> = Object.freeze({
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
  crit: 'critical',
});

/** Our level → the lowest rank an output at that level lets through. `off` lets nothing through. */
export const LEVEL_THRESHOLD: Readonly<Record<LogLevel, number>> = Object.freeze({
  ...LEVEL_RANK,
  off: Number.POSITIVE_INFINITY,
});

/** Fails loudly on values config validation should already have refused. */
export function validateLoggerOptions(options: LoggerOptions): void {
  const problems: string[] = [];
  if (!(options.level in LEVEL_THRESHOLD)) problems.push(`level ${String(options.level)}`);
  if (!(options.levelOnInstance in LEVEL_THRESHOLD))
    problems.push(`levelOnInstance ${String(options.levelOnInstance)}`);
  if (!LOG_OUTPUT_FORMATS.includes(options.format)) problems.push(`format ${String(options.format)}`);
  if (!LOG_ROLLOVER_TYPES.includes(options.rolloverType)) problems.push(`rolloverType ${String(options.rolloverType)}`);
  if (options.rolloverType === 'size' && !(Number.isFinite(options.maxFileSizeMB) && options.maxFileSizeMB > 0)) {
    problems.push(`maxFileSizeMB ${options.maxFileSizeMB}`);
  }
  if (!(Number.isInteger(options.maxRollCount) && options.maxRollCount >= 0)) {
    problems.push(`maxRollCount ${options.maxRollCount}`);
  }
  if (options.file !== undefined && options.file.trim() === '') problems.push('file is empty');
  if (problems.length > 0) {
    throw new ConfigError(`Invalid logger options: ${problems.join(', ')}`, { context: { problems } });
  }
}
