/**
 * Pure mappings from Docker's JSON payloads to the agent's observed types. Kept apart from the engine so
 * they can be tested without a socket and read without the transport noise.
 */
import type { PortBinding } from '../model/task.js';
import {
  type DockerContainerState,
  type DockerEventHint,
  type DockerHealth,
  LABEL_CONTAINER_NAME,
  LABEL_TASK_ARN,
  type ObservedContainer,
  type ObservedImage,
  type ObservedNetwork,
  type ObservedVolume,
} from './types.js';

/** The subset of `GET /containers/{id}/json` the agent reads. Docker omits or nulls several fields. */
export interface RawContainerInspect {
  Id: string;
  Name?: string;
  Created?: string;
  Image?: string;
  Config?: { Image?: string; Labels?: Record<string, string> | null } | null;
  State?: {
    Status?: string;
    Running?: boolean;
    ExitCode?: number;
    OOMKilled?: boolean;
    Error?: string;
    StartedAt?: string;
    FinishedAt?: string;
    Health?: { Status?: string } | null;
  } | null;
  NetworkSettings?: {
    Ports?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  } | null;
}

const CONTAINER_STATES: readonly DockerContainerState[] = [
  'created',
  'running',
  'paused',
  'restarting',
  'removing',
  'exited',
  'dead',
];
const HEALTH_STATES: readonly DockerHealth[] = ['none', 'starting', 'healthy', 'unhealthy'];

/**
 * Docker reports a never-set time as Go's zero time `0001-01-01T00:00:00Z`; that, an empty string, or an
 * unparseable value all mean "not happened yet".
 */
