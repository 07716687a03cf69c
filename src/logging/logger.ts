/**
 * The agent's logger: writes to stdout (driver level) and the log file (instance level), in upstream's
 * logfmt or json line shape (fact sheet section 11).
 *
 * Why this shape:
 * - Each line is formatted once, straight from the call's fields, and shared by both outputs. (It used to go
 *   through pino, whose JSON line then had to be parsed back and rewritten for logfmt, the default format:
 *   two serialisations and a parse per line, measured at about 6 % of the agent's CPU in the 50-task bench.)
 * - Levels below both outputs' thresholds return before any object is built (hot paths log at debug).
 * - stdout gets the lines of one event-loop turn in one write; both outputs count writes in flight (sink.ts), so
 *   `flush()` resolves only when every line has really been written; `close()` also closes the log file.
 */
import { buildRecord, formatJsonLine, formatLogfmtLine, TimestampCache } from './format.js';
import {
  type ClosableLogger,
  LEVEL_RANK,
  LEVEL_THRESHOLD,
  LEVEL_WORD,
  type LineLevel,
  type LoggerOptions,
  validateLoggerOptions,
} from './options.js';
import { createRotatingFileOutput, type RotatingFileOutput } from './rotation.js';
import { TrackedSink } from './sink.js';
import type { LogFields, Logger } from './types.js';

interface LoggerCore {
  /** Lowest threshold of any enabled output; Infinity when every output is off. */
  readonly minLevel: number;
  write(level: LineLevel, msg: string, bindings: LogFields | undefined, fields: LogFields | undefined): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

class OutputLogger implements ClosableLogger {
  constructor(
    private readonly core: LoggerCore,
    private readonly bindings: LogFields | undefined,
  ) {}

  debug(msg: string, fields?: LogFields): void {
    if (LEVEL_RANK.debug >= this.core.minLevel) this.core.write('debug', msg, this.bindings, fields);
  }

  info(msg: string, fields?: LogFields): void {
    if (LEVEL_RANK.info >= this.core.minLevel) this.core.write('info', msg, this.bindings, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    if (LEVEL_RANK.warn >= this.core.minLevel) this.core.write('warn', msg, this.bindings, fields);
  }

  error(msg: string, fields?: LogFields): void {
    if (LEVEL_RANK.error >= this.core.minLevel) this.core.write('error', msg, this.bindings, fields);
  }

  crit(msg: string, fields?: LogFields): void {
    if (LEVEL_RANK.crit >= this.core.minLevel) this.core.write('crit', msg, this.bindings, fields);
  }

  child(bindings: LogFields): Logger {
    return new OutputLogger(
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
    stdoutSink = new TrackedSink(stdout, { batchPerTurn: true });
    stdout.on('error', onStdoutError);
    outputs.push({ level: stdoutThreshold, stream: stdoutSink });
  }

  // Filled in below; the file output reports its own failures through the logger it belongs to.
  let root: OutputLogger | undefined;
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
  const formatLine = options.format === 'logfmt' ? formatLogfmtLine : formatJsonLine;
  const write = (level: LineLevel, msg: string, bindings: LogFields | undefined, fields: LogFields | undefined) => {
    const rank = LEVEL_RANK[level];
    // One line for both outputs: formatted once, handed to each output whose level lets it through.
    const line = formatLine(LEVEL_WORD[level], timestamps.now(), msg, buildRecord(bindings, fields));
    for (const output of outputs) if (rank >= output.level) output.stream.write(line);
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
  root = new OutputLogger(core, undefined);
  return root;
}
