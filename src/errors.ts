/**
 * The closed set of typed errors. Each carries a stable `code` (also the upstream error name where one
 * exists, so `reason` strings read `<code>: <message>` as in fact sheet 4.6) and a classification the
 * loop runtime uses to decide between retry-with-backoff, retry-later and drop.
 */

export type ErrorClass = 'terminal' | 'transient' | 'throttled';

export const ERROR_CODES = [
  'ConfigError',
  'StoreError',
  'StoreCorruptError',
  'DockerTimeoutError',
  'DockerApiError',
  'CannotPullContainerError',
  'CannotCreateContainerError',
  'CannotStartContainerError',
  'CannotStopContainerError',
  'CannotInspectContainerError',
  'ContainerVanishedError',
  'OutOfMemoryError',
  'TaskStateError',
  'TaskValidationError',
  'DependencyError',
  'DryRunMutationError',
  'QueueFullError',
  'InternalError',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface EcsdErrorOptions {
  cause?: unknown;
  /** Extra context for logs: ids, names, values. Never secrets. */
  context?: Record<string, unknown>;
  errorClass?: ErrorClass;
}

export class EcsdError extends Error {
  readonly code: ErrorCode;
  readonly errorClass: ErrorClass;
  readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, defaultClass: ErrorClass, options: EcsdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = code;
    this.code = code;
    this.errorClass = options.errorClass ?? defaultClass;
    this.context = options.context ?? {};
  }

  get terminal(): boolean {
    return this.errorClass === 'terminal';
  }

  /** The upstream reason form: `CannotPullContainerError: pull access denied…`. */
  toReason(): string {
    return `${this.code}: ${this.message}`;
  }
}

function define(code: ErrorCode, defaultClass: ErrorClass) {
  return class extends EcsdError {
    constructor(message: string, options?: EcsdErrorOptions) {
      super(code, message, defaultClass, options);
    }
  };
}

export const StoreError = define('StoreError', 'transient');
export const StoreCorruptError = define('StoreCorruptError', 'terminal');
export const DockerTimeoutError = define('DockerTimeoutError', 'transient');
export const DockerApiError = define('DockerApiError', 'transient');
export const CannotPullContainerError = define('CannotPullContainerError', 'terminal');
export const CannotCreateContainerError = define('CannotCreateContainerError', 'terminal');
export const CannotStartContainerError = define('CannotStartContainerError', 'terminal');
export const CannotStopContainerError = define('CannotStopContainerError', 'transient');
export const CannotInspectContainerError = define('CannotInspectContainerError', 'transient');
export const ContainerVanishedError = define('ContainerVanishedError', 'terminal');
export const OutOfMemoryError = define('OutOfMemoryError', 'terminal');
export const TaskStateError = define('TaskStateError', 'terminal');
export const TaskValidationError = define('TaskValidationError', 'terminal');
export const DependencyError = define('DependencyError', 'terminal');
export const DryRunMutationError = define('DryRunMutationError', 'terminal');
export const QueueFullError = define('QueueFullError', 'throttled');
export const InternalError = define('InternalError', 'transient');

export function isEcsdError(error: unknown): error is EcsdError {
  return error instanceof EcsdError;
}

/** Unknown errors are treated as transient: retrying with backoff is the safe default for a reconciler. */
export function classifyError(error: unknown): ErrorClass {
  return isEcsdError(error) ? error.errorClass : 'transient';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
