/**
 * Drains the store's durable outbox to a sink, at least once and in order **per task** (fact sheet 1.10):
 * each task's oldest entry is its head; heads of different tasks are submitted concurrently (at most 10, as
 * upstream's semaphore), and a task whose head is rejected backs off (1 s → 30 s, ×1.3, 20 % jitter) without
 * holding back any other task. An entry is acked — and the task's/containers' sent status advanced — only
 * after the sink accepted it. In local mode the sink is the log; in ECS mode it is SubmitTaskStateChange
 * (task-state-sink.ts, which adds `cluster` and applies upstream's drop rules).
 *
 * Container-only changes (`container` entries) are never sent alone at once (fact sheet 1.10): such a head is
 * held for `containerHoldMs` (10 s, the short end of upstream's 10–30 s ticker); if the task's next `task`
 * entry is queued meanwhile, the held container changes ride on it (one submission, every entry acked
 * together); otherwise they go out as the synthetic task change upstream's ticker sends, with the task's
 * status at the time.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../logging/types.js';
import type { ContainerStatus, TaskStatus } from '../model/status.js';
import type { DesiredStateStore, OutboxEntry, OutboxHead } from '../store/records.js';
import { OutboxHeadIndex } from './outbox-heads.js';

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
  /** Tasks submitted at once (upstream: 10). */
  maxConcurrentTasks?: number;
  /** How many task heads (oldest entry per task, oldest first) are read per round; default 1 000. */
  scanWindow?: number;
  random?: () => number;
  /** How long a container-only change waits for its task's next change to ride on; default 10 s. */
  containerHoldMs?: number;
}

/** What one submission sends, and the entries it settles besides `entry` (held container changes it carries). */
interface Submission {
  entry: OutboxEntry;
  carried: number[];
}

/** Container changes of one task waiting in the outbox, at most this many, are merged into one submission. */
const MAX_MERGED_ENTRIES = 100;

interface TaskBackoff {
  delayMs: number;
  untilMs: number;
}

const BACKOFF_MULTIPLIER = 1.3;
const BACKOFF_JITTER = 0.2;

export class OutboxReporter {
  private running = false;
  private wake: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private abort = new AbortController();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly backoff = new Map<string, TaskBackoff>();
  /** Accepted entries waiting for the batch ack that ends this event-loop turn (see queueAck). */
  private pendingAcks: Array<{ entry: OutboxEntry; carried: readonly number[]; settle: (error?: unknown) => void }> =
    [];
  /** True while this reporter's own ack commits (see start). */
  private acking = false;
  private heads: OutboxHeadIndex | undefined;

  constructor(private readonly options: ReporterOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    // Subscribed before the first scan, so no write between the two is missed.
    const heads = new OutboxHeadIndex(this.options.store, this.options.scanWindow ?? 1_000);
    this.heads = heads;
    this.unsubscribe = this.options.store.onChange((change) => {
      heads.noteChange(change);
      // Its own acks only remove entries; the submissions they end nudge the loop themselves.
      if (change.tables.has('outbox') && !this.acking) this.nudge();
    });
    this.loopDone = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.abort.abort(new Error('reporter stopping'));
    this.nudge();
    await this.loopDone;
    await Promise.allSettled(this.inFlight.values());
  }

  /**
   * Submit everything in the outbox now, oldest first, stopping at the first rejection. Only while the
   * background loop is not running (tests, tools), so an entry is never submitted twice at once.
   */
  async drain(): Promise<number> {
    if (this.running) throw new Error('drain() is only for a reporter that is not running');
    let sent = 0;
    for (;;) {
      const [head] = this.options.store.peekOutbox(1);
      if (!head) return sent;
      await this.options.sink.submit(head);
      this.acknowledge([head]);
      sent++;
    }
  }

