/**
 * Committed rows of the three reads every reconcile of the containers loop makes (its task, the task's
 * containers, the volumes), kept so that a reconcile whose task did not change costs no SQLite statement.
 * In the 50-task benchmark these reads were a third of all statements, each with its own implicit read
 * transaction (and its lock calls on the WAL index).
 *
 * The store is the only writer of its database while the agent runs, so the rows can only change through a
 * store write — and every write reports what it changed through `WriteTracker.touch`, which the change feed
 * already relies on. `forget` is wired to that call and drops the entries at the moment of the write, inside
 * the transaction, so a rollback leaves nothing stale behind (the next read simply goes to SQLite). A read
 * only *adds* entries while no transaction is open (the caller's `mayFill`): a row read inside a
 * transaction may be one that is about to be rolled back.
 *
 * A write that knows the rows it leaves behind (putDesiredTask, the desired-status raise, recordObservation)
 * hands them back after its commit through `refill`, so the reconcile its change triggers reads from memory
 * too. The refill is taken only if nothing of that task was forgotten since the write captured `stamp()`: a
 * later write to the same task in the same transaction leaves the entries to the next read instead.
 *
 * Rows are frozen, and every read still turns them into fresh records, so a caller cannot change what the
 * next reader gets.
 */
import type { StoreTable } from './records.js';
import type { ContainerRow, TaskRow, VolumeRow } from './rows.js';

/** Tasks whose rows are kept; past it the oldest entry goes (the loops read active tasks, far fewer). */
const MAX_TASKS = 2_048;

export class RowCache {
  readonly #tasks = new Map<string, TaskRow>();
  readonly #containers = new Map<string, readonly ContainerRow[]>();
  #volumes: readonly VolumeRow[] | undefined;
  /** Counts forgets, so a refill can tell whether its task changed after its rows were taken. */
  #stamp = 0;
  /** The stamp of each task's latest forget, and of the latest forget that named no task. */
  readonly #forgotAt = new Map<string, number>();
  #forgotAllAt = 0;

  task(arn: string, read: () => TaskRow | undefined, mayFill: boolean): TaskRow | undefined {
    const cached = this.#tasks.get(arn);
    if (cached !== undefined) return cached;
    const row = read();
    // Absent tasks are not remembered: a lookup of an unknown ARN must not grow the cache.
    if (row !== undefined && mayFill) remember(this.#tasks, arn, Object.freeze(row));
    return row;
  }

  containers(taskArn: string, read: () => ContainerRow[], mayFill: boolean): readonly ContainerRow[] {
    const cached = this.#containers.get(taskArn);
    if (cached !== undefined) return cached;
    const rows = read();
    if (rows.length > 0 && mayFill) remember(this.#containers, taskArn, freezeAll(rows));
    return rows;
  }

  volumes(read: () => VolumeRow[], mayFill: boolean): readonly VolumeRow[] {
    if (this.#volumes !== undefined) return this.#volumes;
    const rows = read();
    if (mayFill) this.#volumes = freezeAll(rows);
    return rows;
  }

  stamp(): number {
    return this.#stamp;
  }

  /** Keeps a committed write's rows for `taskArn`, unless anything was forgotten since `stamp`. */
  refill(stamp: number, taskArn: string, task: TaskRow | undefined, containers: ContainerRow[] | undefined): void {
    if ((this.#forgotAt.get(taskArn) ?? 0) > stamp || this.#forgotAllAt > stamp) return;
    // Nothing of this task was forgotten after these rows: its note has served (a later refill of the same
    // transaction, captured after a later forget, still finds that forget's note).
    this.#forgotAt.delete(taskArn);
    if (task !== undefined) remember(this.#tasks, taskArn, Object.freeze(task));
    if (containers !== undefined && containers.length > 0) remember(this.#containers, taskArn, freezeAll(containers));
  }

  /** A write changed `table` for `taskArn` (or, without one, for any task). */
  forget(table: StoreTable, taskArn: string | null | undefined): void {
    const one = taskArn !== undefined && taskArn !== null && taskArn !== '';
    if (table === 'tasks' || table === 'containers' || table === 'sent') {
      this.#stamp += 1;
      if (one && this.#forgotAt.size >= MAX_TASKS) {
        // Notes of tasks written without a refill since: drop them all, and count that as a change to
        // every task, which only costs refills still pending in the current transaction.
        this.#forgotAt.clear();
        this.#forgotAllAt = this.#stamp;
      }
      if (one) this.#forgotAt.set(taskArn, this.#stamp);
      else this.#forgotAllAt = this.#stamp;
    }
    switch (table) {
      case 'tasks':
        if (one) this.#tasks.delete(taskArn);
        else this.#tasks.clear();
        return;
      case 'containers':
        if (one) this.#containers.delete(taskArn);
        else this.#containers.clear();
        return;
      case 'sent':
        // Sent status lives on both the task row and the container rows.
        if (one) {
          this.#tasks.delete(taskArn);
          this.#containers.delete(taskArn);
        } else {
          this.#tasks.clear();
          this.#containers.clear();
        }
        return;
      case 'volumes':
        this.#volumes = undefined;
        return;
      default:
        return;
    }
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_TASKS) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(key, value);
}

function freezeAll<R extends object>(rows: R[]): readonly R[] {
  for (const row of rows) Object.freeze(row);
  return Object.freeze(rows);
}
