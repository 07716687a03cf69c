/**
 * The DockerEngine over the Engine API through dockerode's modem (client.ts), with every call run by
 * call-runner.ts: counted, timed, bounded by a deadline and the caller's signal, versioned, and its failure
 * turned into the agent's typed errors. Timeouts follow upstream's dockerclient limits (fact sheet 4.9) where
 * the caller does not pass its own. Pull, stats and exec (streams and a hijacked connection) are in
 * engine-streams.ts.
 */
import {
  CannotCreateContainerError,
  CannotInspectContainerError,
  CannotStartContainerError,
  CannotStopContainerError,
  ContainerVanishedError,
} from '../errors.js';
import type { Logger } from '../logging/types.js';
import { createCallRunner } from './call-runner.js';
import { type DockerTlsOptions, dial, dialStream, modemOptionsFor } from './client.js';
import { apiError, dockerMessageOf, httpStatusOf } from './docker-errors.js';
import { containerStats, execInContainer, pullImage, removeImage } from './engine-streams.js';
import { runEventStream } from './event-stream.js';
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
  /** `unix:///var/run/docker.sock`, a bare socket path, `tcp://host:port`, `http://…` or `https://…`. */
  dockerHost: string;
  /** PEM files for a TLS endpoint (DOCKER_CERT_PATH's ca.pem, cert.pem, key.pem); a CA or cert implies TLS. */
  tls?: DockerTlsOptions;
  /** Dry-run: every mutating call rejects with DryRunMutationError before touching Docker. */
  readOnly?: boolean;
  logger: Logger;
  /** Deadline for calls without an upstream-specific one (inspect, list, ping, info). Default 30 s. */
  defaultTimeoutMs?: number;
  /** Called once per Docker API call, for metrics (`ecs_agent_docker_*`). */
  onCall?: (op: string, durationMs: number, ok: boolean) => void;
  /** Test seam for the negotiation bounds; default MIN_/MAX_DOCKER_API_VERSION. */
  apiVersionLimits?: { min: string; max: string };
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
export const SUBSCRIBED_EVENTS = [
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
  // images (create/destroy above also cover volumes and networks)
  'pull',
  'delete',
  'tag',
  'untag',
  'import',
  'load',
  // volumes
  'mount',
  'unmount',
  // Networks come and go through create/destroy above. Not connect/disconnect: every container start and
  // stop on a network emits one, and nothing the informer caches of a network (id, name, driver, labels)
  // changes with them, so each would cost a network list per task for nothing.
];

/** The object types the event stream carries. */
export const SUBSCRIBED_EVENT_TYPES = ['container', 'image', 'volume', 'network'];

const encode = encodeURIComponent;

