/**
 * The body of Docker's `POST /containers/create` for one container of a task (fact sheet 3.5, 3.6), as a
 * pure function of the task, the container and what the agent already resolved (host ports, Docker
 * volume names, Docker IDs of sibling containers). Order matters and follows upstream:
 *   1. Config {Image, Cmd, Entrypoint, ExposedPorts, Env}, then the `dockerConfig.config` overlay;
 *   2. HostConfig {Links, Mounts, PortBindings, VolumesFrom, CpuShares, Memory}, then the
 *      `dockerConfig.hostConfig` overlay;
 *   3. forced last, over anything the overlays said: CgroupParent, NetworkMode, PidMode/IpcMode for
 *      `host`/`none`, and the five `com.amazonaws.ecs.*` labels.
 * `pidMode`/`ipcMode` `task` need a namespace pause container whose ID goes into `container:<id>`; that
 * sharing is a feature of its own, so nothing is emitted for `task` here. `awsvpc` likewise gets its
 * NetworkMode (`container:<pause>`) from the ENI feature, not from this function.
 *
 * Mount points go into `HostConfig.Mounts` as structured entries, not into `Binds` as
 * `source:target:options` strings as upstream does: a `containerPath` such as `/data:z` or `/mnt:rshared`
 * would otherwise smuggle SELinux relabelling or mount propagation into the create. Two upstream behaviours
 * are kept on purpose: a `Binds` list in the hostConfig overlay replaces the task's mounts (Go's decode
 * replaced the agent's Binds slice), and a missing host directory of a bind mount is created before the
 * create (Docker did that for Binds but does not for Mounts): see `bindMountSources` and bind-sources.ts.
 */

import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import {
  type ContainerCreateBody,
  LABEL_CLUSTER,
  LABEL_CONTAINER_NAME,
  LABEL_TASK_ARN,
  LABEL_TASK_FAMILY,
  LABEL_TASK_VERSION,
} from '../../src/docker/types.js';
import { CannotCreateContainerError } from '../../src/errors.js';
import type { ContainerSpec, PortMapping, TaskSpec } from '../../src/model/task.js';
import type { TaskRecord } from '../../src/store/records.js';
import { applyDockerConfigOverlay, overlayNamesField } from './docker-config-overlay.js';

export interface CreateBodyInput {
  task: TaskSpec;
  container: ContainerSpec;
  cluster: string;
  /** Host port per `${containerPort}/${protocol}`, as allocated by the agent (fact sheet 3.6). */
  hostPorts: ReadonlyMap<string, number>;
  /** Docker volume name per task volume spec name (task-scoped and shared Docker volumes). */
  volumeNames: ReadonlyMap<string, string>;
  /** Docker ID per container name of this task, for links and volumesFrom. */
  dockerIdsByName: ReadonlyMap<string, string>;
  /** Docker name per container name; upstream links by name. Falls back to the ID, which Docker accepts too. */
  dockerNamesByName?: ReadonlyMap<string, string>;
  /** `/ecs/<taskId>` when the task cgroup exists (fact sheet 9). */
  taskCgroupParent?: string;
  /** Agent-injected environment (metadata URIs, credentials URI…); never overrides a key the task sets. */
  extraEnv?: Readonly<Record<string, string>>;
}

/** One entry of Docker's `HostConfig.Mounts` (API 1.25+): nothing in it is parsed for options. */
export interface DockerMount {
  Type: 'bind' | 'volume';
  /** A host path (bind) or a Docker volume name (volume). */
  Source: string;
  Target: string;
  ReadOnly: boolean;
}

/** Docker's CPU share bounds: 0 would mean "default 1024", 1 is invalid for the kernel (fact sheet 3.6). */
export const MIN_CPU_SHARES = 2;
export const MAX_CPU_SHARES = 262144;
/** Smallest memory limit the agent passes (DockerContainerMinimumMemoryInBytes). */
export const MIN_MEMORY_BYTES = 4 * 1024 * 1024;
const MIB = 1024 * 1024;

export const HEALTHCHECK_MISSING_MESSAGE = 'docker health check is nil while container health check type is DOCKER';

