/**
 * The DockerEngine over the Engine API (http-transport.ts): every call counted, timed, bounded by a
 * deadline, and its failures turned into the agent's typed errors. Timeouts follow upstream's dockerclient
 * limits (fact sheet 4.9) where the caller does not pass its own.
 */
import {
  CannotCreateContainerError,
  CannotInspectContainerError,
  CannotStartContainerError,
  CannotStopContainerError,
  ContainerVanishedError,
  DockerApiError,
  DryRunMutationError,
  EcsdError,
  isEcsdError,
} from '../errors.js';
import type { Logger } from '../logging/types.js';
import {
  apiError,
  connectionError,
  dockerMessageOf,
  httpStatusOf,
  isConnectionError,
  timeoutError,
} from './docker-errors.js';
import { runEventStream } from './event-stream.js';
import { createDockerTransport, type TransportTarget } from './http-transport.js';
import { Http1TimeoutError } from './http1-client.js';
import {
  type RawContainerInspect,
  type RawImageInspect,
  type RawImageSummary,
  type RawNetworkSummary,
  type RawVolumeInspect,
  toObservedContainer,
  toObservedImage,
  toObservedImageSummary,
  toObservedNetwork,
  toObservedVolume,
} from './inspect-map.js';
import type {
  CallOptions,
  ContainerCreateBody,
  DockerEngine,
  DockerEventHandlers,
  EngineInfo,
  ObservedContainer,
  ObservedImage,
  ObservedNetwork,
  ObservedVolume,
} from './types.js';

export interface DockerEngineOptions {
  /** `unix:///var/run/docker.sock`, a bare socket path, or `tcp://host:port` (plain HTTP). */
  dockerHost: string;
  /** Dry-run: every mutating call rejects with DryRunMutationError before touching Docker. */
  readOnly?: boolean;
  logger: Logger;
  /** Deadline for calls without an upstream-specific one (inspect, list, ping, info). Default 30 s. */
  defaultTimeoutMs?: number;
  /** Called once per Docker API call, for metrics (`ecs_agent_docker_*`). */
  onCall?: (op: string, durationMs: number, ok: boolean) => void;
}

/** Upstream dockerclient limits (fact sheet 4.9): remove container 5 min; volume calls 5 min. */
const REMOVE_CONTAINER_TIMEOUT_MS = 5 * 60_000;
const VOLUME_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Event actions worth a hint: those after which an inspect can show something new. Left out on purpose:
 * `kill` and `stop` (the state changes at `die`, which both bracket: two events of every five a container
 * produces), and attach, detach, resize, top, exec_start and the like, commit, copy and export, after which
 * nothing inspected has changed. Docker matches `health_status` against `health_status: healthy` too (the
 * part before the colon).
 */
const SUBSCRIBED_EVENTS = [
  // containers
  'create',
  'start',
  'restart',
  'die',
  'oom',
  'destroy',
  'health_status',
  'pause',
  'unpause',
  'rename',
  'update',
  // images (create/destroy above also cover volumes)
  'pull',
  'delete',
  'tag',
  'untag',
  'import',
  'load',
  // volumes
  'mount',
  'unmount',
];

/** Mutating operations refused on a read-only engine. */
const MUTATING_OPS = new Set(['create', 'start', 'stop', 'remove', 'createVolume', 'removeVolume']);

/** A per-operation reading of an HTTP failure: a value means "this is success after all". */
type Recover<T> = (error: unknown) => { value: T } | EcsdError;

/** An aborted call rejects with the signal's reason when it is one of ours, else a transient API error. */
function abortedError(op: string, context: Record<string, unknown>, signal: AbortSignal): EcsdError {
  const reason: unknown = signal.reason;
  if (isEcsdError(reason)) return reason;
  return new DockerApiError(`Docker ${op} aborted: ${reason instanceof Error ? reason.message : String(reason)}`, {
    cause: reason,
    context: { op, aborted: true, ...context },
  });
}

