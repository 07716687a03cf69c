/**
 * ECS mode's entry point. The agent loads it with `await import('../ecs/index.js')` only in ECS mode, so
 * the AWS SDK (its import costs start-up CPU and memory) is never loaded in local mode: no module outside
 * src/ecs/ imports `@aws-sdk/*`, and nothing local mode loads imports this file statically.
 */

export { type Attribute, capabilityAttributes, type EngineFacts, formatAttributes } from './capabilities.js';
export {
  createEcsApi,
  type EcsApi,
  type EcsApiOptions,
  effectiveCluster,
  type PollEndpoints,
  type RegisterInstanceInput,
} from './client.js';
export {
  awsCredentialsProvider,
  type CredentialProviderFactories,
  type CredentialSource,
  credentialSources,
} from './credentials.js';
export { type RegistrationDeps, registerInstance } from './registration.js';
export type { AttachmentChangePayload } from './state-change-request.js';
export { type EcsStateChangeSinkDeps, ecsStateChangeSink } from './task-state-sink.js';
