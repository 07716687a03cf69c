/**
 * The reason strings the containers planner writes to records and reports. Container reasons use upstream's
 * `<ErrorName>: <message>` form (fact sheet 4.6) so they read the same in the ECS console as the Go agent's.
 */
import type { ErrorCode } from '../../src/errors.js';
import type { DependencyCondition } from '../../src/model/task.js';

/** Upstream's reason for a container Docker killed for memory (fact sheet 4.6, from inspect `OOMKilled`). */
export const OOM_REASON = 'OutOfMemoryError: Container killed due to memory usage';

/** A container whose recorded Docker ID no longer exists in the engine (fact sheet 4.6, 4.10). */
export const VANISHED_REASON = 'ContainerVanishedError: No container matching saved ID found';

/** The synthetic exit code of a container that failed its dependencies (fact sheet 4.5: SIGTERM's 128 + 15). */
export const DEPENDENCY_FAILURE_EXIT_CODE = 143;

/** Backend limits on reason lengths (fact sheet 1.6). */
export const MAX_REASON_CHARS = 1024;
export const MAX_RUNTIME_ID_CHARS = 255;

export function errorReason(code: ErrorCode, message: string): string {
  return `${code}: ${message}`;
}

/**
 * Upstream's TaskDependencyError text, used for dependency cycles and impossible graphs (fact sheet 4.5). An
 * unknown target gets the same prefix (upstream reports both alike) plus what was wrong, so it stays readable.
 */
export function taskDependencyReason(taskArn: string, detail?: string): string {
  const base = `Task dependencies cannot be resolved, taskArn: ${taskArn}`;
  return detail === undefined ? base : `${base}: ${detail}`;
}

/**
 * Until the images loop pulls, a container whose image is not in the engine can never be created: it fails
 * the way a failed pull followed by a failed create does upstream (fact sheet 4.6).
 */
export function imageMissingReason(image: string): string {
  return errorReason('CannotPullContainerError', `image ${image} is not present in the local Docker engine`);
}

export function unsupportedVolumeReason(volume: string, volumeType: string): string {
  return errorReason(
    'CannotCreateContainerError',
    `volume ${volume} of type ${volumeType} is not supported on this host`,
  );
}

export function unknownVolumeReason(volume: string): string {
  return errorReason(
    'CannotCreateContainerError',
    `mount point refers to volume ${volume}, which the task does not define`,
  );
}

/** The terminal dependency failure reason (fact sheet 4.5: CannotStartContainerError carrying the message). */
export function dependencyFailureReason(message: string): string {
  return errorReason('CannotStartContainerError', message);
}

export function describeDependency(dependency: string, condition: DependencyCondition): string {
  return `${dependency} ${condition}`;
}

export function truncate(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : text.slice(0, maxChars);
}

/**
 * A task waiting because Docker does not answer carries this reason prefix (executor.ts). It is a waiting
 * note, not a failure: a real reason replaces it, and the planner clears it once a container runs or the
 * task is stopping, so it is never reported as a STOPPED reason.
 */
export const ENGINE_UNAVAILABLE_PREFIX = 'Docker engine unavailable: ';

export function isEngineWaitReason(reason: string | undefined): boolean {
  return reason?.startsWith(ENGINE_UNAVAILABLE_PREFIX) === true;
}
