/**
 * The narrow Docker surface the loops use. Only `src/docker/` talks to the Engine API; everything else speaks
 * these types, so a loop can run against the real engine, a read-only engine (dry-run) or a test fake.
 */
import type { PortBinding } from '../model/task.js';

/** Labels the agent puts on every container it creates (fact sheet 3.6). */
export const LABEL_TASK_ARN = 'com.amazonaws.ecs.task-arn';
export const LABEL_CONTAINER_NAME = 'com.amazonaws.ecs.container-name';
export const LABEL_TASK_FAMILY = 'com.amazonaws.ecs.task-definition-family';
export const LABEL_TASK_VERSION = 'com.amazonaws.ecs.task-definition-version';
export const LABEL_CLUSTER = 'com.amazonaws.ecs.cluster';

export type DockerContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
export type DockerHealth = 'none' | 'starting' | 'healthy' | 'unhealthy';

/** One container as last inspected. */
export interface ObservedContainer {
  id: string;
  /** Without Docker's leading slash. */
  name: string;
  labels: Record<string, string>;
  /** From LABEL_TASK_ARN / LABEL_CONTAINER_NAME; absent for containers that are not ECS-managed. */
  taskArn?: string;
  containerName?: string;
  state: DockerContainerState;
  running: boolean;
  /** Meaningful once the container has run and stopped. */
  exitCode: number;
  oomKilled: boolean;
  /** Docker's own error for a failed start, if any. */
  error?: string;
  health: DockerHealth;
  imageId: string;
  image: string;
  createdAtMs: number;
  startedAtMs?: number;
  finishedAtMs?: number;
  portBindings: PortBinding[];
  /** Monotonic observation stamp (view-local), so consumers can tell fresh from stale. */
  observedAtMs: number;
}

export interface ObservedImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  sizeBytes: number;
  createdAtMs: number;
}

export interface ObservedVolume {
  name: string;
  driver: string;
  labels: Record<string, string>;
  mountpoint: string;
}

/** A Docker event reduced to what the agent reacts to; events are hints, never the truth. */
export interface DockerEventHint {
  type: 'container' | 'image' | 'volume' | 'network' | 'other';
  action: string;
  id: string;
  labels: Record<string, string>;
  timeMs: number;
}

/** The body of POST /containers/create, as Docker's API names it (Config plus HostConfig). */
export interface ContainerCreateBody {
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
  HostConfig?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface EngineInfo {
  serverVersion: string;
  apiVersion: string;
  minApiVersion: string;
  cgroupVersion: '1' | '2';
  cgroupDriver: string;
  ncpu: number;
  memTotalBytes: number;
}

/**
 * Every call carries its own timeout; a call that exceeds it rejects with DockerTimeoutError. Mutating
 * calls reject with DryRunMutationError on a read-only engine.
 */
export interface DockerEngine {
  readonly readOnly: boolean;
  /** Count of API calls made, by operation; for benchmarks and metrics. */
  callCounts(): Readonly<Record<string, number>>;

  ping(timeoutMs?: number): Promise<void>;
  info(): Promise<EngineInfo>;

  listContainers(labelFilter: string[]): Promise<Array<{ id: string; labels: Record<string, string>; state: string }>>;
  /** undefined when the container does not exist. */
  inspectContainer(id: string, timeoutMs?: number): Promise<ObservedContainer | undefined>;
  createContainer(name: string, body: ContainerCreateBody, timeoutMs: number): Promise<string>;
  startContainer(id: string, timeoutMs: number): Promise<void>;
  /** Docker stop: SIGTERM, then SIGKILL after graceSec. Already-stopped is success. */
  stopContainer(id: string, graceSec: number, timeoutMs: number): Promise<void>;
  removeContainer(id: string, options: { removeVolumes: boolean; force?: boolean }, timeoutMs?: number): Promise<void>;

  inspectImage(ref: string): Promise<ObservedImage | undefined>;

  inspectVolume(name: string): Promise<ObservedVolume | undefined>;
  createVolume(spec: {
    name: string;
    driver: string;
    driverOpts: Record<string, string>;
    labels: Record<string, string>;
  }): Promise<void>;
  removeVolume(name: string): Promise<void>;

  /** Subscribe to the event stream (reconnecting with backoff). Returns an unsubscribe function. */
  subscribeEvents(onEvent: (event: DockerEventHint) => void, onError?: (error: unknown) => void): () => void;
}
