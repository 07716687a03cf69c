/**
 * One validated ACS Task → the internal `TaskSpec` (`source: 'acs'`), the shape the local source produces
 * too, so the loops never know where a task came from (fact sheet 2.6 step 2, 3.2, 3.3):
 *   - a container's `overrides` (a JSON string, decoded strictly: only `command`) replaces its `command`;
 *   - `networkMode` empty or absent is `bridge`; `desiredStatus` `DEAD` is STOPPED;
 *   - volumes named by an `amazonebs`/`s3files` attachment, and every volume kind a plain Linux host cannot
 *     provide, become `unsupported` so the task fails with the same clear reason as a local one would;
 *   - the host's task policy (task-policy.ts) applies exactly as for the local source.
 * Anything unusable throws a TaskValidationError naming the field; the payload handler reports the task
 * STOPPED (or, for a task already here, stops it) with upstream's `UnrecogniedTaskError` reason and
 * withholds the ack.
 */
import { TaskValidationError } from '../../errors.js';
import { parseTaskDesiredStatus } from '../../model/status.js';
import type {
  ContainerSpec,
  DockerConfigOverlay,
  NetworkMode,
  PortMapping,
  RegistryAuthSpec,
  TaskSpec,
  VolumeSpec,
} from '../../model/task.js';
import { dockerVolumeSpec } from '../../model/task.js';
import { checkTaskPolicy, type TaskPolicy } from '../../model/task-policy.js';
import type { AcsContainer, AcsTask, AcsVolume } from './model.js';

/** Attachment types whose named volume is provided by the attachment (payload_responder upstream). */
const VOLUME_ATTACHMENT_TYPES = new Set(['amazonebs', 's3files']);
/** The attachment property naming the volume it provides (upstream's resource attachment `VolumeNameKey`). */
const VOLUME_NAME_PROPERTY = 'volumeName';

