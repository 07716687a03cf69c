/**
 * A validated task definition → the internal `TaskSpec`, the same model ACS payloads produce (fact sheet
 * 3.2, 3.3). Fields the ACS model carries first-class are mapped here; everything ACS carries inside
 * `dockerConfig` goes into that overlay (container-docker-config.ts), so later features see one shape.
 *
 * Expects a definition that passed `parseTaskDefinitionFile` (schema + checks); it does not re-validate.
 */
import type {
  ContainerSpec,
  MountPoint,
  NetworkMode,
  PortMapping,
  TaskSpec,
  VolumeFrom,
  VolumeSpec,
} from '../../model/task.js';
import { dockerVolumeSpec } from '../../model/task.js';
import { containerDockerConfig } from './container-docker-config.js';
import type { ContainerDefinition, TaskDefinition, VolumeDefinition } from './task-definition-types.js';
import { parseTaskCpuUnits, parseTaskMemoryMiB } from './task-definition-units.js';

const CPU_UNITS_PER_VCPU = 1024;

export interface LocalTaskIds {
  arn: string;
  version: string;
}

export function taskDefinitionToTaskSpec(def: TaskDefinition, ids: LocalTaskIds): TaskSpec {
  const networkMode: NetworkMode = def.networkMode ?? 'bridge';
  const spec: TaskSpec = {
    arn: ids.arn,
    family: def.family,
    version: ids.version,
    source: 'local',
    desiredStatus: 'RUNNING',
    networkMode,
    cpuVcpu: def.cpu === undefined ? 0 : parseTaskCpuUnits(def.cpu) / CPU_UNITS_PER_VCPU,
    memoryMiB: def.memory === undefined ? 0 : parseTaskMemoryMiB(def.memory),
    containers: def.containerDefinitions.map((c) => containerSpec(c, networkMode)),
    volumes: (def.volumes ?? []).map(volumeSpec),
  };
  if (def.pidMode !== undefined) spec.pidMode = def.pidMode;
  if (def.ipcMode !== undefined) spec.ipcMode = def.ipcMode;
  return spec;
}

function containerSpec(c: ContainerDefinition, networkMode: NetworkMode): ContainerSpec {
  const environment: Record<string, string> = {};
  // Later entries win, as they would in Docker's Env list.
  for (const { name, value } of c.environment ?? []) environment[name] = value ?? '';
  const spec: ContainerSpec = {
    name: c.name,
    image: c.image,
    environment,
    essential: c.essential ?? true,
    cpuUnits: c.cpu ?? 0,
    memoryMiB: c.memory ?? 0,
    portMappings: (c.portMappings ?? []).map((m) => portMapping(m, networkMode)),
    mountPoints: (c.mountPoints ?? []).map(
      (m): MountPoint => ({
        sourceVolume: m.sourceVolume,
        containerPath: m.containerPath,
        readOnly: m.readOnly ?? false,
      }),
    ),
    volumesFrom: (c.volumesFrom ?? []).map(
      (v): VolumeFrom => ({ sourceContainer: v.sourceContainer, readOnly: v.readOnly ?? false }),
    ),
    links: [...(c.links ?? [])],
    dependsOn: (c.dependsOn ?? []).map((d) => ({ containerName: d.containerName, condition: d.condition })),
    dockerConfig: containerDockerConfig(c),
    startTimeoutSec: c.startTimeout ?? 0,
    stopTimeoutSec: c.stopTimeout ?? 0,
  };
  if (c.command !== undefined) spec.command = [...c.command];
  if (c.entryPoint !== undefined) spec.entryPoint = [...c.entryPoint];
  // ECS sets a docker health check type whenever the definition has one; health is reported only then.
  if (c.healthCheck !== undefined) spec.healthCheckType = 'docker';
  return spec;
}

function portMapping(
  m: NonNullable<ContainerDefinition['portMappings']>[number],
  networkMode: NetworkMode,
): PortMapping {
  const mapping: PortMapping = { protocol: m.protocol ?? 'tcp' };
  if (m.containerPortRange !== undefined) {
    mapping.containerPortRange = m.containerPortRange;
    return mapping;
  }
  if (m.containerPort !== undefined) mapping.containerPort = m.containerPort;
  // In host mode the host port is the container port; ECS sends it filled in, so we do too.
  const hostPort = networkMode === 'host' ? (m.hostPort ?? m.containerPort) : m.hostPort;
  if (hostPort !== undefined) mapping.hostPort = hostPort;
  return mapping;
}

/**
 * Volume kinds a plain Linux host cannot provide (EFS, FSx, EBS configured at launch) become
 * `unsupported` rather than a rejected file: the task then fails with the same clear reason an ACS task
 * with such a volume gets, so both sources share one failure path.
 */
function volumeSpec(v: VolumeDefinition): VolumeSpec {
  if (v.efsVolumeConfiguration !== undefined) return { name: v.name, type: 'unsupported', originalType: 'efs' };
  if (v.fsxWindowsFileServerVolumeConfiguration !== undefined) {
    return { name: v.name, type: 'unsupported', originalType: 'fsxWindowsFileServer' };
  }
  if (v.configuredAtLaunch === true) return { name: v.name, type: 'unsupported', originalType: 'ebs' };
  if (v.dockerVolumeConfiguration !== undefined) return dockerVolumeSpec(v.name, v.dockerVolumeConfiguration);
  // No sourcePath: a task-scoped Docker `local` volume stands in (fact sheet 3.6).
  const sourcePath = v.host?.sourcePath;
  return sourcePath ? { name: v.name, type: 'host', sourcePath } : { name: v.name, type: 'host' };
}
