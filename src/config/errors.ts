/**
 * Invalid configuration. The class itself lives with every other error code in src/errors.ts (one
 * constructor per code, so `instanceof ConfigError` holds wherever a config problem is found); this module
 * keeps the config part's names for it. Terminal: the process exits with 5 so ecs-init stops restarting it
 * (fact sheet 13); every problem found is listed at once so one run tells the operator everything to fix.
 */
export {
  ConfigError,
  type ConfigErrorOptions,
  type ConfigIssue,
  formatConfigIssue as formatIssue,
} from '../errors.js';

/** Exit code for a configuration error: upstream's "terminal" code (fact sheet 13). */
export const CONFIG_EXIT_CODE = 5;
