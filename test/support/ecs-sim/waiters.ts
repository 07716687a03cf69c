/**
 * Event-driven waits on the simulator's recorded state: every record (a call, a frame, a connection change)
 * calls `notify()`, and each waiter re-evaluates its probe then. No polling, so a wait costs nothing while
 * nothing happens and resolves in the same turn as the record that satisfies it.
 */
import { SimClosedError, SimTimeoutError } from './errors.js';

interface Waiter {
  check(): void;
  fail(error: Error): void;
}

/** `undefined` keeps waiting; any other value resolves; a thrown error rejects. */
export type Probe<T> = () => T | undefined;

export class StateWaiters {
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  notify(): void {
    for (const waiter of [...this.waiters]) waiter.check();
  }

  waitUntil<T>(what: string, probe: Probe<T>, timeoutMs: number, describe?: () => string): Promise<T> {
    if (this.closed) return Promise.reject(new SimClosedError(`simulator closed; cannot wait for ${what}`));
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          let value: T | undefined;
          try {
            value = probe();
          } catch (error) {
            done();
            reject(error);
            return;
          }
          if (value === undefined) return;
          done();
          resolve(value);
        },
        fail: (error) => {
          done();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const detail = describe?.();
        waiter.fail(
          new SimTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}${detail ? `: ${detail}` : ''}`, {
            what,
            timeoutMs,
          }),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  /** Rejects every open wait; later waits reject at once. */
  close(): void {
    this.closed = true;
    for (const waiter of [...this.waiters]) waiter.fail(new SimClosedError('simulator closed while waiting'));
  }
}