export function acsTaskToSpec(task: AcsTask, policy: TaskPolicy): TaskSpec {
  const desiredStatus = parseTaskDesiredStatus(task.desiredStatus);
  if (desiredStatus !== 'RUNNING' && desiredStatus !== 'STOPPED') {
    fail(task, `desiredStatus ${JSON.stringify(task.desiredStatus)} is neither RUNNING nor STOPPED`);
  }
  const networkMode: NetworkMode =
    task.networkMode === undefined || task.networkMode === '' ? 'bridge' : task.networkMode;
  const names = new Set<string>();
  for (const container of task.containers) {
    // Container rows are keyed by (task, name): a duplicate would fail the whole payload's transaction.
    if (names.has(container.name)) fail(task, `containers: the name "${container.name}" is used twice`);
    names.add(container.name);
  }
  if (task.containers.length === 0) fail(task, 'containers: a task needs at least one container');
  const spec: TaskSpec = {
    arn: task.arn,
    family: task.family,
    version: task.version,
    source: 'acs',
    desiredStatus,
    networkMode,
    cpuVcpu: task.cpu ?? 0,
    memoryMiB: task.memory ?? 0,
    containers: task.containers.map((c, i) => containerSpec(task, c, i)),
    volumes: (task.volumes ?? []).map((v) => volumeSpec(v, attachmentVolumes(task))),
  };
  const pidMode = namespaceMode(task, 'pidMode', ['host', 'task']);
  if (pidMode !== undefined) spec.pidMode = pidMode as 'host' | 'task';
  const ipcMode = namespaceMode(task, 'ipcMode', ['host', 'task', 'none']);
  if (ipcMode !== undefined) spec.ipcMode = ipcMode as 'host' | 'task' | 'none';

  const issues = checkTaskPolicy(spec, policy);
  if (issues.length > 0) fail(task, issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  return spec;
}

function containerSpec(task: AcsTask, c: AcsContainer, index: number): ContainerSpec {
  const spec: ContainerSpec = {
    name: c.name,
    image: c.image,
    environment: { ...(c.environment ?? {}) },
    // Upstream decodes a missing `essential` as false; the backend always sends it.
    essential: c.essential ?? false,
    cpuUnits: c.cpu ?? 0,
    memoryMiB: c.memory ?? 0,
    portMappings: (c.portMappings ?? []).map((m) => portMapping(task, m, index)),
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
    dependsOn: (c.dependsOn ?? []).map((d) => ({ containerName: d.containerName, condition: d.condition })),
    dockerConfig: dockerConfig(c),
    startTimeoutSec: c.startTimeout ?? 0,
    stopTimeoutSec: c.stopTimeout ?? 0,
  };
  const command = c.overrides === undefined || c.overrides === '' ? c.command : overrideCommand(task, c, index);
  if (command !== undefined) spec.command = [...command];
  if (c.entryPoint !== undefined) spec.entryPoint = [...c.entryPoint];
  if (c.healthCheckType === 'docker') spec.healthCheckType = 'docker';
  const registryAuth = registryAuthSpec(c.registryAuthentication);
  if (registryAuth !== undefined) spec.registryAuth = registryAuth;
  return spec;
}

/**
 * `registryAuthentication` kept for the pull (fact sheet 7.2). Upstream picks the provider by `type` alone:
 * `ecr` and `asm` have their own, anything else (or none) uses ECS_ENGINE_AUTH_*. Missing auth data is not a
 * task error here: upstream fails that container's pull with CannotPullECRContainerError, and so does ecsd.
 */
function registryAuthSpec(auth: AcsContainer['registryAuthentication']): RegistryAuthSpec | undefined {
  if (auth?.type === 'ecr') {
    const data = auth.ecrAuthData;
    if (data === undefined) return { type: 'ecr' };
    return {
      type: 'ecr',
      ecrAuthData: {
        registryId: data.registryId ?? '',
        region: data.region ?? '',
        ...(data.endpointOverride ? { endpointOverride: data.endpointOverride } : {}),
        useExecutionRole: data.useExecutionRole ?? false,
      },
    };
  }
  if (auth?.type === 'asm') {
    const data = auth.asmAuthData;
    if (data === undefined) return { type: 'asm' };
    return {
      type: 'asm',
      asmAuthData: {
        credentialsParameter: data.credentialsParameter ?? '',
        ...(data.region ? { region: data.region } : {}),
      },
    };
  }
  return undefined;
}

/** `{"command":[…]}`, strictly: another key or a non-string element is an error, as upstream's strict decoder. */
function overrideCommand(task: AcsTask, c: AcsContainer, index: number): string[] | undefined {
  const at = `containers[${index}].overrides`;
  let value: unknown;
  try {
    value = JSON.parse(c.overrides ?? '');
  } catch (error) {
    fail(task, `${at}: not valid JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(task, `${at}: must be a JSON object`);
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => key !== 'command');
  if (unknown.length > 0) fail(task, `${at}: unknown field ${JSON.stringify(unknown[0])} (only "command" is allowed)`);
  const command = record['command'];
  if (command === undefined || command === null) return c.command;
  if (!Array.isArray(command) || !command.every((arg) => typeof arg === 'string')) {
    fail(task, `${at}.command: must be an array of strings`);
  }
  return command as string[];
}

function portMapping(task: AcsTask, m: NonNullable<AcsContainer['portMappings']>[number], index: number): PortMapping {
  const mapping: PortMapping = { protocol: m.protocol ?? 'tcp' };
  if (m.containerPortRange !== undefined && m.containerPortRange !== '') {
    const [start, end] = m.containerPortRange.split('-').map(Number);
    if (start === undefined || end === undefined || start < 1 || end > 65535 || start >= end) {
      fail(task, `containers[${index}].portMappings: containerPortRange "${m.containerPortRange}" is not a range`);
    }
    mapping.containerPortRange = m.containerPortRange;
    return mapping;
  }
  if (m.containerPort !== undefined) mapping.containerPort = m.containerPort;
  if (m.hostPort !== undefined) mapping.hostPort = m.hostPort;
  return mapping;
}

function dockerConfig(c: AcsContainer): DockerConfigOverlay {
  const overlay: DockerConfigOverlay = {};
  const raw = c.dockerConfig;
  if (raw?.config !== undefined && raw.config !== '') overlay.config = raw.config;
  if (raw?.hostConfig !== undefined && raw.hostConfig !== '') overlay.hostConfig = raw.hostConfig;
  if (raw?.version !== undefined && raw.version !== '') overlay.version = raw.version;
  return overlay;
}

/** Volume names an attachment provides, with the attachment type. */
function attachmentVolumes(task: AcsTask): Map<string, string> {
  const named = new Map<string, string>();
  for (const attachment of task.attachments ?? []) {
    const type = attachment.attachmentType ?? '';
    if (!VOLUME_ATTACHMENT_TYPES.has(type)) continue;
    const name = attachment.attachmentProperties?.find((p) => p.name === VOLUME_NAME_PROPERTY)?.value;
    if (name !== undefined && name !== '') named.set(name, type);
  }
  return named;
}

function volumeSpec(v: AcsVolume, attached: Map<string, string>): VolumeSpec {
  const attachedType = attached.get(v.name);
  if (attachedType !== undefined && (v.type === undefined || v.type === '')) {
    return { name: v.name, type: 'unsupported', originalType: attachedType };
  }
  const type = v.type === undefined || v.type === '' ? 'host' : v.type;
  if (type === 'host') {
    const sourcePath = v.host?.sourcePath;
    return sourcePath ? { name: v.name, type: 'host', sourcePath } : { name: v.name, type: 'host' };
  }
  if (type === 'docker') {
    return dockerVolumeSpec(v.name, v.dockerVolumeConfiguration ?? {});
  }
  return { name: v.name, type: 'unsupported', originalType: type };
}

function namespaceMode(task: AcsTask, field: 'pidMode' | 'ipcMode', allowed: readonly string[]): string | undefined {
  const value = task[field];
  if (value === undefined || value === '') return undefined;
  if (!allowed.includes(value)) fail(task, `${field}: must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
  return value;
}

function fail(task: AcsTask, message: string): never {
  throw new TaskValidationError(message, { context: { taskArn: task.arn } });
}
