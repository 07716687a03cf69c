/**
 * The simulator's own closed set of errors. They belong to test support, not to the agent: the agent's set in
 * src/errors.ts classifies failures for its reconcile runtime, while these only tell a test what it waited
 * for in vain. Each carries a stable `code` and the context needed to read a failed test without a debugger.
 */

export const SIM_ERROR_CODES = ['SimTimeoutError', 'SimNackError', 'SimClosedError', 'SimUsageError'] as const;
export type SimErrorCode = (typeof SIM_ERROR_CODES)[number];

export abstract class SimError extends Error {
  abstract readonly code: SimErrorCode;
  readonly context: Record<string, unknown>;

  constructor(message: string, context: Record<string, unknown> = {}) {
    super(message);
    this.context = context;
  }
}

/** A wait (an ack, a connection, a reported status) did not happen within its deadline. */
export class SimTimeoutError extends SimError {
  readonly code = 'SimTimeoutError' as const;
  override readonly name = 'SimTimeoutError';
}

/** The agent answered a message with a NackRequest instead of an AckRequest. */
export class SimNackError extends SimError {
  readonly code = 'SimNackError' as const;
  override readonly name = 'SimNackError';
}

/** The simulator was closed while something still waited on it. */
export class SimClosedError extends SimError {
  readonly code = 'SimClosedError' as const;
  override readonly name = 'SimClosedError';
}

/** A test used the simulator wrongly (a bad option, a task definition without containers). */
export class SimUsageError extends SimError {
  readonly code = 'SimUsageError' as const;
  override readonly name = 'SimUsageError';
}
