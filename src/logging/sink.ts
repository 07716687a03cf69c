/**
 * A pino destination in front of a Node writable that counts writes in flight, so `flush()` can resolve
 * exactly when every line handed to the stream has been written (the stream's own buffer included).
 * One shared callback per sink: no closure is allocated per line.
 */
export class TrackedSink {
  private pending = 0;
  private idleWaiters: Array<() => void> = [];
  private stopped = false;

  constructor(private readonly target: NodeJS.WritableStream) {}

  private readonly onWritten = (): void => {
    this.pending -= 1;
    if (this.pending === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  };

  /** Called by pino's multistream with one complete line. */
  write(line: string): void {
    if (this.stopped) return;
    this.pending += 1;
    this.target.write(line, this.onWritten);
  }

  /** Resolves once no write is in flight. */
  idle(): Promise<void> {
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