export function buildCreateBody(input: CreateBodyInput): ContainerCreateBody {
  const { task, container } = input;

  const config = applyDockerConfigOverlay(baseConfig(input), container.dockerConfig.config, 'config');
  if (container.healthCheckType === 'docker' && !hasHealthcheck(config['Healthcheck'])) {
    throw new CannotCreateContainerError(HEALTHCHECK_MISSING_MESSAGE, { context: { container: container.name } });
  }

  const mounts = container.mountPoints.map((mount) => dockerMount(mount, input));
  const hostConfig = applyDockerConfigOverlay(baseHostConfig(input), container.dockerConfig.hostConfig, 'hostConfig');
  const overlayMounts = Array.isArray(hostConfig['Mounts']) ? (hostConfig['Mounts'] as unknown[]) : [];
  hostConfig['Mounts'] = [...(overlayReplacesMounts(container) ? [] : mounts), ...overlayMounts];
  if (input.taskCgroupParent !== undefined) hostConfig['CgroupParent'] = input.taskCgroupParent;
  if (task.networkMode !== 'awsvpc') hostConfig['NetworkMode'] = task.networkMode;
  if (task.pidMode === 'host') hostConfig['PidMode'] = 'host';
  if (task.ipcMode === 'host' || task.ipcMode === 'none') hostConfig['IpcMode'] = task.ipcMode;

  const labels = isRecord(config['Labels']) ? { ...(config['Labels'] as Record<string, string>) } : {};
  labels[LABEL_TASK_ARN] = task.arn;
  labels[LABEL_CONTAINER_NAME] = container.name;
  labels[LABEL_TASK_FAMILY] = task.family;
  labels[LABEL_TASK_VERSION] = task.version;
  labels[LABEL_CLUSTER] = input.cluster;

  return { ...config, Image: String(config['Image'] ?? container.image), Labels: labels, HostConfig: hostConfig };
}

/**
 * The host directories of the container's bind mounts, which the agent creates when missing before the
 * create (as Docker did for `Binds`; it refuses a missing source in `Mounts`). None when the hostConfig
 * overlay's `Binds` replaced the task's mounts.
 */
export function bindMountSources(task: TaskSpec, container: ContainerSpec): string[] {
  if (overlayReplacesMounts(container)) return [];
  const sources: string[] = [];
  for (const mount of container.mountPoints) {
    const volume = task.volumes.find((v) => v.name === mount.sourceVolume);
    if (volume?.type === 'host' && volume.sourcePath && !sources.includes(volume.sourcePath)) {
      sources.push(volume.sourcePath);
    }
  }
  return sources;
}

/** Upstream decoded the overlay over the HostConfig it built, so an overlay `Binds` replaced the task's. */
function overlayReplacesMounts(container: ContainerSpec): boolean {
  return overlayNamesField(container.dockerConfig.hostConfig, 'hostConfig', 'Binds');
}

/**
 * The 20 hex characters that end a container's Docker name, derived from what identifies the container for
 * good: its task's ARN and insert time (a re-inserted ARN gets a new time) and its name. Upstream draws them
 * at random and records the name before the create, so a retried or post-crash create reuses it (fact sheet
 * 3.6, 4.10); a name that can always be recomputed gives the same guarantee — a second create of it gets 409
 * Conflict and the executor adopts the container — without a store write before every create.
 */
export function stableNameSuffix(task: Pick<TaskRecord, 'arn' | 'createdAtMs'>, containerName: string): string {
  return createHash('sha256').update(`${task.arn}\n${task.createdAtMs}\n${containerName}`).digest('hex').slice(0, 20);
}

/** `ecs-<family>-<version>-<name without [^A-Za-z0-9-]>-<hex>` (fact sheet 3.6). */
export function dockerContainerName(
  task: Pick<TaskSpec, 'family' | 'version'>,
  containerName: string,
  suffix: string,
): string {
  return `ecs-${task.family}-${task.version}-${containerName.replace(/[^A-Za-z0-9-]/g, '')}-${suffix}`;
}

function baseConfig(input: CreateBodyInput): Record<string, unknown> {
  const { container } = input;
  const config: Record<string, unknown> = { Image: container.image };
  if (container.command !== undefined) config['Cmd'] = [...container.command];
  if (container.entryPoint !== undefined) config['Entrypoint'] = [...container.entryPoint];
  const exposed: Record<string, Record<string, never>> = {};
  for (const mapping of container.portMappings) {
    for (const port of containerPorts(mapping)) exposed[`${port}/${mapping.protocol}`] = {};
  }
  if (Object.keys(exposed).length > 0) config['ExposedPorts'] = exposed;
  const env = Object.entries(container.environment).map(([key, value]) => `${key}=${value}`);
  for (const [key, value] of Object.entries(input.extraEnv ?? {})) {
    if (!Object.hasOwn(container.environment, key)) env.push(`${key}=${value}`);
  }
  config['Env'] = env;
  return config;
}