  private nudge(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async run(): Promise<void> {
    const maxConcurrent = this.options.maxConcurrentTasks ?? 10;
    while (this.running) {
      const nowMs = this.options.clock.nowMs();
      // With every slot taken nothing could be submitted: skip the scan until a submission ends.
      const { ready, nextWakeMs } =
        this.inFlight.size >= maxConcurrent ? { ready: [], nextWakeMs: undefined } : this.readyHeads(nowMs);
      let heldUntilMs: number | undefined;
      for (const head of ready) {
        if (this.inFlight.size >= maxConcurrent) break;
        // Only now is the payload read: heads left waiting for a free slot cost no JSON parsing.
        const next = this.submissionFor(head, nowMs);
        if (next === undefined) continue;
        if ('holdUntilMs' in next) {
          heldUntilMs = Math.min(heldUntilMs ?? next.holdUntilMs, next.holdUntilMs);
          continue;
        }
        const submission = this.submit(next).finally(() => {
          this.inFlight.delete(head.taskArn);
          this.nudge();
        });
        this.inFlight.set(head.taskArn, submission);
      }
      const wakeAtMs = heldUntilMs === undefined ? nextWakeMs : Math.min(nextWakeMs ?? heldUntilMs, heldUntilMs);
      const woken = new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      const waits: Array<Promise<unknown>> = [woken];
      if (wakeAtMs !== undefined) {
        waits.push(this.options.clock.sleep(Math.max(0, wakeAtMs - nowMs), this.abort.signal).catch(() => {}));
      }
      await Promise.race(waits);
    }
  }

  /**
   * What to send for a task whose head is `head`: the entry itself; or, for a held container-only change, the
   * task's next `task` entry carrying it; or nothing yet (`holdUntilMs`) while it may still get one.
   */
  private submissionFor(head: OutboxHead, nowMs: number): Submission | { holdUntilMs: number } | undefined {
    const { store } = this.options;
    if (head.kind !== 'container') {
      const entry = store.getOutboxEntry(head.seq);
      return entry === undefined ? undefined : { entry, carried: [] };
    }
    const entries = store.outboxEntriesForTask(head.taskArn, MAX_MERGED_ENTRIES);
    const held: OutboxEntry[] = [];
    let rider: OutboxEntry | undefined;
    for (const entry of entries) {
      if (entry.kind !== 'container') {
        // An attachment change keeps its place: the container changes before it go out first, as they are.
        if (entry.kind === 'task') rider = entry;
        break;
      }
      held.push(entry);
    }
    const last = held[held.length - 1];
    if (last === undefined) return undefined;
    const holdUntilMs = head.createdAtMs + (this.options.containerHoldMs ?? 10_000);
    const blocked = rider === undefined && entries.length > held.length;
    if (rider === undefined && !blocked && nowMs < holdUntilMs && entries.length < MAX_MERGED_ENTRIES) {
      return { holdUntilMs };
    }
    const target = rider ?? last;
    const carried = [...held, ...(rider === undefined ? [] : [rider])].filter((e) => e.seq !== target.seq);
    return {
      entry: { ...target, payload: { ...target.payload, containers: mergedContainers([...held, target]) } },
      carried: carried.map((e) => e.seq),
    };
  }

  /** Each task's oldest entry, if the task is neither in flight nor backing off; and when to look again. */
  private readyHeads(nowMs: number): { ready: OutboxHead[]; nextWakeMs?: number } {
    const ready: OutboxHead[] = [];
    let nextWakeMs: number | undefined;
    for (const head of this.heads?.current() ?? []) {
      if (this.inFlight.has(head.taskArn)) continue;
      const backoff = this.backoff.get(head.taskArn);
      if (backoff && backoff.untilMs > nowMs) {
        nextWakeMs = Math.min(nextWakeMs ?? backoff.untilMs, backoff.untilMs);
        continue;
      }
      ready.push(head);
    }
    return nextWakeMs === undefined ? { ready } : { ready, nextWakeMs };
  }

  private async submit({ entry: head, carried }: Submission): Promise<void> {
    const minMs = this.options.minBackoffMs ?? 1_000;
    const maxMs = this.options.maxBackoffMs ?? 30_000;
    const random = this.options.random ?? Math.random;
    try {
      await this.options.sink.submit(head);
      await this.queueAck(head, carried);
      // After a success the next failure starts again from the minimum; forgetting the entry also keeps the
      // map bounded by the tasks currently failing.
      this.backoff.delete(head.taskArn);
    } catch (error) {
      this.options.store.markOutboxAttempt(head.seq);
      const delayMs = this.backoff.get(head.taskArn)?.delayMs ?? minMs;
      const waitMs = delayMs + random() * delayMs * BACKOFF_JITTER;
      this.backoff.set(head.taskArn, {
        delayMs: Math.min(maxMs, delayMs * BACKOFF_MULTIPLIER),
        untilMs: this.options.clock.nowMs() + waitMs,
      });
      this.options.logger.warn('state change not accepted; retrying', {
        taskArn: head.taskArn,
        seq: head.seq,
        attempt: head.attempts + 1,
        retryInMs: Math.round(waitMs),
        error,
      });
    }
  }

  /**
   * Acks `entry` together with every other entry accepted in the same event-loop turn, in one store
   * transaction: a sink that accepts several tasks at once (the logging sink always does) then costs one
   * commit instead of one per entry. Resolves once the ack is committed; rejects, for every entry of the
   * batch, if the commit fails, so each is retried like a rejected submission.
   */
  private queueAck(entry: OutboxEntry, carried: readonly number[] = []): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.pendingAcks.length === 0) setImmediate(() => this.flushAcks());
      this.pendingAcks.push({ entry, carried, settle: (error) => (error === undefined ? resolve() : reject(error)) });
    });
  }

  private flushAcks(): void {
    const batch = this.pendingAcks;
    this.pendingAcks = [];
    let failure: unknown;
    this.acking = true;
    try {
      this.acknowledge(
        batch.map(({ entry }) => entry),
        batch.flatMap(({ carried }) => carried),
      );
    } catch (error) {
      failure = error ?? new Error('outbox ack failed');
    } finally {
      this.acking = false;
    }
    for (const { settle } of batch) settle(failure);
  }

  /**
   * Acks `entries` in one store transaction, advancing the sent status each confirms, and removes the `carried`
   * entries whose changes rode on them.
   */
  private acknowledge(entries: readonly OutboxEntry[], carried: readonly number[] = []): void {
    const { store } = this.options;
    store.transaction(() => {
      for (const seq of carried) store.ackOutbox(seq);
      for (const entry of entries) {
        if (entry.kind === 'task' || entry.kind === 'container') {
          const containers = Array.isArray(entry.payload['containers'])
            ? (entry.payload['containers'] as Array<Record<string, unknown>>)
            : [];
          store.recordSentStatus(
            entry.taskArn,
            sentStatusFor(entry.payload['status']),
            containers.flatMap((c) => {
              const status = sentStatusFor(c['status']) as ContainerStatus | undefined;
              return status && typeof c['containerName'] === 'string' ? [{ name: c['containerName'], status }] : [];
            }),
          );
        }
        store.ackOutbox(entry.seq);
      }
    });
  }
}

/** The container changes of `entries` (oldest first) as one list: a later change of a container replaces its earlier one. */
function mergedContainers(entries: readonly OutboxEntry[]): unknown[] {
  const byName = new Map<string, unknown>();
  for (const entry of entries) {
    const containers = entry.payload['containers'];
    if (!Array.isArray(containers)) continue;
    for (const c of containers as Array<Record<string, unknown>>) {
      const name = typeof c['containerName'] === 'string' ? c['containerName'] : JSON.stringify(c);
      byName.delete(name);
      byName.set(name, c);
    }
  }
  return [...byName.values()];
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