/** Where the Engine API listens: `unix:///var/run/docker.sock`, a bare socket path, or `tcp|http|https://host:port`. */
export function transportTargetFor(dockerHost: string): TransportTarget {
  if (dockerHost.startsWith('unix://') || dockerHost.startsWith('/')) {
    return { socketPath: dockerHost.startsWith('unix://') ? dockerHost.slice('unix://'.length) : dockerHost };
  }
  const match = /^(tcp|http|https):\/\/([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(dockerHost);
  if (match === null) {
    throw new EcsdError('ConfigError', `unsupported Docker host ${JSON.stringify(dockerHost)}`, 'terminal', {
      context: { dockerHost },
    });
  }
  return { host: match[2]!, port: Number(match[3]), tls: match[1] === 'https' };
}

export function createDockerEngine(options: DockerEngineOptions): DockerEngine {
  const http = createDockerTransport(transportTargetFor(options.dockerHost));
  const logger = options.logger.child({ module: 'docker' });
  const readOnly = options.readOnly === true;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const counts: Record<string, number> = {};

  const count = (op: string): void => {
    counts[op] = (counts[op] ?? 0) + 1;
  };

  const refuseIfReadOnly = (op: string, context: Record<string, unknown>): void => {
    if (readOnly && MUTATING_OPS.has(op)) {
      throw new DryRunMutationError(`dry run: refused Docker ${op}`, { context: { op, ...context } });
    }
  };

  /**
   * Runs one API call under a deadline. The transport owns the timer (counted from the call, so a request
   * still waiting for a free connection ends on time too) and destroys the connection when it fires.
   */
  async function call<T>(
    op: string,
    context: Record<string, unknown>,
    callOptions: CallOptions | undefined,
    fallbackTimeoutMs: number,
    run: (limit: { timeoutMs: number; signal?: AbortSignal }) => Promise<T>,
    recover?: Recover<T>,
  ): Promise<T> {
    refuseIfReadOnly(op, context);
    count(op);
    const timeoutMs = callOptions?.timeoutMs ?? fallbackTimeoutMs;
    const signal = callOptions?.signal;
    const startedMs = performance.now();
    let ok = false;
    try {
      signal?.throwIfAborted();
      const value = await run(signal === undefined ? { timeoutMs } : { timeoutMs, signal });
      ok = true;
      return value;
    } catch (error) {
      if (signal?.aborted) throw abortedError(op, context, signal);
      if (isEcsdError(error)) throw error;
      if (error instanceof Http1TimeoutError) throw timeoutError(op, context, timeoutMs);
      if (isConnectionError(error)) throw connectionError(op, context, error);
      const recovered = recover ? recover(error) : apiError(op, context, error);
      if (recovered instanceof EcsdError) throw recovered;
      ok = true;
      return recovered.value;
    } finally {
      options.onCall?.(op, performance.now() - startedMs, ok);
    }
  }

  const engine: DockerEngine = {
    readOnly,

    callCounts: () => ({ ...counts }),

    async ping(callOptions) {
      await call('ping', {}, callOptions, defaultTimeoutMs, (limit) => http.request('GET', '/_ping', limit));
    },

    async info(callOptions): Promise<EngineInfo> {
      const info = await call('info', {}, callOptions, defaultTimeoutMs, (limit) =>
        http.request<{
          ServerVersion?: string;
          CgroupVersion?: string;
          CgroupDriver?: string;
          NCPU?: number;
          MemTotal?: number;
        }>('GET', '/info', limit),
      );
      const version = await call('version', {}, callOptions, defaultTimeoutMs, (limit) =>
        http.request<{ ApiVersion?: string; MinAPIVersion?: string }>('GET', '/version', limit),
      );
      return {
        serverVersion: info.ServerVersion ?? '',
        apiVersion: version.ApiVersion ?? '',
        minApiVersion: version.MinAPIVersion ?? '',
        // Engines before 20.10 do not report CgroupVersion and only ran on cgroup v1.
        cgroupVersion: info.CgroupVersion === '2' ? '2' : '1',
        cgroupDriver: info.CgroupDriver ?? '',
        ncpu: info.NCPU ?? 0,
        memTotalBytes: info.MemTotal ?? 0,
      };
    },

    async listContainers(labelFilter, callOptions) {
      const rows = await call('list', { labelFilter }, callOptions, defaultTimeoutMs, (limit) =>
        http.request<Array<{ Id: string; Labels?: Record<string, string>; State: string }>>('GET', '/containers/json', {
          query: { all: true, filters: JSON.stringify({ label: [...labelFilter] }) },
          ...limit,
        }),
      );
      return rows.map((row) => ({ id: row.Id, labels: { ...(row.Labels ?? {}) }, state: row.State }));
    },

    inspectContainer(id, callOptions): Promise<ObservedContainer | undefined> {
      const context = { id };
      return call(
        'inspect',
        context,
        callOptions,
        defaultTimeoutMs,
        async (limit) =>
          toObservedContainer(
            await http.request<RawContainerInspect>('GET', `/containers/${encodeURIComponent(id)}/json`, limit),
            Date.now(),
          ),
        (error) =>
          httpStatusOf(error) === 404
            ? { value: undefined }
            : new CannotInspectContainerError(dockerMessageOf(error), { cause: error, context }),
      );
    },

    createContainer(name, body: ContainerCreateBody, callOptions) {
      const context = { name, image: body.Image };
      return call(
        'create',
        context,
        callOptions,
        defaultTimeoutMs,
        async (limit) => {
          const created = await http.request<{ Id: string }>('POST', '/containers/create', {
            query: { name },
            body,
            ...limit,
          });
          return created.Id;
        },
        (error) => {
          const status = httpStatusOf(error);
          // 409: a container with this name exists — typically ours, created before a crash; the caller
          // adopts it by name instead of failing the task (fact sheet 4.10 step 3).
          const conflict = status === 409 ? { conflict: true } : {};
          return new CannotCreateContainerError(dockerMessageOf(error), {
            cause: error,
            context: { ...context, status, ...conflict },
          });
        },
      );
    },

    startContainer(id, callOptions) {
      const context = { id };
      return call(
        'start',
        context,
        callOptions,
        defaultTimeoutMs,
        async (limit) => {
          await http.request('POST', `/containers/${encodeURIComponent(id)}/start`, limit);
        },
        (error) =>
          // 304: already started — the goal state holds.
          httpStatusOf(error) === 304
            ? { value: undefined }
            : new CannotStartContainerError(dockerMessageOf(error), {
                cause: error,
                context: { ...context, status: httpStatusOf(error) },
              }),
      );
    },

    stopContainer(id, graceSec, callOptions) {
      const context = { id, graceSec };
      return call(
        'stop',
        context,
        callOptions,
        graceSec * 1000 + defaultTimeoutMs,
        async (limit) => {
          await http.request('POST', `/containers/${encodeURIComponent(id)}/stop`, {
            query: { t: graceSec },
            ...limit,
          });
        },
        (error) => {
          const status = httpStatusOf(error);
          if (status === 304) return { value: undefined }; // already stopped
          if (status === 404) {
            return new ContainerVanishedError(`No such container: ${id}`, { cause: error, context });
          }
          return new CannotStopContainerError(dockerMessageOf(error), {
            cause: error,
            context: { ...context, status },
          });
        },
      );
    },

    removeContainer(id, removeOptions, callOptions) {
      const context = { id };
      return call(
        'remove',
        context,
        callOptions,
        REMOVE_CONTAINER_TIMEOUT_MS,
        async (limit) => {
          await http.request('DELETE', `/containers/${encodeURIComponent(id)}`, {
            query: { v: removeOptions.removeVolumes, force: removeOptions.force === true },
            ...limit,
          });
        },
        // 404: already gone — removal is idempotent.
        (error) => (httpStatusOf(error) === 404 ? { value: undefined } : apiError('remove', context, error)),
      );
    },

    async listImages(callOptions): Promise<ObservedImage[]> {
      const rows = await call('listImages', {}, callOptions, defaultTimeoutMs, (limit) =>
        http.request<RawImageSummary[]>('GET', '/images/json', limit),
      );
      return rows.map(toObservedImageSummary);
    },

    inspectImage(ref, callOptions): Promise<ObservedImage | undefined> {
      const context = { image: ref };
      return call(
        'inspectImage',
        context,
        callOptions,
        defaultTimeoutMs,
        async (limit) => toObservedImage(await http.request<RawImageInspect>('GET', `/images/${ref}/json`, limit)),
        (error) => (httpStatusOf(error) === 404 ? { value: undefined } : apiError('inspectImage', context, error)),
      );
    },

    async listVolumes(labelFilter, callOptions): Promise<ObservedVolume[]> {
      const listed = await call('listVolumes', { labelFilter }, callOptions, VOLUME_TIMEOUT_MS, (limit) =>
        http.request<{ Volumes?: RawVolumeInspect[] | null }>('GET', '/volumes', {
          ...(labelFilter.length > 0 ? { query: { filters: JSON.stringify({ label: [...labelFilter] }) } } : {}),
          ...limit,
        }),
      );
      return (listed?.Volumes ?? []).map(toObservedVolume);
    },

    inspectVolume(name, callOptions): Promise<ObservedVolume | undefined> {
      const context = { volume: name };
      return call(
        'inspectVolume',
        context,
        callOptions,
        VOLUME_TIMEOUT_MS,
        async (limit) =>
          toObservedVolume(await http.request<RawVolumeInspect>('GET', `/volumes/${encodeURIComponent(name)}`, limit)),
        (error) => (httpStatusOf(error) === 404 ? { value: undefined } : apiError('inspectVolume', context, error)),
      );
    },

    async createVolume(spec, callOptions) {
      await call('createVolume', { volume: spec.name }, callOptions, VOLUME_TIMEOUT_MS, (limit) =>
        http.request('POST', '/volumes/create', {
          body: { Name: spec.name, Driver: spec.driver, DriverOpts: spec.driverOpts, Labels: spec.labels },
          ...limit,
        }),
      );
    },

    async removeVolume(name, callOptions) {
      const context = { volume: name };
      await call(
        'removeVolume',
        context,
        callOptions,
        VOLUME_TIMEOUT_MS,
        async (limit) => {
          await http.request('DELETE', `/volumes/${encodeURIComponent(name)}`, limit);
        },
        (error) => (httpStatusOf(error) === 404 ? { value: undefined } : apiError('removeVolume', context, error)),
      );
    },

    async listNetworks(callOptions): Promise<ObservedNetwork[]> {
      const rows = await call('listNetworks', {}, callOptions, defaultTimeoutMs, (limit) =>
        http.request<RawNetworkSummary[]>('GET', '/networks', limit),
      );
      return rows.map(toObservedNetwork);
    },

    subscribeEvents(handlers: DockerEventHandlers): () => void {
      return runEventStream({
        connectTimeoutMs: defaultTimeoutMs,
        logger,
        onEvent: (event) => handlers.onEvent(event),
        onError: (error) => handlers.onError?.(error),
        onConnected: (info) => handlers.onConnected?.(info),
        openStream: async (sinceSec, abortSignal) => {
          count('events');
          const startedMs = performance.now();
          try {
            const stream = await http.stream('/events', {
              query: {
                filters: JSON.stringify({ type: ['container', 'image', 'volume'], event: SUBSCRIBED_EVENTS }),
                ...(sinceSec === undefined ? {} : { since: sinceSec }),
              },
              signal: abortSignal,
            });
            options.onCall?.('events', performance.now() - startedMs, true);
            return stream;
          } catch (error) {
            options.onCall?.('events', performance.now() - startedMs, false);
            throw error;
          }
        },
      });
    },
  };
  return engine;
}