function baseHostConfig(input: CreateBodyInput): Record<string, unknown> {
  const { container } = input;
  const hostConfig: Record<string, unknown> = {
    Links: container.links.map((link) => dockerLink(link, input)),
    PortBindings: portBindings(container.portMappings, input.hostPorts),
    VolumesFrom: container.volumesFrom.map((from) => {
      const target = siblingRef(from.sourceContainer, input);
      if (target === undefined) throw createError(`Volume target not available: ${from.sourceContainer}`);
      return from.readOnly ? `${target}:ro` : target;
    }),
    CpuShares: Math.min(MAX_CPU_SHARES, Math.max(MIN_CPU_SHARES, container.cpuUnits)),
  };
  if (container.memoryMiB > 0) hostConfig['Memory'] = Math.max(MIN_MEMORY_BYTES, container.memoryMiB * MIB);
  return hostConfig;
}

function dockerLink(link: string, input: CreateBodyInput): string {
  const parts = link.split(':');
  if (parts.length > 2) throw createError('Invalid link format');
  const name = parts[0] ?? '';
  const alias = parts[1] ?? name;
  const target = siblingRef(name, input);
  if (target === undefined) throw createError(`Link target not available: ${name}`);
  return `${target}:${alias}`;
}

function siblingRef(name: string, input: CreateBodyInput): string | undefined {
  return input.dockerNamesByName?.get(name) ?? input.dockerIdsByName.get(name);
}

function dockerMount(mount: ContainerSpec['mountPoints'][number], input: CreateBodyInput): DockerMount {
  const volume = input.task.volumes.find((v) => v.name === mount.sourceVolume);
  if (!volume) throw createError(`Invalid volume referenced: ${mount.sourceVolume}`);
  let source: string | undefined;
  let type: DockerMount['Type'] = 'volume';
  if (volume.type === 'unsupported') {
    throw createError(`volume ${volume.name} of type ${volume.originalType} is not supported on this host`);
  } else if (volume.type === 'host' && volume.sourcePath) {
    // Binds read a relative source as a volume name; a Mounts bind needs an absolute path. Say which.
    if (!isAbsolute(volume.sourcePath)) {
      throw createError(
        `host volume ${volume.name}: sourcePath ${JSON.stringify(volume.sourcePath)} is not an absolute path`,
      );
    }
    source = volume.sourcePath;
    type = 'bind';
  } else {
    // Shared Docker volumes are named exactly after the spec (fact sheet 3.6); task-scoped ones are resolved.
    source =
      input.volumeNames.get(volume.name) ??
      (volume.type === 'docker' && volume.scope === 'shared' ? volume.name : undefined);
  }
  if (!source || !mount.containerPath) {
    throw createError(
      `Unable to resolve volume mounts; invalid path: ${input.container.name} ${mount.sourceVolume}; ${source ?? ''} -> ${mount.containerPath}`,
    );
  }
  if (!mount.containerPath.startsWith('/')) {
    throw createError(
      `mount point ${mount.sourceVolume}: containerPath ${JSON.stringify(mount.containerPath)} is not an absolute path`,
    );
  }
  return { Type: type, Source: source, Target: mount.containerPath, ReadOnly: mount.readOnly };
}

/** Every mapping is bound, in every network mode, as upstream does (Docker ignores bindings with `host`). */
function portBindings(mappings: PortMapping[], hostPorts: ReadonlyMap<string, number>): Record<string, unknown> {
  const bindings: Record<string, Array<{ HostPort: string }>> = {};
  for (const mapping of mappings) {
    for (const port of containerPorts(mapping)) {
      const key = `${port}/${mapping.protocol}`;
      // An unallocated port (e.g. one of a containerPortRange) is left to Docker: "" means "pick one".
      const hostPort = hostPorts.get(key) ?? (mapping.containerPortRange === undefined ? mapping.hostPort : undefined);
      const binding = { HostPort: hostPort === undefined || hostPort === 0 ? '' : String(hostPort) };
      const existing = bindings[key];
      if (existing) existing.push(binding);
      else bindings[key] = [binding];
    }
  }
  return bindings;
}

function containerPorts(mapping: PortMapping): number[] {
  if (mapping.containerPort !== undefined) return [mapping.containerPort];
  const match = mapping.containerPortRange === undefined ? null : /^(\d+)-(\d+)$/.exec(mapping.containerPortRange);
  if (!match) return [];
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (!(start >= 1 && end <= 65535 && start <= end)) {
    throw createError(`invalid containerPortRange ${mapping.containerPortRange}`);
  }
  return Array.from({ length: end - start + 1 }, (_, n) => start + n);
}

function hasHealthcheck(value: unknown): boolean {
  return isRecord(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function createError(message: string): InstanceType<typeof CannotCreateContainerError> {
  return new CannotCreateContainerError(message);
}
