/**
 * An in-memory logger for other parts' tests: every call at every level is recorded, child bindings merged
 * into `fields`. Field values are kept as given (Errors stay Errors) so tests can assert on them.
 */
import type { LogFields, Logger, LogLevel } from './types.js';

export interface CapturedLine {
  level: LogLevel;
  msg: string;
  fields: Record<string, unknown>;
}

export interface CapturingLogger {
  logger: Logger;
  /** Appended in call order; tests may clear it with `lines.length = 0`. */
  lines: CapturedLine[];
}

export function createCapturingLogger(): CapturingLogger {
  const lines: CapturedLine[] = [];
  const make = (bindings: LogFields): Logger => {
    const record =
      (level: LogLevel) =>
      (msg: string, fields?: LogFields): void => {
        lines.push({ level, msg, fields: { ...bindings, ...fields } });
      };
    return {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
      crit: record('crit'),
      child: (more) => make({ ...bindings, ...more }),
      flush: async () => {},
    };
  };
  return { logger: make({}), lines };
}
