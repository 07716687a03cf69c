/**
 * The image-cleanup loop's cycles, held in memory: which cycle is due (the loop's desired state, set by the
 * interval schedule and the disk check) and which was taken and finished (part of its actual state, set by
 * the cycle's own `start-cycle` and `finish-cycle` actions). A cycle is level-triggered work that ends: once
 * its `start-cycle` is applied, planning it again gives nothing, so the per-cycle delete count holds however
 * often the runtime re-plans (it does after every apply) — the next deletions wait for the next cycle.
 *
 * Cycles never overlap: the loop has one key, so one cycle is planned and applied at a time. A request that
 * arrives while a cycle waits joins it (an interval request turns a waiting disk-pressure cycle into an
 * interval one: the interval cycle also removes what the watermarks ask for). While a cycle runs, an interval
 * request makes the next cycle, which runs once this one is done; a disk-pressure request is skipped, as the
 * running cycle already measured the disk and the next check comes within a minute.
 * Nothing is persisted: after a restart the schedules start again, as upstream's ticker does.
 */
import type { CleanupDeletion, CleanupTrigger } from './plan-cleanup.js';

/** A cycle due: the image-cleanup loop's desired state. */
export interface CleanupCycleRequest {
  /** 1, 2, …: increases with each new cycle. */
  cycle: number;
  trigger: CleanupTrigger;
}

/** What a cycle did, for the closing log line and for tests. */
export interface CleanupCycleSummary {
  cycle: number;
  trigger: CleanupTrigger;
  planned: number;
  removed: CleanupDeletion[];
  /** Deletions that failed, with the engine's message; skipped for this cycle. */
  failed: Array<{ deletion: CleanupDeletion; error: string }>;
  finished: boolean;
}

export type CycleRequestOutcome = 'new' | 'joined' | 'skipped-cycle-running';

export class CleanupCycles {
  #due: CleanupCycleRequest | undefined;
  #lastNumber = 0;
  #startedCycle = 0;
  #current: CleanupCycleSummary | undefined;

  /** Asks for a cycle (see the file comment for how it meets a waiting or running one). */
  request(trigger: CleanupTrigger): CycleRequestOutcome {
    const due = this.#due;
    if (due !== undefined && due.cycle > this.#startedCycle) {
      if (trigger === 'interval') this.#due = { ...due, trigger };
      return 'joined';
    }
    if (due !== undefined && this.#current?.cycle === due.cycle && !this.#current.finished) {
      if (trigger === 'disk-pressure') return 'skipped-cycle-running';
    }
    this.#lastNumber += 1;
    this.#due = { cycle: this.#lastNumber, trigger };
    return 'new';
  }

  /** The latest cycle asked for (taken or not). */
  due(): CleanupCycleRequest | undefined {
    return this.#due;
  }

  /** The number of the last cycle taken (0 before the first). */
  startedCycle(): number {
    return this.#startedCycle;
  }

  /** `start-cycle` applied: the cycle's deletions are the plan that holds this action. */
  start(request: CleanupCycleRequest, planned: number): void {
    this.#startedCycle = Math.max(this.#startedCycle, request.cycle);
    this.#current = { ...request, planned, removed: [], failed: [], finished: false };
  }

  recordDeletion(cycle: number, deletion: CleanupDeletion, error?: string): void {
    const current = this.#current;
    if (current?.cycle !== cycle) return;
    if (error === undefined) current.removed.push(deletion);
    else current.failed.push({ deletion, error });
  }

  /** `finish-cycle` applied: the summary of the cycle. */
  finish(cycle: number): CleanupCycleSummary | undefined {
    const current = this.#current;
    if (current?.cycle !== cycle) return undefined;
    current.finished = true;
    return current;
  }

  /** The cycle taken last, finished or still running. */
  lastCycle(): CleanupCycleSummary | undefined {
    return this.#current;
  }
}
