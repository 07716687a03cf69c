/** Why the agent could not start, and which exit code that means for a supervisor (fact sheet 13). */
export type StartFailureKind = 'recoverable' | 'terminal';

export const EXIT_SUCCESS = 0;
/** Recoverable: ecs-init restarts the agent with backoff. */
export const EXIT_RECOVERABLE = 1;
/** Terminal: ecs-init stops supervising, so a bad configuration does not restart-loop. */
export const EXIT_TERMINAL = 5;
/** An update was staged (ACS PerformUpdate); ecs-init restarts immediately. */
export const EXIT_UPDATE = 42;

export class AgentStartError extends Error {
  override readonly name = 'AgentStartError';
  constructor(
    message: string,
    readonly kind: StartFailureKind,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }

  get exitCode(): number {
    return this.kind === 'terminal' ? EXIT_TERMINAL : EXIT_RECOVERABLE;
  }
}
