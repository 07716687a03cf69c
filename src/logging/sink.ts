/**
 * One log output in front of a Node writable. Writes in flight are counted, so `idle()` resolves exactly
 * when every line handed over has been written (the stream's own buffer included).
 *
 * With `batchPerTurn`, the lines logged during one turn of the event loop are written together, in one
 * `write` at the next `setImmediate`. That is for stdout: a pipe or terminal there is written
 * synchronously, one syscall per write, and a burst of tasks logs hundreds of lines within a few turns.
 * The log file is not batched, so its size rollover still falls between two lines.
 */
export class TrackedSink {
  private pending = 0;
  private idleWaiters: Array<() => void> = [];
  private stopped = false;
  private batch = '';
  private batchScheduled = false;

  constructor(
    private readonly target: NodeJS.WritableStream,
    private readonly options: { batchPerTurn?: boolean } = {},
  ) {}

  private readonly onWritten = (): void => {
    this.pending -= 1;
    if (this.pending === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  };

  private readonly writeBatch = (): void => {
    this.batchScheduled = false;
    if (this.batch === '') return;
    const text = this.batch;
    this.batch = '';
    if (this.stopped) return;
    this.pending += 1;
    this.target.write(text, this.onWritten);
  };

  /** Takes one complete line (ending in a newline). */
  write(line: string): void {
    if (this.stopped) return;
    if (this.options.batchPerTurn !== true) {
      this.pending += 1;
      this.target.write(line, this.onWritten);
      return;
    }
    this.batch += line;
    if (!this.batchScheduled) {
      this.batchScheduled = true;
      setImmediate(this.writeBatch);
    }
  }

  /** Writes what this turn queued now, then resolves once no write is in flight. */
  idle(): Promise<void> {
    this.writeBatch();
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops further lines (the stream failed or is being closed); writes already handed over still settle. */
  stop(): void {
    this.stopped = true;
  }

  get isStopped(): boolean {
    return this.stopped;
  }
}
