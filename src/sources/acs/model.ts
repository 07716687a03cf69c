/**
 * TypeScript types of the ACS wire model (ecsacs 2014-11-13, fact sheet 2.4, 2.5, 3): what
 * `schemas/acs-task.schema.json` and `schemas/acs-messages.schema.json` guarantee after validation.
 * Optional fields may be absent (nulls are removed before validation); unknown fields may be present.
 */

export interface AcsIamRoleCredentials {
  credentialsId: string;
  roleArn?: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: string;
  credentialScope?: string;
}

export interface AcsPortMapping {
  containerPort?: number;
  hostPort?: number;
  containerPortRange?: string;
  protocol?: 'tcp' | 'udp';
}

export interface AcsContainer {
  name: string;
  image: string;
  command?: string[];
  entryPoint?: string[];
  /** A JSON string `{"command":[...]}` whose command replaces `command` (fact sheet 3.3). */
  overrides?: string;
  environment?: Record<string, string>;
  essential?: boolean;
  /** CPU units. */
  cpu?: number;
  /** Hard limit, MiB. */
  memory?: number;
  portMappings?: AcsPortMapping[];
  mountPoints?: Array<{ sourceVolume: string; containerPath: string; readOnly?: boolean }>;
  volumesFrom?: Array<{ sourceContainer: string; readOnly?: boolean }>;
  links?: string[];
  dockerConfig?: { config?: string; hostConfig?: string; version?: string };
  dependsOn?: Array<{ containerName: string; condition: 'START' | 'COMPLETE' | 'SUCCESS' | 'HEALTHY' }>;
  healthCheckType?: string;
  /** Seconds. */
  startTimeout?: number;
  /** Seconds. */
  stopTimeout?: number;
  registryAuthentication?: AcsRegistryAuthentication;
  [field: string]: unknown;
}

/** Fact sheet 3.3; every field may be absent on the wire. */
export interface AcsRegistryAuthentication {
  type?: string;
  ecrAuthData?: { registryId?: string; region?: string; endpointOverride?: string; useExecutionRole?: boolean };
  asmAuthData?: { credentialsParameter?: string; region?: string };
}

export interface AcsVolume {
  name: string;
  /** host (default), docker, efs, fsxWindowsFileServer, ebs, logDriverOutput, attachment. */
  type?: string;
  host?: { sourcePath?: string };
  dockerVolumeConfiguration?: {
    scope?: 'task' | 'shared';
    autoprovision?: boolean;
    driver?: string;
    driverOpts?: Record<string, string>;
    labels?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface AcsEni {
  macAddress: string;
  attachmentArn: string;
  [field: string]: unknown;
}

export interface AcsAttachment {
  attachmentArn?: string;
  attachmentType?: string;
  attachmentProperties?: Array<{ name?: string; value?: string }>;
}

export interface AcsTask {
  arn: string;
  taskClusterArn?: string;
  family: string;
  version: string;
  desiredStatus: string;
  containers: AcsContainer[];
  volumes?: AcsVolume[];
  /** vCPUs. */
  cpu?: number;
  /** MiB. */
  memory?: number;
  networkMode?: 'bridge' | 'host' | 'awsvpc' | 'none' | '';
  elasticNetworkInterfaces?: AcsEni[];
  roleCredentials?: AcsIamRoleCredentials;
  executionRoleCredentials?: AcsIamRoleCredentials;
  pidMode?: string;
  ipcMode?: string;
  attachments?: AcsAttachment[];
  [field: string]: unknown;
}

export interface AcsTaskIdentifier {
  taskArn: string;
  taskClusterArn?: string;
  desiredStatus?: string;
}

interface AddressedMessage {
  clusterArn: string;
  containerInstanceArn: string;
  messageId: string;
}

export interface PayloadMessage extends AddressedMessage {
  /** Each task is validated on its own (acs-task.schema.json). */
  tasks?: unknown[];
  seqNum?: number;
  generatedAt?: number;
  timeline?: number;
}

export interface HeartbeatMessage {
  messageId: string;
  healthy?: boolean;
}

export interface IamRoleCredentialsMessage {
  messageId: string;
  taskArn: string;
  taskClusterArn?: string;
  roleType: 'TaskApplication' | 'TaskExecution';
  roleCredentials: AcsIamRoleCredentials;
}

export interface AttachTaskNetworkInterfacesMessage extends AddressedMessage {
  taskArn: string;
  taskClusterArn?: string;
  generatedAt?: number;
  waitTimeoutMs: number;
  elasticNetworkInterfaces: AcsEni[];
}

export interface AttachInstanceNetworkInterfacesMessage extends AddressedMessage {
  generatedAt?: number;
  waitTimeoutMs: number;
  elasticNetworkInterfaces: AcsEni[];
}

export interface ConfirmAttachmentMessage extends AddressedMessage {
  taskArn?: string;
  attachment: AcsAttachment;
}

export interface TaskManifestMessage extends AddressedMessage {
  generatedAt?: number;
  timeline: number;
  tasks?: AcsTaskIdentifier[];
}

export interface TaskStopVerificationAck {
  messageId: string;
  generatedAt?: number;
  stopTasks?: AcsTaskIdentifier[];
}

export interface UpdateMessage extends AddressedMessage {
  updateInfo?: { location?: string; signature?: string };
}

export interface TextMessage {
  message?: string;
}

/** Outbound (agent → backend) messages, fact sheet 2.5. */
export interface AckRequest {
  cluster: string;
  containerInstance: string;
  messageId: string;
}

export interface NackRequest extends AckRequest {
  reason: string;
}

export interface HeartbeatAckRequest {
  messageId: string;
}

export interface IamRoleCredentialsAckRequest {
  messageId: string;
  expiration: string;
  credentialsId: string;
}

export interface TaskStopVerificationMessage {
  messageId: string;
  stopCandidates: Array<{ taskArn: string; taskClusterArn: string; desiredStatus: 'STOPPED' }>;
}

export interface OutboundMessages {
  AckRequest: AckRequest;
  NackRequest: NackRequest;
  HeartbeatAckRequest: HeartbeatAckRequest;
  IAMRoleCredentialsAckRequest: IamRoleCredentialsAckRequest;
  TaskStopVerificationMessage: TaskStopVerificationMessage;
}
export type OutboundType = keyof OutboundMessages;
