/**
 * Drains the store's durable outbox to a sink, strictly in order, at least once: an entry is acked (and the
 * task's/containers' sent status advanced) only after the sink accepted it, and a failed head entry is
 * retried with backoff before anything behind it (fact sheet 1.10: 1 s → 30 s, ×1.3, 20 % jitter). In local
 * mode the sink is the log; the control-plane issue plugs SubmitTaskStateChange in behind the same interface.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../logging/types.js';
import type { ContainerStatus, TaskStatus } from '../model/status.js';
import type { DesiredStateStore, OutboxEntry } from '../store/records.js';

export interface StateChangeSink {
  /** Resolves when the change is accepted; rejects to have it retried. */
  submit(entry: OutboxEntry): Promise<void>;
}

export interface ReporterOptions {
  store: DesiredStateStore;
  sink: StateChangeSink;
  clock: Clock;
  logger: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  random?: () => number;
}

export class OutboxReporter {
  private running = false;
  private wake: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly options: ReporterOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.options.store.onChange((change) => {
      if (change.tables.has('outbox')) this.wake?.();
    });
    this.loopDone = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.abort.abort(new Error('reporter stopping'));
    this.wake?.();
    await this.loopDone;
  }

  /** Submit everything currently in the outbox; used by tests and by shutdown. */
  async drain(): Promise<number> {
    let sent = 0;
    for (;;) {
      const [head] = this.options.store.peekOutbox(1);
      if (!head) return sent;
      await this.options.sink.submit(head);
      this.acknowledge(head);
      sent++;
    }
  }

  private async run(): Promise<void> {
    const minMs = this.options.minBackoffMs ?? 1_000;
    const maxMs = this.options.maxBackoffMs ?? 30_000;
    const random = this.options.random ?? Math.random;
    let backoffMs = minMs;
    while (this.running) {
      const [head] = this.options.store.peekOutbox(1);
      if (!head) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      try {
        await this.options.sink.submit(head);
        this.acknowledge(head);
        backoffMs = minMs;
      } catch (error) {
        this.options.store.markOutboxAttempt(head.seq);
        const delayMs = backoffMs + random() * backoffMs * 0.2;
        this.options.logger.warn('state change not accepted; retrying', {
          taskArn: head.taskArn,
          seq: head.seq,
          attempt: head.attempts + 1,
          retryInMs: Math.round(delayMs),
          error,
        });
        backoffMs = Math.min(maxMs, backoffMs * 1.3);
        await this.options.clock.sleep(delayMs, this.abort.signal).catch(() => {});
      }
    }
  }

  private acknowledge(entry: OutboxEntry): void {
    const { store } = this.options;
    store.transaction(() => {
      if (entry.kind === 'task' && store.getTask(entry.taskArn)) {
        const taskStatus = sentStatusFor(entry.payload['status']);
        const containers = Array.isArray(entry.payload['containers'])
          ? (entry.payload['containers'] as Array<Record<string, unknown>>)
          : [];
        store.recordObservation({
          taskArn: entry.taskArn,
          ...(taskStatus ? { task: { sentStatus: taskStatus } } : {}),
          containers: containers.flatMap((c) => {
            const status = sentStatusFor(c['status']) as ContainerStatus | undefined;
            return status && typeof c['containerName'] === 'string'
              ? [{ name: c['containerName'], patch: { sentStatus: status } }]
              : [];
          }),
        });
      }
      store.ackOutbox(entry.seq);
    });
  }
}

/** Backend form → the internal status it confirms; PENDING confirms nothing (fact sheet 1.6). */
function sentStatusFor(status: unknown): TaskStatus | undefined {
  if (status === 'RUNNING') return 'RUNNING';
  if (status === 'STOPPED') return 'STOPPED';
  return undefined;
}

/** Local mode: every state change is logged, as the upstream agent logs what it sends. */
export function loggingSink(logger: Logger, cluster: string): StateChangeSink {
  return {
    async submit(entry) {
      logger.info('Task state change', { cluster, taskArn: entry.taskArn, seq: entry.seq, change: entry.payload });
    },
  };
}
