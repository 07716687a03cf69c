/**
 * The closed set of typed errors. Each carries a stable `code` (also the upstream error name where one
 * exists, so `reason` strings read `<code>: <message>` as in fact sheet 4.6) and a classification the
 * loop runtime uses to decide between retry-with-backoff, retry-later and drop.
 *
 * One constructor per code, all defined here (`ERROR_CONSTRUCTORS`), so `instanceof` and `code` always
 * agree: the CLI picks the exit code with `instanceof`, and a ConfigError built anywhere must exit 5.
 * Build errors with the per-code constructor (`new ConfigError(…)`), never with `new EcsdError(code, …)`;
 * test/errors-closed-set.test.ts fails on any such call outside this file.
 */
import type { ConfigSource } from './config/types.js';

export type ErrorClass = 'terminal' | 'transient' | 'throttled';

export const ERROR_CODES = [
  'ConfigError',
  'AgentStartError',
  'StoreError',
  'StoreCorruptError',
  'DockerTimeoutError',
  'DockerApiError',
  'CannotPullContainerError',
  'CannotPullECRContainerError',
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
  'EcsApiError',
  'InternalError',
  'AcsMessageError',
  'AcsConnectionError',
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

  /**
   * For the per-code subclasses. Called directly (`new EcsdError('ConfigError', …)`, a form older call sites
   * still use) it returns an instance of that code's constructor instead, so `instanceof ConfigError` holds
   * and the exit code is right even before such a call site is converted.
   */
  constructor(code: ErrorCode, message: string, defaultClass: ErrorClass, options: EcsdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = code;
    this.code = code;
    this.errorClass = options.errorClass ?? defaultClass;
    this.context = options.context ?? {};
    if (new.target === EcsdError) {
      // biome-ignore lint/correctness/noConstructorReturn: the compatibility path described above.
      return constructedByHand(code, message, defaultClass, options);
    }
  }

  get terminal(): boolean {
    return this.errorClass === 'terminal';
  }

  /** The upstream reason form: `CannotPullContainerError: pull access denied…`. */
  toReason(): string {
    return `${this.code}: ${this.message}`;
  }
}

function define<C extends ErrorCode>(code: C, defaultClass: ErrorClass) {
  return class extends EcsdError {
    override readonly code: C = code;
    constructor(message: string, options?: EcsdErrorOptions) {
      super(code, message, defaultClass, options);
    }
  };
}

/** One configuration value at fault. */
export interface ConfigIssue {
  /** The env var (or flag) at fault. */
  variable: string;
  /** The value as given; secrets are `<redacted>`. */
  value: string;
  /** What would have been accepted. */
  expected: string;
  /** Where the value came from, when known. */
  source?: ConfigSource;
}

export interface ConfigErrorOptions extends Omit<EcsdErrorOptions, 'errorClass'> {
  /** The values at fault, when the problem is one of values (absent for e.g. a directory that is missing). */
  issues?: ConfigIssue[];
}

/**
 * Invalid configuration, wherever it is found (config loading, logger options, a directory the config names).
 * Always terminal: the process exits 5 so ecs-init stops restarting it (fact sheet 13).
 */
export class ConfigError extends EcsdError {
  override readonly code = 'ConfigError' as const;
  readonly issues: readonly ConfigIssue[];

  constructor(message: string, options: ConfigErrorOptions = {}) {
    const issues = options.issues ?? [];
    super('ConfigError', message, 'terminal', {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      context: {
        ...options.context,
        ...(issues.length > 0 ? { variables: issues.map((issue) => issue.variable) } : {}),
      },
    });
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue })));
  }

  /** An error whose message is a header line then one line per issue. */
  static fromIssues(issues: ConfigIssue[]): ConfigError {
    const header =
      issues.length === 1 ? '1 invalid configuration value:' : `${issues.length} invalid configuration values:`;
    return new ConfigError([header, ...issues.map(formatConfigIssue)].join('\n'), { issues });
  }
}

export function formatConfigIssue(issue: ConfigIssue): string {
  const from = issue.source === undefined ? '' : ` (from ${issue.source})`;
  return `  ${issue.variable}=${JSON.stringify(issue.value)}${from}: expected ${issue.expected}`;
}

