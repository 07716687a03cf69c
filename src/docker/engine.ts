/**
 * The DockerEngine over dockerode: every call counted, timed, bounded by a deadline, and its failures
 * turned into the agent's typed errors. Timeouts follow upstream's dockerclient limits (fact sheet 4.9)
 * where the caller does not pass its own.
 */
import Docker from 'dockerode';
import {
  CannotCreateContainerError,
  CannotInspectContainerError,
  CannotStartContainerError,
  CannotStopContainerError,
  ContainerVanishedError,
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
import {
  type RawContainerInspect,
  type RawImageInspect,
  type RawVolumeInspect,
  toObservedContainer,
  toObservedImage,
  toObservedVolume,
} from './inspect-map.js';
import type {
  ContainerCreateBody,
  DockerEngine,
  DockerEventHint,
  EngineInfo,
  ObservedContainer,
  ObservedImage,
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

/** Mutating operations refused on a read-only engine. */
const MUTATING_OPS = new Set(['create', 'start', 'stop', 'remove', 'createVolume', 'removeVolume']);

/** Calls whose @types/dockerode signatures omit the `abortSignal` option dockerode 5 accepts. */
interface Signalled {
  abortSignal: AbortSignal;
}
interface SignalledDocker {
  ping(options: Signalled): Promise<unknown>;
  info(options: Signalled): Promise<unknown>;
  version(options: Signalled): Promise<unknown>;
}

/** A per-operation reading of an HTTP failure: a value means "this is success after all". */
type Recover<T> = (error: unknown) => { value: T } | EcsdError;

export function dockerodeOptions(dockerHost: string): Docker.DockerOptions {
  // docker-modem merges DOCKER_HOST / DOCKER_CERT_PATH from the environment under our options; naming
  // every transport field (even as undefined) keeps configuration in src/config/ the only source.
  const cleared = { host: undefined, port: undefined, socketPath: undefined, ca: undefined, cert: undefined };
  if (dockerHost.startsWith('unix://') || dockerHost.startsWith('/')) {
    const socketPath = dockerHost.startsWith('unix://') ? dockerHost.slice('unix://'.length) : dockerHost;
    return { ...cleared, key: undefined, timeout: undefined, socketPath, protocol: 'http' };
  }
  const match = /^(tcp|http|https):\/\/([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(dockerHost);
  if (match === null) {
    throw new EcsdError('ConfigError', `unsupported Docker host ${JSON.stringify(dockerHost)}`, 'terminal', {
      context: { dockerHost },
    });
  }
  return {
    ...cleared,
    key: undefined,
    timeout: undefined,
    host: match[2],
    port: Number(match[3]),
    protocol: match[1] === 'https' ? 'https' : 'http',
  };
}

function transportTarget(options: Docker.DockerOptions): TransportTarget {
  return options.socketPath
    ? { socketPath: options.socketPath as string }
    : { host: options.host as string, port: Number(options.port), tls: options.protocol === 'https' };
}

export function createDockerEngine(options: DockerEngineOptions): DockerEngine {
  const dockerOptions = dockerodeOptions(options.dockerHost);
  const docker = new Docker(dockerOptions);
  const http = createDockerTransport(transportTarget(dockerOptions));
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
   * Runs one API call under a deadline. dockerode aborts the HTTP request on the signal; the timer also
   * settles the promise itself, so a call stuck before the request is sent still ends on time.
   */
  async function call<T>(
    op: string,
    context: Record<string, unknown>,
    timeoutMs: number,
    run: (signal: AbortSignal) => Promise<T>,
    recover?: Recover<T>,
  ): Promise<T> {
    refuseIfReadOnly(op, context);
    count(op);
    const startedMs = performance.now();
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let ok = false;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort();
          reject(timeoutError(op, context, timeoutMs));
        }, timeoutMs);
      });
      const attempt = run(controller.signal);
      // The losing side of the race must not surface as an unhandled rejection.
      attempt.catch(() => {});
      const value = await Promise.race([attempt, deadline]);
      ok = true;
      return value;
    } catch (error) {
      if (isEcsdError(error)) throw error;
      if (isConnectionError(error)) throw connectionError(op, context, error);
      const recovered = recover ? recover(error) : apiError(op, context, error);
      if (recovered instanceof EcsdError) throw recovered;
      ok = true;
      return recovered.value;
    } finally {
      clearTimeout(timer);
      options.onCall?.(op, performance.now() - startedMs, ok);
    }
  }

  const container = (id: string) => docker.getContainer(id);
  const signalled = docker as unknown as SignalledDocker;

  const engine: DockerEngine = {
    readOnly,

    callCounts: () => ({ ...counts }),

    async ping(timeoutMs = defaultTimeoutMs) {
      await call('ping', {}, timeoutMs, (abortSignal) => signalled.ping({ abortSignal }));
    },

    async info(): Promise<EngineInfo> {
      const info = (await call('info', {}, defaultTimeoutMs, (abortSignal) => signalled.info({ abortSignal }))) as {
        ServerVersion?: string;
        CgroupVersion?: string;
        CgroupDriver?: string;
        NCPU?: number;
        MemTotal?: number;
      };
      const version = (await call('version', {}, defaultTimeoutMs, (abortSignal) =>
        signalled.version({ abortSignal }),
      )) as { ApiVersion?: string; MinAPIVersion?: string };
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

    async listContainers(labelFilter) {
      const rows = await call('list', { labelFilter }, defaultTimeoutMs, (signal) =>
        http.request<Array<{ Id: string; Labels?: Record<string, string>; State: string }>>('GET', '/containers/json', {
          query: { all: true, filters: JSON.stringify({ label: [...labelFilter] }) },
          signal,
        }),
      );
      return rows.map((row) => ({ id: row.Id, labels: { ...(row.Labels ?? {}) }, state: row.State }));
    },

    inspectContainer(id, timeoutMs = defaultTimeoutMs): Promise<ObservedContainer | undefined> {
      const context = { id };
      return call(
        'inspect',
        context,
        timeoutMs,
        async (signal) =>
          toObservedContainer(
            await http.request<RawContainerInspect>('GET', `/containers/${encodeURIComponent(id)}/json`, { signal }),
            Date.now(),
          ),
        (error) =>
          httpStatusOf(error) === 404
            ? { value: undefined }
            : new CannotInspectContainerError(dockerMessageOf(error), { cause: error, context }),
      );
    },

    createContainer(name, body: ContainerCreateBody, timeoutMs) {
      const context = { name, image: body.Image };
      return call(
        'create',
        context,
        timeoutMs,
        async (signal) => {
          const created = await http.request<{ Id: string }>('POST', '/containers/create', {
            query: { name },
            body,
            signal,
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

    startContainer(id, timeoutMs) {
      const context = { id };
      return call(
        'start',
        context,
        timeoutMs,
        async (signal) => {
          await http.request('POST', `/containers/${encodeURIComponent(id)}/start`, { signal });
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

    stopContainer(id, graceSec, timeoutMs) {
      const context = { id, graceSec };
      return call(
        'stop',
        context,
        timeoutMs,
        async (signal) => {
          await http.request('POST', `/containers/${encodeURIComponent(id)}/stop`, { query: { t: graceSec }, signal });
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

    removeContainer(id, removeOptions, timeoutMs = REMOVE_CONTAINER_TIMEOUT_MS) {
      const context = { id };
      return call(
        'remove',
        context,
        timeoutMs,
        async (abortSignal) => {
          await container(id).remove({
            v: removeOptions.removeVolumes,
            force: removeOptions.force === true,
            abortSignal,
          });
        },
        // 404: already gone — removal is idempotent.
        (error) => (httpStatusOf(error) === 404 ? { value: undefined } : apiError('remove', context, error)),
      );
    },

    inspectImage(ref): Promise<ObservedImage | undefined> {
      const context = { image: ref };
      return call(
        'inspectImage',
        context,
        defaultTimeoutMs,
        async (signal) =>
          toObservedImage(await http.request<RawImageInspect>('GET', `/images/${ref}/json`, { signal })),
        (error) => (httpStatusOf(error) === 404 ? { value: undefined } : apiError('inspectImage', context, error)),
      );
    },

    inspectVolume(name): Promise<ObservedVolume | undefined> {
      const context = { volume: name };
      return call(
        'inspectVolume',
        context,
        VOLUME_TIMEOUT_MS,
        async (abortSignal) =>
          toObservedVolume((await docker.getVolume(name).inspect({ abortSignal })) as RawVolumeInspect),
        (error) => (httpStatusOf(error) === 404 ? { value: undefined } : apiError('inspectVolume', context, error)),
      );
    },

    async createVolume(spec) {
      await call('createVolume', { volume: spec.name }, VOLUME_TIMEOUT_MS, (abortSignal) =>
        docker.createVolume({
          Name: spec.name,
          Driver: spec.driver,
          DriverOpts: spec.driverOpts,
          Labels: spec.labels,
          abortSignal,
        }),
      );
    },

    async removeVolume(name) {
      const context = { volume: name };
      await call(
        'removeVolume',
        context,
        VOLUME_TIMEOUT_MS,
        async (abortSignal) => {
          await docker.getVolume(name).remove({ abortSignal });
        },
        (error) => (httpStatusOf(error) === 404 ? { value: undefined } : apiError('removeVolume', context, error)),
      );
    },

    subscribeEvents(onEvent: (event: DockerEventHint) => void, onError?: (error: unknown) => void): () => void {
      return runEventStream({
        connectTimeoutMs: defaultTimeoutMs,
        logger,
        onEvent,
        onError,
        openStream: async (sinceSec, abortSignal) => {
          count('events');
          const startedMs = performance.now();
          try {
            const stream = await docker.getEvents({
              filters: { type: ['container', 'image', 'volume'] },
              ...(sinceSec === undefined ? {} : { since: sinceSec }),
              abortSignal,
            } as Docker.GetEventsOptions);
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
