/**
 * The manager owns every long-running part's lifecycle (controller-runtime's Manager and Runnable): parts are
 * added to ordered phases, started phase by phase, and stopped in reverse under ONE shutdown deadline that
 * holds even when a part hangs (a Docker call that never answers): a part still stopping when the deadline
 * passes is abandoned with a log line, and the manager reports the shutdown as done so the process exits 0.
 */
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging/types.js';

/**
 * Start order; stop runs in reverse. Desired state must be readable before anything acts on it; in ECS mode the
 * instance registers (`register`) before anything else talks to Docker or ECS, as upstream (fact sheet 13).
 */
export const MANAGER_PHASES = ['store', 'register', 'informer', 'sources', 'loops', 'reporter', 'servers'] as const;
export type ManagerPhase = (typeof MANAGER_PHASES)[number];

export type ManagerState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface Runnable {
  readonly name: string;
  start(): Promise<void> | void;
  /**
   * Stop taking work and release resources. `deadlineMs` is what is left of the shutdown deadline: a part with
   * in-flight work aborts it when that time is up (its AbortSignals reach Docker).
   */
  stop(deadlineMs: number): Promise<void> | void;
}

export interface ManagerOptions {
  logger: Logger;
  clock: Clock;
  /** The whole shutdown, every part included (upstream: the engine is given ~5 s to disable). */
  shutdownDeadlineMs: number;
}

export class Manager {
  readonly #options: ManagerOptions;
  readonly #phases = new Map<ManagerPhase, Runnable[]>(MANAGER_PHASES.map((phase) => [phase, []]));
  /** Parts whose start completed, in start order: exactly these are stopped. */
  readonly #started: Runnable[] = [];
  #state: ManagerState = 'idle';
  #stopping: Promise<void> | undefined;

  constructor(options: ManagerOptions) {
    this.#options = options;
  }

  get state(): ManagerState {
    return this.#state;
  }

  add(phase: ManagerPhase, runnable: Runnable): void {
    if (this.#state !== 'idle') throw new Error(`cannot add ${runnable.name}: the manager is ${this.#state}`);
    this.#phases.get(phase)!.push(runnable);
  }

  /**
   * Starts every part in phase order. A part that fails to start stops the parts already started (in reverse)
   * and the error is rethrown: the agent never runs half-started.
   */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`manager cannot start from state ${this.#state}`);
    this.#state = 'starting';
    for (const phase of MANAGER_PHASES) {
      for (const runnable of this.#phases.get(phase)!) {
        try {
          await runnable.start();
        } catch (error) {
          this.#options.logger.error('start failed; stopping what was started', {
            part: runnable.name,
            phase,
            error: errorMessage(error),
          });
          await this.stop();
          throw error;
        }
        this.#started.push(runnable);
      }
    }
    this.#state = 'running';
  }

  /** Stops the started parts in reverse order within the shutdown deadline. Idempotent; never rejects. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  async #stopAll(): Promise<void> {
    this.#state = 'stopping';
    const { clock, logger, shutdownDeadlineMs } = this.#options;
    const deadlineAtMs = clock.nowMs() + shutdownDeadlineMs;
    const order = [...this.#started].reverse();
    this.#started.length = 0;
    /** Parts not yet stopped, for the deadline's log line. */
    const remaining = [...order];
    const stopEach = (async () => {
      for (const runnable of order) {
        const leftMs = Math.max(0, deadlineAtMs - clock.nowMs());
        try {
          await runnable.stop(leftMs);
        } catch (error) {
          logger.error('shutdown step failed', { part: runnable.name, error: errorMessage(error) });
        }
        remaining.shift();
      }
    })();
    let timer: { cancel(): void } | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      // A little slack past the parts' own deadline, so a part that aborts its work at the deadline can finish.
      timer = clock.setTimeout(() => resolve('deadline'), shutdownDeadlineMs + SHUTDOWN_SLACK_MS);
    });
    const outcome = await Promise.race([stopEach.then(() => 'stopped' as const), deadline]);
    timer?.cancel();
    if (outcome === 'deadline') {
      logger.warn('shutdown deadline passed; abandoning parts still stopping', {
        deadlineMs: shutdownDeadlineMs,
        parts: remaining.map((r) => r.name),
      });
    }
    this.#state = 'stopped';
  }
}

/** Past the shutdown deadline, how long the manager still waits for parts that were told to abort. */
const SHUTDOWN_SLACK_MS = 1_000;
