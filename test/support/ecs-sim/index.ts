/**
 * A loopback ECS backend for tests and local development: the ECS/ECR AWS JSON 1.1 API and the ACS
 * WebSocket on one 127.0.0.1 port, written from the wire protocol (fact sheet 1, 2, 3, 4.7).
 */
export type { ManifestEntry, RoleCredentials, RoleType } from './acs-messages.js';
export type { UpgradeRejection } from './acs-server.js';
export {
  type AcsContainer,
  type AcsDesiredStatus,
  type AcsTask,
  type BuildAcsTaskOptions,
  buildAcsTask,
  type TaskDefinitionLike,
} from './acs-task.js';
export { SimClosedError, SimError, SimNackError, SimTimeoutError, SimUsageError } from './errors.js';
export {
  type EcrAuthOptions,
  type EcrRegistryOptions,
  type EcsSimulatorOptions,
  SIM_DEFAULTS,
  type SimSettings,
  type SimTlsOptions,
} from './options.js';
export type {
  AcsConnection,
  AgentFrame,
  ApiCall,
  Attribute,
  RegisteredInstance,
  SentFrame,
  TaskStateChange,
} from './records.js';
export {
  type CredentialsOptions,
  EcsSimulator,
  type ManifestOptions,
  type SendOptions,
  type SimServer,
  type SimulatorFaults,
  startEcsSimulator,
} from './simulator.js';
