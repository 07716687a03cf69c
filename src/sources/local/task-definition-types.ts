/**
 * The ECS `RegisterTaskDefinition` request shape, as read from a `--tasks-dir` file. Field names and value
 * sets follow the ECS API exactly (aws-sdk `RegisterTaskDefinitionInput` / `ContainerDefinition`), so a
 * file that works here can be registered with `aws ecs register-task-definition --cli-input-json` and the
 * other way round. `schemas/task-definition.schema.json` is the validating twin of these types: keep them
 * in step.
 */

export interface KeyValuePair {
  name: string;
  value: string;
}

export interface PortMappingDefinition {
  containerPort?: number;
  hostPort?: number;
  protocol?: 'tcp' | 'udp';
  name?: string;
  appProtocol?: 'http' | 'http2' | 'grpc';
  /** "8000-8010"; exclusive with containerPort. */
  containerPortRange?: string;
}

export interface MountPointDefinition {
  sourceVolume: string;
  containerPath: string;
  readOnly?: boolean;
}

export interface VolumeFromDefinition {
  sourceContainer: string;
  readOnly?: boolean;
}

export interface DeviceDefinition {
  hostPath: string;
  containerPath?: string;
  permissions?: Array<'read' | 'write' | 'mknod'>;
}

export interface TmpfsDefinition {
  containerPath: string;
  /** MiB. */
  size: number;
  mountOptions?: string[];
}

export interface LinuxParametersDefinition {
  capabilities?: { add?: string[]; drop?: string[] };
  devices?: DeviceDefinition[];
  initProcessEnabled?: boolean;
  /** MiB. */
  sharedMemorySize?: number;
  tmpfs?: TmpfsDefinition[];
  /** MiB of swap on top of `memory`. */
  maxSwap?: number;
  swappiness?: number;
}

export interface SecretDefinition {
  name: string;
  valueFrom: string;
}

export interface ContainerDependencyDefinition {
  containerName: string;
  condition: 'START' | 'COMPLETE' | 'SUCCESS' | 'HEALTHY';
}

export interface HostEntryDefinition {
  hostname: string;
  ipAddress: string;
}

export type UlimitName =
  | 'core'
  | 'cpu'
  | 'data'
  | 'fsize'
  | 'locks'
  | 'memlock'
  | 'msgqueue'
  | 'nice'
  | 'nofile'
  | 'nproc'
  | 'rss'
  | 'rtprio'
  | 'rttime'
  | 'sigpending'
  | 'stack';

export interface UlimitDefinition {
  name: UlimitName;
  softLimit: number;
  hardLimit: number;
}

export interface LogConfigurationDefinition {
  logDriver: string;
  options?: Record<string, string>;
  secretOptions?: SecretDefinition[];
}

/** ECS health check; durations in seconds (ECS defaults: interval 30, timeout 5, retries 3, startPeriod off). */
export interface HealthCheckDefinition {
  command: string[];
  interval?: number;
  timeout?: number;
  retries?: number;
  startPeriod?: number;
}

export interface SystemControlDefinition {
  namespace: string;
  value: string;
}

export interface ContainerDefinition {
  name: string;
  image: string;
  repositoryCredentials?: { credentialsParameter: string };
  cpu?: number;
  memory?: number;
  memoryReservation?: number;
  links?: string[];
  portMappings?: PortMappingDefinition[];
  essential?: boolean;
  restartPolicy?: { enabled: boolean; ignoredExitCodes?: number[]; restartAttemptPeriod?: number };
  entryPoint?: string[];
  command?: string[];
  environment?: KeyValuePair[];
  environmentFiles?: Array<{ value: string; type: 's3' }>;
  mountPoints?: MountPointDefinition[];
  volumesFrom?: VolumeFromDefinition[];
  linuxParameters?: LinuxParametersDefinition;
  secrets?: SecretDefinition[];
  dependsOn?: ContainerDependencyDefinition[];
  /** Seconds. */
  startTimeout?: number;
  /** Seconds. */
  stopTimeout?: number;
  versionConsistency?: 'enabled' | 'disabled';
  hostname?: string;
  user?: string;
  workingDirectory?: string;
  disableNetworking?: boolean;
  privileged?: boolean;
  readonlyRootFilesystem?: boolean;
  dnsServers?: string[];
  dnsSearchDomains?: string[];
  extraHosts?: HostEntryDefinition[];
  dockerSecurityOptions?: string[];
  interactive?: boolean;
  pseudoTerminal?: boolean;
  dockerLabels?: Record<string, string>;
  ulimits?: UlimitDefinition[];
  logConfiguration?: LogConfigurationDefinition;
  healthCheck?: HealthCheckDefinition;
  systemControls?: SystemControlDefinition[];
  resourceRequirements?: Array<{ value: string; type: 'GPU' | 'InferenceAccelerator' }>;
  firelensConfiguration?: { type: 'fluentd' | 'fluentbit'; options?: Record<string, string> };
  credentialSpecs?: string[];
}

export interface DockerVolumeConfigurationDefinition {
  scope?: 'task' | 'shared';
  autoprovision?: boolean;
  driver?: string;
  driverOpts?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface VolumeDefinition {
  name: string;
  host?: { sourcePath?: string };
  configuredAtLaunch?: boolean;
  dockerVolumeConfiguration?: DockerVolumeConfigurationDefinition;
  efsVolumeConfiguration?: Record<string, unknown>;
  fsxWindowsFileServerVolumeConfiguration?: Record<string, unknown>;
}

export interface TaskDefinition {
  family: string;
  taskRoleArn?: string;
  executionRoleArn?: string;
  networkMode?: 'bridge' | 'host' | 'awsvpc' | 'none';
  containerDefinitions: ContainerDefinition[];
  volumes?: VolumeDefinition[];
  placementConstraints?: Array<{ type?: 'memberOf'; expression?: string }>;
  requiresCompatibilities?: string[];
  /** CPU units ("1024", 1024) or vCPUs ("1 vCPU", "0.5 vcpu"). */
  cpu?: string | number;
  /** MiB ("512", 512) or GB ("1 GB", "1GB"). */
  memory?: string | number;
  tags?: Array<{ key?: string; value?: string }>;
  pidMode?: 'host' | 'task';
  ipcMode?: 'host' | 'task' | 'none';
  proxyConfiguration?: Record<string, unknown>;
  inferenceAccelerators?: Array<Record<string, unknown>>;
  ephemeralStorage?: { sizeInGiB: number };
  runtimePlatform?: { cpuArchitecture?: string; operatingSystemFamily?: string };
  enableFaultInjection?: boolean;
}