export function createDockerEngine(options: DockerEngineOptions): DockerEngine {
  const logger = options.logger.child({ module: 'docker' });
  const readOnly = options.readOnly === true;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const runner = createCallRunner({
    modemOptions: modemOptionsFor(options.dockerHost, options.tls),
    readOnly,
    negotiateTimeoutMs: defaultTimeoutMs,
    ...(options.apiVersionLimits === undefined ? {} : { apiVersionLimits: options.apiVersionLimits }),
    ...(options.onCall === undefined ? {} : { onCall: options.onCall }),
  });
  const call = runner.run;
  let malformedEventLines = 0;

  const engine: DockerEngine = {
    readOnly,

    callCounts: () => runner.callCounts(),

    negotiate: (callOptions) => runner.negotiate(callOptions),

    negotiatedApiVersion: () => runner.negotiatedApiVersion(),

    malformedEventLines: () => malformedEventLines,

    async ping(callOptions) {
      await call('ping', {}, callOptions, defaultTimeoutMs, ({ client, signal }) =>
        dial(client, { method: 'GET', path: '/_ping', ok: [200], signal }),
      );
    },

    async info(callOptions): Promise<EngineInfo> {
      const info = await call('info', {}, callOptions, defaultTimeoutMs, ({ client, signal }) =>
        dial<{
          ServerVersion?: string;
          CgroupVersion?: string;
          CgroupDriver?: string;
          NCPU?: number;
          MemTotal?: number;
          DockerRootDir?: string;
        }>(client, { method: 'GET', path: '/info', ok: [200], signal }),
      );
      const version = await call('version', {}, callOptions, defaultTimeoutMs, ({ client, signal }) =>
        dial<{ ApiVersion?: string; MinAPIVersion?: string }>(client, {
          method: 'GET',
          path: '/version',
          ok: [200],
          signal,
        }),
      );
      return {
        serverVersion: info.ServerVersion ?? '',
        apiVersion: version.ApiVersion ?? '',
        minApiVersion: version.MinAPIVersion ?? '',
        negotiatedApiVersion: runner.negotiatedApiVersion() ?? '',
        // Engines before 20.10 do not report CgroupVersion and only ran on cgroup v1.
        cgroupVersion: info.CgroupVersion === '2' ? '2' : '1',
        cgroupDriver: info.CgroupDriver ?? '',
        ncpu: info.NCPU ?? 0,
        memTotalBytes: info.MemTotal ?? 0,
        // Docker's own default when an engine does not say (every engine since 1.10 does).
        dockerRootDir: info.DockerRootDir || '/var/lib/docker',
      };
    },

    async listContainers(labelFilter, callOptions) {
      const rows = await call('list', { labelFilter }, callOptions, defaultTimeoutMs, ({ client, signal }) =>
        dial<Array<{ Id: string; Labels?: Record<string, string>; State: string }>>(client, {
          method: 'GET',
          path: '/containers/json',
          query: { all: true, filters: JSON.stringify({ label: [...labelFilter] }) },
          ok: [200],
          signal,
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
        async ({ client, signal }) =>
          toObservedContainer(
            await dial<RawContainerInspect>(client, {
              method: 'GET',
              path: `/containers/${encode(id)}/json`,
              ok: [200],
              signal,
            }),
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
        async ({ client, signal }) => {
          const created = await dial<{ Id: string }>(client, {
            method: 'POST',
            path: '/containers/create',
            query: { name },
            body,
            ok: [200, 201],
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
            // A 5xx is the daemon's trouble, not the task's: worth retrying.
            ...(status !== undefined && status >= 500 ? { errorClass: 'transient' as const } : {}),
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
        async ({ client, signal }) => {
          await dial(client, { method: 'POST', path: `/containers/${encode(id)}/start`, ok: [204, 200], signal });
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
        async ({ client, signal }) => {
          await dial(client, {
            method: 'POST',
            path: `/containers/${encode(id)}/stop`,
            query: { t: graceSec },
            ok: [204, 200],
            signal,
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
        async ({ client, signal }) => {
          await dial(client, {
            method: 'DELETE',
            path: `/containers/${encode(id)}`,
            query: { v: removeOptions.removeVolumes, force: removeOptions.force === true },
            ok: [204, 200],
            signal,
          });
        },
        // 404: already gone — removal is idempotent.
        (error) => (httpStatusOf(error) === 404 ? { value: undefined } : apiError('remove', context, error)),
      );
    },

    async listImages(callOptions): Promise<ObservedImage[]> {
      const rows = await call('listImages', {}, callOptions, defaultTimeoutMs, ({ client, signal }) =>
        dial<RawImageSummary[]>(client, { method: 'GET', path: '/images/json', ok: [200], signal }),
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
        // Not encoded: a reference's '/' and ':' are part of Docker's route (`/images/{name}/json`).
        async ({ client, signal }) =>
          toObservedImage(
            await dial<RawImageInspect>(client, { method: 'GET', path: `/images/${ref}/json`, ok: [200], signal }),
          ),
        (error) => (httpStatusOf(error) === 404 ? { value: undefined } : apiError('inspectImage', context, error)),
      );
    },

    removeImage(ref, callOptions) {
      return removeImage(call, ref, callOptions);
    },

    pullImage(ref, pull, callOptions) {
      return pullImage(call, ref, pull, callOptions);
    },

    containerStats(id, callOptions) {
      return containerStats(call, id, callOptions, defaultTimeoutMs);
    },

    exec(id, spec, callOptions) {
      return execInContainer(call, id, spec, callOptions, defaultTimeoutMs);
    },

    async listVolumes(labelFilter, callOptions): Promise<ObservedVolume[]> {
      const listed = await call('listVolumes', { labelFilter }, callOptions, VOLUME_TIMEOUT_MS, ({ client, signal }) =>
        dial<{ Volumes?: RawVolumeInspect[] | null }>(client, {
          method: 'GET',
          path: '/volumes',
          ...(labelFilter.length > 0 ? { query: { filters: JSON.stringify({ label: [...labelFilter] }) } } : {}),
          ok: [200],
          signal,
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
        async ({ client, signal }) =>
          toObservedVolume(
            await dial<RawVolumeInspect>(client, {
              method: 'GET',
              path: `/volumes/${encode(name)}`,
              ok: [200],
              signal,
            }),
          ),
        (error) => (httpStatusOf(error) === 404 ? { value: undefined } : apiError('inspectVolume', context, error)),
      );
    },

    async createVolume(spec, callOptions) {
      await call('createVolume', { volume: spec.name }, callOptions, VOLUME_TIMEOUT_MS, ({ client, signal }) =>
        dial(client, {
          method: 'POST',
          path: '/volumes/create',
          body: { Name: spec.name, Driver: spec.driver, DriverOpts: spec.driverOpts, Labels: spec.labels },
          ok: [201, 200],
          signal,
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
        async ({ client, signal }) => {
          await dial(client, { method: 'DELETE', path: `/volumes/${encode(name)}`, ok: [204, 200], signal });
        },
        (error) => (httpStatusOf(error) === 404 ? { value: undefined } : apiError('removeVolume', context, error)),
      );
    },

    async listNetworks(callOptions): Promise<ObservedNetwork[]> {
      const rows = await call('listNetworks', {}, callOptions, defaultTimeoutMs, ({ client, signal }) =>
        dial<RawNetworkSummary[]>(client, { method: 'GET', path: '/networks', ok: [200], signal }),
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
        onMalformedLine: () => {
          malformedEventLines++;
        },
        // Opened through the call runner (counted as `events`, versioned); the deadline covers the response
        // headers only, because the runner's signal ends with the call while the stream lives on.
        openStream: (sinceSec, abortSignal) =>
          call('events', {}, { signal: abortSignal }, defaultTimeoutMs, ({ client }) =>
            dialStream(client, {
              method: 'GET',
              path: '/events',
              query: {
                filters: JSON.stringify({ type: SUBSCRIBED_EVENT_TYPES, event: SUBSCRIBED_EVENTS }),
                ...(sinceSec === undefined ? {} : { since: sinceSec }),
              },
              ok: [200],
              signal: abortSignal,
            }),
          ),
      });
    },
  };
  return engine;
}
