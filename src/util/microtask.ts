/**
 * Runs `callback` as a microtask, like `queueMicrotask`, without the AsyncResource that Node's
 * `queueMicrotask` creates, enters and leaves for every call: async_hooks bookkeeping the agent never
 * reads, paid on every store write and every reconcile, since the loops schedule their pump and poll this
 * way. A throw still surfaces, as an unhandled rejection, which ends the process as an uncaught exception
 * would.
 */
const settled = Promise.resolve();

export function runSoon(callback: () => void): void {
  void settled.then(callback);
}
