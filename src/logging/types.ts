/**
 * The logger every part receives. A narrow interface (message first, structured fields second) so parts
 * do not depend on the writer, and tests can pass `silentLogger` or a capturing logger.
 */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'crit', 'off'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  crit(msg: string, fields?: LogFields): void;
  /** A logger whose lines all carry `bindings` (e.g. `{ module: 'containers' }`). */
  child(bindings: LogFields): Logger;
  /** Flush buffered output; resolves when written. */
  flush(): Promise<void>;
}

const noop = (): void => {};

export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  crit: noop,
  child: () => silentLogger,
  flush: async () => {},
};
