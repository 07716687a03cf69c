/**
 * Exit codes for a supervisor (fact sheet 13) and which error means which. AgentStartError itself is one of
 * the closed set in src/errors.ts; it is re-exported here where the agent's start-up code looks for it.
 */
import { type ErrorCode, isEcsdError } from '../errors.js';

export { AgentStartError, type StartFailureKind } from '../errors.js';

export const EXIT_SUCCESS = 0;
/** Recoverable: ecs-init restarts the agent with backoff. */
export const EXIT_RECOVERABLE = 1;
/** Terminal: ecs-init stops supervising, so a bad configuration does not restart-loop. */
export const EXIT_TERMINAL = 5;
/** An update was staged (ACS PerformUpdate); ecs-init restarts immediately. */
export const EXIT_UPDATE = 42;

/**
 * Per code: can an error of this code that stops the process end supervision? `always` — configuration
 * (a restart reads the same config); `when-terminal` — the error's own class decides: a start check that
 * said terminal, saved state that cannot be opened (upstream's "task engine init failure", fact sheet 13:
 * a newer schema, an unwritable data directory); `never` — task-level and Docker errors reaching the top
 * are a fault of the moment or a bug, and a restart is the right answer (exit 1). A record over every code,
 * so a new code cannot be added without deciding.
 */
export const EXIT_POLICY: Readonly<Record<ErrorCode, 'always' | 'when-terminal' | 'never'>> = {
  ConfigError: 'always',
  AgentStartError: 'when-terminal',
  StoreError: 'when-terminal',
  StoreCorruptError: 'when-terminal',
  DockerTimeoutError: 'never',
  DockerApiError: 'never',
  CannotPullContainerError: 'never',
  CannotPullECRContainerError: 'never',
  CannotCreateContainerError: 'never',
  CannotStartContainerError: 'never',
  CannotStopContainerError: 'never',
  CannotInspectContainerError: 'never',
  ContainerVanishedError: 'never',
  OutOfMemoryError: 'never',
  TaskStateError: 'never',
  TaskValidationError: 'never',
  DependencyError: 'never',
  DryRunMutationError: 'never',
  QueueFullError: 'never',
  // Registration decides terminal vs recoverable itself (AgentStartError); a call failing later is of the moment.
  EcsApiError: 'never',
  InternalError: 'never',
  AcsMessageError: 'never',
  AcsConnectionError: 'never',
};

/** The exit code for an error that stops the agent: 5 (terminal) or 1 (recoverable). Unknown errors: 1. */
export function exitCodeFor(error: unknown): typeof EXIT_TERMINAL | typeof EXIT_RECOVERABLE {
  if (!isEcsdError(error)) return EXIT_RECOVERABLE;
  const policy = EXIT_POLICY[error.code];
  const terminal = policy === 'always' || (policy === 'when-terminal' && error.terminal);
  return terminal ? EXIT_TERMINAL : EXIT_RECOVERABLE;
}
