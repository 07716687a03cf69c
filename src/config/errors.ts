/**
 * Invalid configuration. Terminal: the process exits with 5 so ecs-init stops restarting it (fact sheet 13);
 * every problem found is listed at once so one run tells the operator everything to fix.
 */
import { EcsdError, type EcsdErrorOptions } from '../errors.js';
import type { ConfigSource } from './types.js';

/** Exit code for a configuration error: upstream's "terminal" code (fact sheet 13). */
export const CONFIG_EXIT_CODE = 5;

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
  issues: ConfigIssue[];
}

export class ConfigError extends EcsdError {
  readonly issues: readonly ConfigIssue[];

  constructor(message: string, options: ConfigErrorOptions) {
    super('ConfigError', message, 'terminal', {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      context: { ...options.context, variables: options.issues.map((issue) => issue.variable) },
    });
    this.issues = Object.freeze(options.issues.map((issue) => Object.freeze({ ...issue })));
  }

  /** An error whose message is a header line then one line per issue. */
  static fromIssues(issues: ConfigIssue[]): ConfigError {
    const header =
      issues.length === 1 ? '1 invalid configuration value:' : `${issues.length} invalid configuration values:`;
    return new ConfigError([header, ...issues.map(formatIssue)].join('\n'), { issues });
  }
}

export function formatIssue(issue: ConfigIssue): string {
  const from = issue.source === undefined ? '' : ` (from ${issue.source})`;
  return `  ${issue.variable}=${JSON.stringify(issue.value)}${from}: expected ${issue.expected}`;
}