export function parseDockerTimeMs(value: string | undefined): number | undefined {
  if (value === undefined || value === '' || value.startsWith('0001-01-01')) {
    return undefined;
  }
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export function toContainerState(value: string | undefined): DockerContainerState {
  const lower = (value ?? '').toLowerCase();
  // An unknown future state is safest read as 'dead': not running, not restartable in place.
  return (CONTAINER_STATES as readonly string[]).includes(lower) ? (lower as DockerContainerState) : 'dead';
}

function toHealth(value: string | undefined): DockerHealth {
  return (HEALTH_STATES as readonly string[]).includes(value ?? '') ? (value as DockerHealth) : 'none';
}

/**
 * NetworkSettings.Ports is `{"80/tcp": [{HostIp, HostPort}] | null}`; null means exposed but not published.
 * Every binding is kept (Docker 20.10+ publishes on both 0.0.0.0 and ::), as upstream's
 * PortBindingFromDockerPortBinding does. Sorted so two inspects of the same container compare equal.
 */
export function toPortBindings(ports: RawContainerInspect['NetworkSettings']): PortBinding[] {
  const result: PortBinding[] = [];
  for (const [key, bindings] of Object.entries(ports?.Ports ?? {})) {
    const [portText, protocolText = 'tcp'] = key.split('/');
    const containerPort = Number(portText);
    // sctp has no place in the agent's model (tcp | udp); skip rather than misreport it.
    if (!Number.isInteger(containerPort) || (protocolText !== 'tcp' && protocolText !== 'udp')) {
      continue;
    }
    for (const binding of bindings ?? []) {
      const hostPort = Number(binding.HostPort);
      if (!Number.isInteger(hostPort)) {
        continue;
      }
      result.push({ containerPort, hostPort, bindIp: binding.HostIp ?? '', protocol: protocolText });
    }
  }
  return result.sort(
    (a, b) =>
      a.containerPort - b.containerPort ||
      a.protocol.localeCompare(b.protocol) ||
      a.bindIp.localeCompare(b.bindIp) ||
      a.hostPort - b.hostPort,
  );
}

export function toObservedContainer(raw: RawContainerInspect, observedAtMs: number): ObservedContainer {
  const labels = { ...(raw.Config?.Labels ?? {}) };
  const state = raw.State ?? {};
  const observed: ObservedContainer = {
    id: raw.Id,
    name: (raw.Name ?? '').replace(/^\//, ''),
    labels,
    state: toContainerState(state.Status),
    running: state.Running === true,
    exitCode: state.ExitCode ?? 0,
    oomKilled: state.OOMKilled === true,
    health: toHealth(state.Health?.Status),
    imageId: raw.Image ?? '',
    image: raw.Config?.Image ?? '',
    createdAtMs: parseDockerTimeMs(raw.Created) ?? 0,
    portBindings: toPortBindings(raw.NetworkSettings),
    observedAtMs,
  };
  const taskArn = labels[LABEL_TASK_ARN];
  const containerName = labels[LABEL_CONTAINER_NAME];
  if (taskArn !== undefined) observed.taskArn = taskArn;
  if (containerName !== undefined) observed.containerName = containerName;
  if (state.Error) observed.error = state.Error;
  const startedAtMs = parseDockerTimeMs(state.StartedAt);
  const finishedAtMs = parseDockerTimeMs(state.FinishedAt);
  if (startedAtMs !== undefined) observed.startedAtMs = startedAtMs;
  if (finishedAtMs !== undefined) observed.finishedAtMs = finishedAtMs;
  return observed;
}

/** True when two observations of a container describe the same state (the stamp is ignored). */
export function sameObservation(a: ObservedContainer, b: ObservedContainer): boolean {
  return (
    a.id === b.id &&
    a.name === b.name &&
    a.state === b.state &&
    a.running === b.running &&
    a.exitCode === b.exitCode &&
    a.oomKilled === b.oomKilled &&
    a.error === b.error &&
    a.health === b.health &&
    a.imageId === b.imageId &&
    a.image === b.image &&
    a.createdAtMs === b.createdAtMs &&
    a.startedAtMs === b.startedAtMs &&
    a.finishedAtMs === b.finishedAtMs &&
    a.taskArn === b.taskArn &&
    a.containerName === b.containerName &&
    sameRecord(a.labels, b.labels) &&
    JSON.stringify(a.portBindings) === JSON.stringify(b.portBindings)
  );
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

export interface RawImageInspect {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Size?: number;
  Created?: string;
}

export function toObservedImage(raw: RawImageInspect): ObservedImage {
  return {
    id: raw.Id,
    repoTags: raw.RepoTags ?? [],
    repoDigests: raw.RepoDigests ?? [],
    sizeBytes: raw.Size ?? 0,
    createdAtMs: parseDockerTimeMs(raw.Created) ?? 0,
  };
}

/** One row of `GET /images/json`. */
export interface RawImageSummary {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Size?: number;
  /** Unix seconds. */
  Created?: number;
}

export function toObservedImageSummary(raw: RawImageSummary): ObservedImage {
  return {
    id: raw.Id,
    // Docker lists an untagged image as `<none>:<none>`.
    repoTags: (raw.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>'),
    repoDigests: (raw.RepoDigests ?? []).filter((digest) => digest !== '<none>@<none>'),
    sizeBytes: raw.Size ?? 0,
    createdAtMs: (raw.Created ?? 0) * 1000,
  };
}

/** One row of `GET /networks`. */
export interface RawNetworkSummary {
  Id: string;
  Name?: string;
  Driver?: string;
  Labels?: Record<string, string> | null;
}

export function toObservedNetwork(raw: RawNetworkSummary): ObservedNetwork {
  return { id: raw.Id, name: raw.Name ?? '', driver: raw.Driver ?? '', labels: { ...(raw.Labels ?? {}) } };
}

export interface RawVolumeInspect {
  Name: string;
  Driver?: string;
  Labels?: Record<string, string> | null;
  Mountpoint?: string;
}

export function toObservedVolume(raw: RawVolumeInspect): ObservedVolume {
  return {
    name: raw.Name,
    driver: raw.Driver ?? '',
    labels: { ...(raw.Labels ?? {}) },
    mountpoint: raw.Mountpoint ?? '',
  };
}

/** One message of `GET /events` (API ≥ 1.22 shape). */
export interface RawDockerEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> | null } | null;
  time?: number;
  timeNano?: number;
}

const EVENT_TYPES: readonly DockerEventHint['type'][] = ['container', 'image', 'volume', 'network'];

/**
 * Reduces an event to a hint. For containers `Actor.Attributes` holds the container's labels plus Docker's
 * own keys (`name`, `image`, `exitCode`); the whole map is passed on as `labels`, which is what a label
 * filter needs.
 */
export function toEventHint(raw: RawDockerEvent): DockerEventHint {
  const type = (EVENT_TYPES as readonly string[]).includes(raw.Type ?? '')
    ? (raw.Type as DockerEventHint['type'])
    : 'other';
  const timeMs = raw.timeNano !== undefined ? raw.timeNano / 1e6 : raw.time !== undefined ? raw.time * 1000 : 0;
  return {
    type,
    action: raw.Action ?? raw.status ?? '',
    id: raw.Actor?.ID ?? raw.id ?? '',
    labels: { ...(raw.Actor?.Attributes ?? {}) },
    timeMs,
  };
}

/** `key` or `key=value` label selectors, as Docker's `label` filter takes them; all must match. */
export function matchesLabelFilter(labels: Record<string, string>, filter: readonly string[]): boolean {
  return filter.every((selector) => {
    const eq = selector.indexOf('=');
    if (eq < 0) {
      return Object.hasOwn(labels, selector);
    }
    return labels[selector.slice(0, eq)] === selector.slice(eq + 1);
  });
}
