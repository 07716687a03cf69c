/** The ACS WebSocket desired-state source (fact sheet 2): its public surface. */
export {
  AcsSource,
  type AcsSourceDeps,
  type AcsSourceState,
  type AcsTuning,
  CLEAN_CLOSE_CODES,
  DEFAULT_ACS_TUNING,
} from './acs-source.js';
export type { AcsStore } from './handlers/context.js';
export { UNRECOGNIZED_TASK_REASON_PREFIX } from './handlers/payload.js';
export { UPDATES_DISABLED_REASON } from './handlers/update.js';
export { ACS_MESSAGE_TYPE_LABELS, type AcsMessageTypeLabel } from './message-types.js';
export { signUpgradeRequest, upgradeSigningRequest } from './sign.js';
export { acsUrl } from './url.js';
