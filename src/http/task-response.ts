/**
 * The introspection API's TaskResponse shape (fact sheet 5.1), built from store records. `ecsd tasks` prints
 * the same objects, plus each container's `ExitCode` and `Reason`, so scripts written against the upstream
 * introspection endpoint read it unchanged.
 */
import { type BackendStatus, toBackendContainerStatus, toBackendTaskStatus } from '../model/status.js';
import type { ContainerRecord, TaskRecord } from '../store/records.js';

export interface PortResponse {
  ContainerPort: number;
  Protocol: string;
  HostPort: number;
}

export interface VolumeResponse {
  DockerName?: string;
  Source: string;
  Destination: string;
}

export interface ContainerResponse {
  DockerId: string;
  DockerName: string;
  Name: string;
  Image: string;
  ImageID?: string;
  CreatedAt?: string;
  StartedAt?: string;
  Ports?: PortResponse[];
  Networks?: Array<{ NetworkMode: string; IPv4Addresses: string[] }>;
  Volumes?: VolumeResponse[];
  RestartCount?: number;
  /** ecsd extension (not in upstream introspection): the container's known status in backend form. */
  KnownStatus?: BackendStatus;
  ExitCode?: number;
  Reason?: string;
}

export interface TaskResponse {
  Arn: string;
  DesiredStatus?: BackendStatus;
  KnownStatus: BackendStatus;
  Family: string;
  Version: string;
  Containers: ContainerResponse[];
  /** ecsd extension (ecsd tasks only): why the task stopped, when the agent knows. */
  Reason?: string;
  /**
   * ecsd extension (ecsd tasks only): what the task waits for before it may start on this host (host resource
   * admission, issue 13), e.g. `host port 5180/tcp held by task <arn>`; absent when not waiting.
   */
  WaitingFor?: string;
}

export interface TaskResponseOptions {
  /** Add KnownStatus/ExitCode/Reason per container (ecsd tasks); the HTTP endpoint keeps upstream's fields. */
  withOutcome: boolean;
}

export function toTaskResponse(
  task: TaskRecord,
  containers: readonly ContainerRecord[],
  options: TaskResponseOptions,
): TaskResponse {
  const known = toBackendTaskStatus(task.knownStatus);
  const desired = toBackendTaskStatus(task.desiredStatus);
  // Upstream blanks a desired status that would read as a contradiction (fact sheet 5.1).
  const blankDesired = (known === 'STOPPED' && desired !== 'STOPPED') || (known === 'RUNNING' && desired === 'PENDING');
  return {
    Arn: task.arn,
    ...(blankDesired ? {} : { DesiredStatus: desired }),
    KnownStatus: known,
    Family: task.family,
    Version: task.version,
    Containers: containers.map((record) => toContainerResponse(task, record, options)),
    ...(options.withOutcome && task.reason ? { Reason: task.reason } : {}),
    ...(options.withOutcome && task.waitingFor ? { WaitingFor: task.waitingFor } : {}),
  };
}

function toContainerResponse(
  task: TaskRecord,
  record: ContainerRecord,
  options: TaskResponseOptions,
): ContainerResponse {
  const spec = task.spec.containers.find((c) => c.name === record.name);
  const response: ContainerResponse = {
    DockerId: record.dockerId ?? '',
    DockerName: record.dockerName ?? '',
    Name: record.name,
    Image: spec?.image ?? '',
  };
  if (record.imageId) response.ImageID = record.imageId;
  if (record.createdAtMs !== undefined) response.CreatedAt = new Date(record.createdAtMs).toISOString();
  if (record.startedAtMs !== undefined) response.StartedAt = new Date(record.startedAtMs).toISOString();
  // Docker lists a published port once per address family (0.0.0.0 and ::); the response names it once.
  const ports = new Map<string, PortResponse>();
  for (const b of record.portBindings) {
    ports.set(`${b.containerPort}/${b.protocol}/${b.hostPort}`, {
      ContainerPort: b.containerPort,
      Protocol: b.protocol,
      HostPort: b.hostPort,
    });
  }
  if (ports.size > 0) response.Ports = [...ports.values()];
  const volumes = (spec?.mountPoints ?? []).map((mount) => {
    const volume = task.spec.volumes.find((v) => v.name === mount.sourceVolume);
    const source = volume?.type === 'host' && volume.sourcePath ? volume.sourcePath : mount.sourceVolume;
    return { Source: source, Destination: mount.containerPath };
  });
  if (volumes.length > 0) response.Volumes = volumes;
  // Upstream reports Networks only for awsvpc tasks, whose addresses come from the ENI (not supported yet).
  response.RestartCount = 0;
  if (options.withOutcome) {
    response.KnownStatus = toBackendContainerStatus(record.knownStatus);
    if (record.exitCode !== undefined) response.ExitCode = record.exitCode;
    if (record.reason) response.Reason = record.reason;
  }
  return response;
}