/** Why the agent could not start, and whether a restart can help (fact sheet 13). */
export type StartFailureKind = 'recoverable' | 'terminal';

/**
 * A start-up check failed (Docker does not answer, an engine too old, saved state of another cluster).
 * `terminal` ends supervision (exit 5); `recoverable` is transient (exit 1, the supervisor restarts).
 */
export class AgentStartError extends EcsdError {
  override readonly code = 'AgentStartError' as const;
  constructor(
    message: string,
    readonly kind: StartFailureKind,
    cause?: unknown,
  ) {
    super('AgentStartError', message, kind === 'terminal' ? 'terminal' : 'transient', {
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

export const StoreError = define('StoreError', 'transient');
export const StoreCorruptError = define('StoreCorruptError', 'terminal');
export const DockerTimeoutError = define('DockerTimeoutError', 'transient');
export const DockerApiError = define('DockerApiError', 'transient');
export const CannotPullContainerError = define('CannotPullContainerError', 'terminal');
/**
 * ECR credentials could not be had for a pull (no execution-role credentials, GetAuthorizationToken refused).
 * Upstream's error of that name does not retry (`Retry() false`); a throttled or failed ECR call is raised
 * with `errorClass: 'transient'` instead, so the runtime retries it with backoff.
 */
export const CannotPullECRContainerError = define('CannotPullECRContainerError', 'terminal');
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
/**
 * An ECS API call failed. The class follows the service's answer: throttling → throttled, a server fault or
 * no answer → transient, a client fault (bad parameters, missing cluster) → terminal. `context.operation` and
 * `context.serviceCode` (the exception name, e.g. `InvalidParameterException`) say which call and why.
 */
export const EcsApiError = define('EcsApiError', 'transient');
export type EcsApiError = InstanceType<typeof EcsApiError>;
export const InternalError = define('InternalError', 'transient');
/** An ACS frame or message the agent cannot use (undecodable, oversized, invalid): it is logged and dropped, never retried. */
export const AcsMessageError = define('AcsMessageError', 'terminal');
/**
 * The ACS WebSocket could not be opened or was lost. Transient by default (the source reconnects with backoff);
 * `context.exception` names a backend exception (e.g. `InactiveInstanceException`) when the backend sent one.
 */
export const AcsConnectionError = define('AcsConnectionError', 'transient');

/** The constructor of every code: the closed set, checked by the compiler to miss none. */
export const ERROR_CONSTRUCTORS = {
  ConfigError,
  AgentStartError,
  StoreError,
  StoreCorruptError,
  DockerTimeoutError,
  DockerApiError,
  CannotPullContainerError,
  CannotPullECRContainerError,
  CannotCreateContainerError,
  CannotStartContainerError,
  CannotStopContainerError,
  CannotInspectContainerError,
  ContainerVanishedError,
  OutOfMemoryError,
  TaskStateError,
  TaskValidationError,
  DependencyError,
  DryRunMutationError,
  QueueFullError,
  EcsApiError,
  InternalError,
  AcsMessageError,
  AcsConnectionError,
} as const satisfies { readonly [C in ErrorCode]: abstract new (...args: never[]) => EcsdError & { code: C } };

/**
 * The same kind of error (code and class) with a new message and options: for a layer that retells an
 * error it caught (a failed negotiation seen by the call that waited on it) without widening the closed set.
 */
export function restated(error: EcsdError, message: string, options: Omit<EcsdErrorOptions, 'errorClass'>): EcsdError {
  return constructedByHand(error.code, message, error.errorClass, { ...options, errorClass: error.errorClass });
}

function constructedByHand(
  code: ErrorCode,
  message: string,
  errorClass: ErrorClass,
  options: EcsdErrorOptions,
): EcsdError {
  const { errorClass: explicitClass, ...rest } = options;
  const withClass = { ...rest, errorClass: explicitClass ?? errorClass };
  switch (code) {
    case 'ConfigError':
      return new ConfigError(message, rest);
    case 'AgentStartError':
      return new AgentStartError(message, withClass.errorClass === 'terminal' ? 'terminal' : 'recoverable', rest.cause);
    default:
      return new ERROR_CONSTRUCTORS[code](message, withClass);
  }
}

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
