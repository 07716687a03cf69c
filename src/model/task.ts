/**
 * The internal desired-task model. Both desired-state sources (ACS payloads and the local task-definition
 * directory) produce exactly this shape, so every loop is exercised the same way from either source.
 * Field names follow the ACS wire model (fact sheet 3.2, 3.3) so a payload converts with little renaming;
 * units are in the names where the wire leaves them implicit.
 */
import type { TaskStatus } from './status.js';

export type NetworkMode = 'bridge' | 'host' | 'awsvpc' | 'none';
export type DependencyCondition = 'START' | 'COMPLETE' | 'SUCCESS' | 'HEALTHY' | 'CREATE';
export type TransportProtocol = 'tcp' | 'udp';
export type DesiredSource = 'acs' | 'local';

export interface PortMapping {
  containerPort?: number;
  /** 0 or absent: the agent picks a host port from the dynamic range (fact sheet 3.6). */
  hostPort?: number;
  /** "8000-8010"; exclusive with containerPort. */
  containerPortRange?: string;
  protocol: TransportProtocol;
}

/** A host port Docker bound for a container port (the ECS NetworkBinding). */
export interface PortBinding {
  containerPort: number;
  hostPort: number;
  bindIp: string;
  protocol: TransportProtocol;
}

export interface MountPoint {
  sourceVolume: string;
  containerPath: string;
  readOnly: boolean;
}

export interface VolumeFrom {
  sourceContainer: string;
  readOnly: boolean;
}

export interface ContainerDependency {
  containerName: string;
  condition: DependencyCondition;
}

/** The three raw JSON strings that carry every Docker field the ECS model has no first-class field for (3.5). */
export interface DockerConfigOverlay {
  config?: string;
  hostConfig?: string;
  version?: string;
}

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  entryPoint?: string[];
  environment: Record<string, string>;
  essential: boolean;
  /** CPU units (1024 = one vCPU); Docker CpuShares. */
  cpuUnits: number;
  /** Hard limit in MiB; 0 = none. */
  memoryMiB: number;
  portMappings: PortMapping[];
  mountPoints: MountPoint[];
  volumesFrom: VolumeFrom[];
  /** `name[:alias]` */
  links: string[];
  dependsOn: ContainerDependency[];
  dockerConfig: DockerConfigOverlay;
  /** Only `docker` exists; health is reported only when set. */
  healthCheckType?: 'docker';
  /** dependsOn wait for this container, seconds; 0 = none. */
  startTimeoutSec: number;
  /** docker stop grace for this container, seconds; 0 = the agent's ECS_CONTAINER_STOP_TIMEOUT. */
  stopTimeoutSec: number;
  /** How its image's pull authenticates (ACS `registryAuthentication`); absent: ECS_ENGINE_AUTH_* or anonymous. */
  registryAuth?: RegistryAuthSpec;
}

/** ACS `ecrAuthData` (fact sheet 3.3, 7.2). */
export interface EcrAuthData {
  registryId: string;
  region: string;
  /** An ECR API endpoint to ask instead of the region's (upstream adds `https://` when it has no scheme). */
  endpointOverride?: string;
  /** Ask with the task's execution-role credentials; otherwise with the instance's. */
  useExecutionRole: boolean;
}

/** ACS `asmAuthData`: a Secrets Manager secret holding the registry's username and password. */
export interface AsmAuthData {
  credentialsParameter: string;
  region?: string;
}

/**
 * A container's `registryAuthentication`, as ACS sent it (fact sheet 3.3). The data is optional because the
 * wire allows a type without it: upstream then fails the pull (CannotPullECRContainerError) instead of the task.
 */
export type RegistryAuthSpec = { type: 'ecr'; ecrAuthData?: EcrAuthData } | { type: 'asm'; asmAuthData?: AsmAuthData };

export interface HostVolumeSpec {
  name: string;
  type: 'host';
  /** Absent: a task-scoped Docker `local` volume stands in (fact sheet 3.6). */
  sourcePath?: string;
}

export interface DockerVolumeSpec {
  name: string;
  type: 'docker';
  scope: 'task' | 'shared';
  autoprovision: boolean;
  driver: string;
  driverOpts: Record<string, string>;
  labels: Record<string, string>;
}

/** Volume types this agent cannot provide on a plain Linux host (efs, fsx, ebs…); kept so the task fails loudly. */
export interface UnsupportedVolumeSpec {
  name: string;
  type: 'unsupported';
  originalType: string;
}

export type VolumeSpec = HostVolumeSpec | DockerVolumeSpec | UnsupportedVolumeSpec;

/** `dockerVolumeConfiguration` as both ECS shapes carry it (task definition and ACS task); absent fields default as ECS does. */
export interface DockerVolumeConfiguration {
  scope?: 'task' | 'shared';
  autoprovision?: boolean;
  driver?: string;
  driverOpts?: Record<string, string>;
  labels?: Record<string, string>;
}

export function dockerVolumeSpec(name: string, docker: DockerVolumeConfiguration): DockerVolumeSpec {
  return {
    name,
    type: 'docker',
    scope: docker.scope ?? 'task',
    autoprovision: docker.autoprovision ?? false,
    driver: docker.driver ?? 'local',
    driverOpts: { ...(docker.driverOpts ?? {}) },
    labels: { ...(docker.labels ?? {}) },
  };
}

export interface TaskSpec {
  arn: string;
  family: string;
  version: string;
  source: DesiredSource;
  desiredStatus: TaskStatus;
  networkMode: NetworkMode;
  /** Task CPU in vCPUs (ACS `cpu`, 1.0 = 1024 units); 0 = no task-level limit. */
  cpuVcpu: number;
  /** Task memory hard limit in MiB; 0 = none. */
  memoryMiB: number;
  pidMode?: 'host' | 'task';
  ipcMode?: 'host' | 'task' | 'none';
  containers: ContainerSpec[];
  volumes: VolumeSpec[];
}

/** Task ID = the last `/` segment of the ARN (fact sheet 3.2). */
export function taskIdFromArn(arn: string): string {
  const slash = arn.lastIndexOf('/');
  return slash >= 0 ? arn.slice(slash + 1) : arn;
}
