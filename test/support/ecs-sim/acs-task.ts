/**
 * A task definition (the RegisterTaskDefinition shape) → the ACS `Task` a PayloadMessage carries (fact
 * sheet 3.2, 3.3), the way the ECS backend turns a RunTask into what it sends an agent: first-class ACS
 * fields where the model has them, every other container setting inside the `dockerConfig` JSON strings.
 *
 * The `dockerConfig` strings come from the local source's mapping (src/sources/local/container-docker-config.ts)
 * on purpose: a task sent over ACS then reaches Docker with exactly the body the same file gets in local
 * mode, so an end-to-end test can compare the two modes.
 */
import { containerDockerConfig } from '../../../src/sources/local/container-docker-config.js';
import type {
  ContainerDefinition,
  TaskDefinition,
  VolumeDefinition,
} from '../../../src/sources/local/task-definition-types.js';
import { parseTaskCpuUnits, parseTaskMemoryMiB } from '../../../src/sources/local/task-definition-units.js';
import { taskArn } from './arns.js';
import { SimUsageError } from './errors.js';
import { SIM_DEFAULTS } from './options.js';

/** A task definition as tests write it: the ECS shape, with `family` optional when `opts.family` names it. */
export type TaskDefinitionLike = Omit<TaskDefinition, 'family'> & { family?: string };

export type AcsDesiredStatus = 'RUNNING' | 'STOPPED';

export interface BuildAcsTaskOptions {
  /** Default: a fresh ARN in the simulator's default region, account and cluster. */
  arn?: string;
  desiredStatus?: AcsDesiredStatus;
  family?: string;
  /** The task definition revision; default `1`. */
  version?: string | number;
  /** `taskClusterArn`; `sendPayload` fills it from the payload when absent. */
  taskClusterArn?: string;
}

/** The ACS Task shape: lowerCamel field names as on the wire. */
export interface AcsTask {
  arn: string;
  family: string;
  version: string;
  desiredStatus: AcsDesiredStatus;
  taskClusterArn?: string;
  networkMode: string;
  launchType: 'EC2';
  containers: AcsContainer[];
  volumes: Array<Record<string, unknown>>;
  /** vCPUs (1.0 = 1024 units). */
  cpu?: number;
  /** MiB. */
  memory?: number;
  pidMode?: string;
  ipcMode?: string;
  [field: string]: unknown;
}

export interface AcsContainer {
  name: string;
  image: string;
  essential: boolean;
  cpu: number;
  memory?: number;
  environment: Record<string, string>;
  portMappings: Array<Record<string, unknown>>;
  mountPoints: Array<Record<string, unknown>>;
  volumesFrom: Array<Record<string, unknown>>;
  links: string[];
  dockerConfig: { config?: string; hostConfig?: string; version?: string };
  [field: string]: unknown;
}

const CPU_UNITS_PER_VCPU = 1024;

export function buildAcsTask(def: TaskDefinitionLike, opts: BuildAcsTaskOptions = {}): AcsTask {
  const family = opts.family ?? def.family;
  if (family === undefined || family === '') {
    throw new SimUsageError('buildAcsTask: the task definition has no family and opts.family is not set');
  }
  if (!Array.isArray(def.containerDefinitions) || def.containerDefinitions.length === 0) {
    throw new SimUsageError(`buildAcsTask: task definition ${family} has no containerDefinitions`, { family });
  }
  const networkMode = def.networkMode ?? 'bridge';
  const task: AcsTask = {
    arn: opts.arn ?? taskArn({ region: SIM_DEFAULTS.region, accountId: SIM_DEFAULTS.accountId }, SIM_DEFAULTS.cluster),
    family,
    version: String(opts.version ?? 1),
    desiredStatus: opts.desiredStatus ?? 'RUNNING',
    networkMode,
    launchType: 'EC2',
    containers: def.containerDefinitions.map((c) => acsContainer(c, networkMode)),
    volumes: (def.volumes ?? []).map(acsVolume),
  };
  if (opts.taskClusterArn !== undefined) task.taskClusterArn = opts.taskClusterArn;
  if (def.cpu !== undefined) task.cpu = parseTaskCpuUnits(def.cpu) / CPU_UNITS_PER_VCPU;
  if (def.memory !== undefined) task.memory = parseTaskMemoryMiB(def.memory);
  if (def.pidMode !== undefined) task.pidMode = def.pidMode;
  if (def.ipcMode !== undefined) task.ipcMode = def.ipcMode;
  return task;
}

