/**
 * The closed vocabulary of ACS frame types this agent receives (fact sheet 2.3, 2.4). Metric labels come from
 * it (`ecs_agent_acs_messages_total{type}`), so any type outside it is counted as `unknown`.
 */

/** Inbound message types with a schema in acs-messages.schema.json. */
export const ACS_MESSAGE_TYPES = [
  'PayloadMessage',
  'HeartbeatMessage',
  'IAMRoleCredentialsMessage',
  'AttachTaskNetworkInterfacesMessage',
  'AttachInstanceNetworkInterfacesMessage',
  'ConfirmAttachmentMessage',
  'TaskManifestMessage',
  'TaskStopVerificationAck',
  'StageUpdateMessage',
  'PerformUpdateMessage',
  'CloseMessage',
  'ErrorMessage',
] as const;
export type AcsMessageType = (typeof ACS_MESSAGE_TYPES)[number];

/** Backend exceptions: mostly upgrade-failure bodies, but decodable as frames too (bare or typed form). */
export const ACS_EXCEPTION_TYPES = [
  'ServerException',
  'BadRequestException',
  'InvalidClusterException',
  'InvalidInstanceException',
  'AccessDeniedException',
  'InactiveInstanceException',
] as const;
export type AcsExceptionType = (typeof ACS_EXCEPTION_TYPES)[number];

export const ACS_MESSAGE_TYPE_LABELS = [...ACS_MESSAGE_TYPES, ...ACS_EXCEPTION_TYPES, 'unknown'] as const;
export type AcsMessageTypeLabel = (typeof ACS_MESSAGE_TYPE_LABELS)[number];

export function isAcsMessageType(value: string): value is AcsMessageType {
  return (ACS_MESSAGE_TYPES as readonly string[]).includes(value);
}

export function isAcsExceptionType(value: string): value is AcsExceptionType {
  return (ACS_EXCEPTION_TYPES as readonly string[]).includes(value);
}

export function messageTypeLabel(type: string): AcsMessageTypeLabel {
  return isAcsMessageType(type) || isAcsExceptionType(type) ? type : 'unknown';
}
