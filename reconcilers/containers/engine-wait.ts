/**
 * Telling "the engine does not answer" from "the engine refused this container" (issue 10 §4). Only the
 * latter ends a container (fact sheet 4.6); the former leaves the task waiting, with a visible note, and
 * is retried with backoff until Docker answers.
 */
import type { DockerEngine } from '../../src/docker/types.js';
import { DockerApiError, DockerTimeoutError, type EcsdError, isEcsdError } from '../../src/errors.js';
import type { Logger } from '../../src/logging/types.js';
import type { DesiredStateStore } from '../../src/store/records.js';
import { ENGINE_UNAVAILABLE_PREFIX, isEngineWaitReason } from './plan-reasons.js';

/** How long a ping may take before Docker counts as not answering (fact sheet 4.6: 5 s). */
const ENGINE_PING_TIMEOUT_MS = 5_000;

/** Whether Docker answers a ping; a cancelled reconcile rejects with the signal's reason instead. */
export async function engineAnswers(engine: DockerEngine, signal: AbortSignal): Promise<boolean> {
  try {
    await engine.ping({ timeoutMs: ENGINE_PING_TIMEOUT_MS, signal });
    return true;
  } catch {
    signal.throwIfAborted();
    return false;
  }
}

/**
 * Whether a failed call means the engine is not answering at all — no HTTP response (a connection
 * failure), or a timeout while a ping fails too — rather than refusing this container.
 */
export async function engineUnavailable(engine: DockerEngine, error: unknown, signal: AbortSignal): Promise<boolean> {
  if (error instanceof DockerTimeoutError) return !(await engineAnswers(engine, signal));
  return (
    isEcsdError(error) &&
    error.code === 'DockerApiError' &&
    error.errorClass !== 'terminal' &&
    error.context['status'] === undefined
  );
}

/**
 * Leaves the task waiting, with why in its reason (cleared by the planner once a container runs or the
 * task stops, plan-status.ts), and returns the error as transient for the runtime to retry with backoff.
 * A real reason already on the task is kept.
 */
export function waitForEngine(
  store: Pick<DesiredStateStore, 'getTask' | 'recordObservation'>,
  logger: Logger,
  taskArn: string,
  error: unknown,
): EcsdError {
  const transient = isEcsdError(error)
    ? error.errorClass === 'transient'
      ? error
      : new DockerApiError(error.message, { cause: error, context: error.context })
    : new DockerApiError(String(error), { cause: error });
  const current = store.getTask(taskArn)?.reason;
  const reason = `${ENGINE_UNAVAILABLE_PREFIX}${transient.message}`;
  if ((current === undefined || current === '' || isEngineWaitReason(current)) && current !== reason) {
    store.recordObservation({ taskArn, task: { reason } });
  }
  logger.warn('Docker engine unavailable; the task waits and is retried', { taskArn, error: transient });
  return transient;
}