function acsContainer(c: ContainerDefinition, networkMode: string): AcsContainer {
  const environment: Record<string, string> = {};
  for (const { name, value } of c.environment ?? []) environment[name] = value ?? '';
  const container: AcsContainer = {
    name: c.name,
    image: c.image,
    // ECS defaults `essential` to true when a definition omits it.
    essential: c.essential ?? true,
    cpu: c.cpu ?? 0,
    environment,
    portMappings: (c.portMappings ?? []).map((m) => {
      const mapping: Record<string, unknown> = { protocol: m.protocol ?? 'tcp' };
      if (m.containerPortRange !== undefined) mapping['containerPortRange'] = m.containerPortRange;
      if (m.containerPort !== undefined) mapping['containerPort'] = m.containerPort;
      // In host mode ECS fills the host port with the container port before it reaches the agent.
      const hostPort = networkMode === 'host' ? (m.hostPort ?? m.containerPort) : m.hostPort;
      if (hostPort !== undefined) mapping['hostPort'] = hostPort;
      return mapping;
    }),
    mountPoints: (c.mountPoints ?? []).map((m) => ({
      sourceVolume: m.sourceVolume,
      containerPath: m.containerPath,
      readOnly: m.readOnly ?? false,
    })),
    volumesFrom: (c.volumesFrom ?? []).map((v) => ({
      sourceContainer: v.sourceContainer,
      readOnly: v.readOnly ?? false,
    })),
    links: [...(c.links ?? [])],
    dockerConfig: containerDockerConfig(c),
  };
  if (c.memory !== undefined) container.memory = c.memory;
  if (c.command !== undefined) container['command'] = [...c.command];
  if (c.entryPoint !== undefined) container['entryPoint'] = [...c.entryPoint];
  if (c.dependsOn !== undefined) container['dependsOn'] = c.dependsOn.map((d) => ({ ...d }));
  if (c.startTimeout !== undefined) container['startTimeout'] = c.startTimeout;
  if (c.stopTimeout !== undefined) container['stopTimeout'] = c.stopTimeout;
  if (c.healthCheck !== undefined) container['healthCheckType'] = 'docker';
  if (c.environmentFiles !== undefined) container['environmentFiles'] = c.environmentFiles.map((f) => ({ ...f }));
  if (c.restartPolicy !== undefined) container['restartPolicy'] = { ...c.restartPolicy };
  if (c.firelensConfiguration !== undefined) container['firelensConfiguration'] = { ...c.firelensConfiguration };
  if (c.credentialSpecs !== undefined) container['credentialSpecs'] = [...c.credentialSpecs];
  return container;
}

function acsVolume(v: VolumeDefinition): Record<string, unknown> {
  if (v.dockerVolumeConfiguration !== undefined) {
    return { name: v.name, type: 'docker', dockerVolumeConfiguration: { ...v.dockerVolumeConfiguration } };
  }
  if (v.efsVolumeConfiguration !== undefined) {
    return { name: v.name, type: 'efs', efsVolumeConfiguration: { ...v.efsVolumeConfiguration } };
  }
  if (v.fsxWindowsFileServerVolumeConfiguration !== undefined) {
    return {
      name: v.name,
      type: 'fsxWindowsFileServer',
      fsxWindowsFileServerVolumeConfiguration: { ...v.fsxWindowsFileServerVolumeConfiguration },
    };
  }
  if (v.configuredAtLaunch === true) return { name: v.name, type: 'ebs' };
  // No `host` at all is a task-scoped volume the agent provisions (fact sheet 3.6).
  return { name: v.name, type: 'host', host: v.host?.sourcePath ? { sourcePath: v.host.sourcePath } : {} };
}
