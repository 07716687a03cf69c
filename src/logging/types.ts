export { LOG_LEVELS, type LogLevel } from '../model/log-level.js';

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
