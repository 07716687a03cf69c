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
  /** The version every call uses (`/v1.NN/`), negotiated at the first call or by `negotiate()`. */
  negotiatedApiVersion: string;
  cgroupVersion: '1' | '2';
  cgroupDriver: string;
  ncpu: number;
  memTotalBytes: number;
  /** DockerRootDir: where images and layers live, whose filesystem the disk-pressure image cleanup watches. */
  dockerRootDir: string;
}

/** A network as listed (`GET /networks`). */
export interface ObservedNetwork {
  id: string;
  name: string;
  driver: string;
  labels: Record<string, string>;
}

/**
 * Per-call options. `timeoutMs` bounds the call from its start (waiting for a connection included);
 * `signal` aborts it at once (shutdown, a cancelled reconcile): the request is torn down on the socket, so
 * an engine that hangs never holds the caller past its own deadline.
 */
export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Registry credentials for a pull (sent as X-Registry-Auth); never logged. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** One progress line of a pull, as the engine reports it. */
export interface PullProgress {
  status: string;
  /** The layer this line is about, when it is about one. */
  id?: string;
  /** The engine's rendered progress bar. */
  progress?: string;
  currentBytes?: number;
  totalBytes?: number;
}

export interface ImagePullOptions {
  auth?: RegistryAuth;
  onProgress?: (progress: PullProgress) => void;
  /** Abandon the pull after this long without a progress line. Default 60 s (ECS_IMAGE_PULL_INACTIVITY_TIMEOUT). */
  inactivityTimeoutMs?: number;
}

/** One sample of `GET /containers/{id}/stats`, as the engine reports it (fields vary with cgroup version). */
export interface ContainerStatsSample {
  read: string;
  cpu_stats?: Record<string, unknown>;
  precpu_stats?: Record<string, unknown>;
  memory_stats?: Record<string, unknown>;
  networks?: Record<string, Record<string, number>>;
  blkio_stats?: Record<string, unknown>;
  pids_stats?: { current?: number; limit?: number };
  [key: string]: unknown;
}

export interface ExecResult {
  exitCode: number;
  /** stdout and stderr, interleaved as the engine sent them. */
  output: string;
}

/** What a subscriber of the event stream hears. */
export interface DockerEventHandlers {
  onEvent(event: DockerEventHint): void;
  /**
   * The stream is (re)connected and delivering: called on every successful connect. After a reconnect,
   * events of the gap may have been lost, so a consumer that caches state relists here.
   */
  onConnected?(info: { reconnect: boolean }): void;
  onError?(error: unknown): void;
}

/**
 * Every call honours its CallOptions; a call past its deadline rejects with DockerTimeoutError, an aborted
 * one with the signal's reason. Mutating calls reject with DryRunMutationError on a read-only engine.
 */
export interface DockerEngine {
  readonly readOnly: boolean;
  /** Count of API calls made, by operation; for benchmarks and metrics. */
  callCounts(): Readonly<Record<string, number>>;

  ping(options?: CallOptions): Promise<void>;
  info(options?: CallOptions): Promise<EngineInfo>;

  listContainers(
    labelFilter: string[],
    options?: CallOptions,
  ): Promise<Array<{ id: string; labels: Record<string, string>; state: string }>>;
  /** undefined when the container does not exist. */
  inspectContainer(id: string, options?: CallOptions): Promise<ObservedContainer | undefined>;
  createContainer(name: string, body: ContainerCreateBody, options: CallOptions): Promise<string>;
  startContainer(id: string, options: CallOptions): Promise<void>;
  /** Docker stop: SIGTERM, then SIGKILL after graceSec. Already-stopped is success. */
  stopContainer(id: string, graceSec: number, options: CallOptions): Promise<void>;
  removeContainer(
    id: string,
    removeOptions: { removeVolumes: boolean; force?: boolean },
    options?: CallOptions,
  ): Promise<void>;

  listImages(options?: CallOptions): Promise<ObservedImage[]>;
  /** undefined when no such image exists locally. */
  inspectImage(ref: string, options?: CallOptions): Promise<ObservedImage | undefined>;

  /** Volumes carrying every label of `labelFilter` (all volumes when empty). */
  listVolumes(labelFilter: string[], options?: CallOptions): Promise<ObservedVolume[]>;
  inspectVolume(name: string, options?: CallOptions): Promise<ObservedVolume | undefined>;
  createVolume(
    spec: {
      name: string;
      driver: string;
      driverOpts: Record<string, string>;
      labels: Record<string, string>;
    },
    options?: CallOptions,
  ): Promise<void>;
  removeVolume(name: string, options?: CallOptions): Promise<void>;

  listNetworks(options?: CallOptions): Promise<ObservedNetwork[]>;

  /**
   * Negotiates the Engine API version (GET /version) once; every call made before it does so first. Rejects
   * with a transient DockerApiError when the engine is down, a terminal one (`context.refused`) when its API
   * is older than MIN_DOCKER_API_VERSION or newer than ecsd can speak. Resolves with the version in use.
   */
  negotiate(options?: CallOptions): Promise<string>;
  /** The negotiated version, once known. */
  negotiatedApiVersion(): string | undefined;

  /**
   * Pulls an image, reporting the engine's progress; rejects with CannotPullContainerError carrying the
   * registry's message (terminal for a 4xx or an error in the stream, transient for 5xx or a dropped
   * stream), or DockerTimeoutError after `inactivityTimeoutMs` without progress.
   */
  pullImage(ref: string, pull: ImagePullOptions, options: CallOptions): Promise<void>;
  /** Removes an image by reference or ID; an image that is already gone is success. */
  removeImage(ref: string, options?: CallOptions): Promise<void>;
  /** One stats sample (`stream=false&one-shot=true`); undefined when the container does not exist. */
  containerStats(id: string, options?: CallOptions): Promise<ContainerStatsSample | undefined>;
  /** Runs a command in a running container over the hijacked connection; stdout and stderr interleaved. */
  exec(id: string, spec: { cmd: string[] }, options?: CallOptions): Promise<ExecResult>;

  /** Event-stream lines that were not JSON objects, skipped (with a warning) since the engine was made. */
  malformedEventLines(): number;

  /** Subscribe to the event stream (reconnecting with backoff). Returns an unsubscribe function. */
  subscribeEvents(handlers: DockerEventHandlers): () => void;
}

/** The object kinds the informer caches (one relist and one event stream feed them all). */
export const DOCKER_OBJECT_KINDS = ['container', 'image', 'volume', 'network'] as const;
export type DockerObjectKind = (typeof DOCKER_OBJECT_KINDS)[number];

/**
 * One change the informer saw in its cache: an object appeared, changed or went away. It carries the keys
 * loops are keyed by, so a loop maps it to its own keys without reading anything else.
 */
export interface InformerChange {
  kind: DockerObjectKind;
  type: 'added' | 'updated' | 'deleted';
  /** Docker's ID (a volume's or network's name where Docker has no ID). */
  id: string;
  /** Containers: the task ARN label. */
  taskArn?: string;
  /** Images: every reference the image is known by (tags and digests); containers: the image they run. */
  imageRefs?: readonly string[];
  /** Volumes: the volume name. */
  volumeName?: string;
}

/** What a loop needs of the informer to be woken: the runtime subscribes for the kinds a loop watches. */
export interface InformerEvents {
  subscribe(kind: DockerObjectKind, listener: (change: InformerChange) => void): () => void;
}
