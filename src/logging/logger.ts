/**
 * The agent's logger: one pino instance writing through `pino.multistream` to stdout (driver level) and the
 * log file (instance level), in upstream's logfmt or json line shape (fact sheet section 11).
 *
 * Why this shape:
 * - pino serialises the record to JSON; for logfmt its `streamWrite` hook rewrites the line once, before the
 *   multistream fans it out, so two outputs cost one conversion.
 * - Levels below both outputs' thresholds return before any object is built (hot paths log at debug).
 * - Outputs are plain writes into Node streams with a counted callback (see sink.ts), so `flush()` resolves
 *   only when every line has really been written; `close()` also closes the log file.
 */
import { multistream, pino } from 'pino';
import { buildRecord, jsonLineToLogfmt, TimestampCache } from './format.js';
import {
  type ClosableLogger,
  LEVEL_THRESHOLD,
  type LoggerOptions,
  PINO_LEVELS,
  type PinoLevelName,
  pinoLevelName,
  validateLoggerOptions,
} from './options.js';
import { createRotatingFileOutput, type RotatingFileOutput } from './rotation.js';
import { TrackedSink } from './sink.js';
import type { LogFields, Logger } from './types.js';

type LevelWriter = (record: object) => void;

interface LoggerCore {
  /** Lowest threshold of any enabled output; Infinity when every output is off. */
  readonly minLevel: number;
  readonly write: Readonly<Record<PinoLevelName, LevelWriter>>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

class PinoBackedLogger implements ClosableLogger {
  constructor(
    private readonly core: LoggerCore,
    private readonly bindings: LogFields | undefined,
  ) {}

  debug(msg: string, fields?: LogFields): void {
    if (PINO_LEVELS.debug >= this.core.minLevel) this.core.write.debug(buildRecord(msg, this.bindings, fields));
  }

  info(msg: string, fields?: LogFields): void {
    if (PINO_LEVELS.info >= this.core.minLevel) this.core.write.info(buildRecord(msg, this.bindings, fields));
  }

  warn(msg: string, fields?: LogFields): void {
    if (PINO_LEVELS.warn >= this.core.minLevel) this.core.write.warn(buildRecord(msg, this.bindings, fields));
  }

  error(msg: string, fields?: LogFields): void {
    if (PINO_LEVELS.error >= this.core.minLevel) this.core.write.error(buildRecord(msg, this.bindings, fields));
  }

  crit(msg: string, fields?: LogFields): void {
    if (PINO_LEVELS.critical >= this.core.minLevel) {
      this.core.write.critical(buildRecord(msg, this.bindings, fields));
    }
  }

  child(bindings: LogFields): Logger {
    return new PinoBackedLogger(
      this.core,
      this.bindings === undefined ? { ...bindings } : { ...this.bindings, ...bindings },
    );
  }

  flush(): Promise<void> {
    return this.core.flush();
  }

  close(): Promise<void> {
    return this.core.close();
  }
}

/**
 * Builds the agent logger. The result is a `Logger` plus `close()`, which drains both outputs and closes the
 * log file; call it once at shutdown (later lines still reach stdout). `flush()` drains without closing.
 */
export function createLogger(options: LoggerOptions): ClosableLogger {
  validateLoggerOptions(options);
  const clock = options.clock ?? (() => new Date());
  const timestamps = new TimestampCache(clock);

  const outputs: Array<{ level: number; stream: TrackedSink }> = [];
  const stdoutThreshold = LEVEL_THRESHOLD[options.level];
  const fileThreshold = LEVEL_THRESHOLD[options.levelOnInstance];

  let stdoutSink: TrackedSink | undefined;
  const stdout = options.stdout ?? process.stdout;
  // A closed pipe on stdout (EPIPE) must not crash the agent: stop writing there, like upstream ignoring
  // console write errors. Removed again by close().
  const onStdoutError = (): void => stdoutSink?.stop();
  if (Number.isFinite(stdoutThreshold)) {
    stdoutSink = new TrackedSink(stdout);
    stdout.on('error', onStdoutError);
    outputs.push({ level: stdoutThreshold, stream: stdoutSink });
  }

  // Filled in below; the file output reports its own failures through the logger it belongs to.
  let root: PinoBackedLogger | undefined;
  let fileOutput: RotatingFileOutput | undefined;
  if (options.file !== undefined && Number.isFinite(fileThreshold)) {
    fileOutput = createRotatingFileOutput({
      file: options.file,
      rolloverType: options.rolloverType,
      maxFileSizeMB: options.maxFileSizeMB,
      maxRollCount: options.maxRollCount,
      clock,
      onProblem: (level, msg, fields) => root?.[level](msg, { module: 'logging', ...fields }),
    });
    outputs.push({ level: fileThreshold, stream: fileOutput.sink });
  }

  const minLevel = outputs.reduce((min, output) => Math.min(min, output.level), Number.POSITIVE_INFINITY);
  const instance = pino<PinoLevelName, true>(
    {
      level: pinoLevelName(minLevel),
      customLevels: PINO_LEVELS,
      useOnlyCustomLevels: true,
      base: null,
      messageKey: 'msg',
      serializers: {},
      formatters: { level: (label) => ({ level: label }) },
      timestamp: () => `,"time":"${timestamps.now()}"`,
      hooks: options.format === 'logfmt' ? { streamWrite: jsonLineToLogfmt } : {},
    },
    multistream(outputs, { levels: PINO_LEVELS, dedupe: false }),
  );

  const write: Record<PinoLevelName, LevelWriter> = {
    debug: (record) => instance.debug(record),
    info: (record) => instance.info(record),
    warn: (record) => instance.warn(record),
    error: (record) => instance.error(record),
    critical: (record) => instance.critical(record),
  };

  let closing: Promise<void> | undefined;
  const flush = async (): Promise<void> => {
    await Promise.all([stdoutSink?.idle(), fileOutput?.settle()]);
  };
  const core: LoggerCore = {
    minLevel,
    write,
    flush,
    close: () => {
      closing ??= (async () => {
        await fileOutput?.close();
        await stdoutSink?.idle();
        stdout.removeListener('error', onStdoutError);
      })();
      return closing;
    },
  };
  root = new PinoBackedLogger(core, undefined);
  return root;
}
