/**
 * The Engine API calls that stream or hijack, for the images and endpoints work: image pull (NDJSON
 * progress), one-shot container stats, exec over the upgraded connection, and image removal next to pull.
 * Each runs through the call runner, so it is counted, versioned, bounded and cancellable like any call.
 */
import { Writable } from 'node:stream';
import { CannotPullContainerError, DockerApiError, DockerTimeoutError, isEcsdError } from '../errors.js';
import type { CallRunner } from './call-runner.js';
import { type DockerClient, dial, dialHijacked, dialStream } from './client.js';
import { apiError, dockerMessageOf, httpStatusOf } from './docker-errors.js';
import { NdjsonLineSplitter } from './ndjson.js';
import type { CallOptions, ContainerStatsSample, ExecResult, ImagePullOptions, PullProgress } from './types.js';

type Call = CallRunner['run'];

/** Upstream limits (fact sheet 4.9): a pull may take 2 h, and is abandoned after 1 min without progress. */
const PULL_TIMEOUT_MS = 2 * 60 * 60_000;
const PULL_INACTIVITY_TIMEOUT_MS = 60_000;
/** Upstream removes images with the 5-min remove limit. */
const REMOVE_IMAGE_TIMEOUT_MS = 5 * 60_000;

/**
 * `busybox` → `busybox:latest`: without a tag or digest Docker pulls *every* tag of the repository. A ':' in
 * the last path component is a tag; one before a '/' is a registry port.
 */
export function withDefaultTag(ref: string): string {
  if (ref.includes('@')) return ref;
  const lastComponent = ref.slice(ref.lastIndexOf('/') + 1);
  return lastComponent.includes(':') ? ref : `${ref}:latest`;
}

interface RawProgress {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string; code?: number };
}

function toProgress(raw: RawProgress): PullProgress {
  return {
    status: raw.status ?? '',
    ...(raw.id === undefined ? {} : { id: raw.id }),
    ...(raw.progress === undefined ? {} : { progress: raw.progress }),
    ...(raw.progressDetail?.current === undefined ? {} : { currentBytes: raw.progressDetail.current }),
    ...(raw.progressDetail?.total === undefined ? {} : { totalBytes: raw.progressDetail.total }),
  };
}

export function pullImage(call: Call, ref: string, pull: ImagePullOptions, callOptions: CallOptions): Promise<void> {
  const image = withDefaultTag(ref);
  const context = { image };
  const inactivityMs = pull.inactivityTimeoutMs ?? PULL_INACTIVITY_TIMEOUT_MS;
  return call(
    'pull',
    context,
    callOptions,
    PULL_TIMEOUT_MS,
    async ({ client, signal }) => {
      const stream = await dialStream(client, {
        method: 'POST',
        path: '/images/create',
        query: { fromImage: image },
        ok: [200],
        signal,
        ...(pull.auth === undefined ? {} : { authconfig: { ...pull.auth } }),
      });
      await new Promise<void>((resolve, reject) => {
        const splitter = new NdjsonLineSplitter();
        let settled = false;
        let idleTimer: NodeJS.Timeout | undefined;
        const finish = (error?: unknown): void => {
          if (settled) return;
          settled = true;
          clearTimeout(idleTimer);
          if (error === undefined) {
            resolve();
            return;
          }
          stream.destroy();
          reject(error);
        };
        const armIdle = (): void => {
          clearTimeout(idleTimer);
          idleTimer = setTimeout(
            () =>
              finish(
                new DockerTimeoutError(`Docker pull of ${image} made no progress for ${inactivityMs}ms`, {
                  context: { op: 'pull', ...context, inactivityTimeoutMs: inactivityMs },
                }),
              ),
            inactivityMs,
          );
        };
        const handle = (values: unknown[]): void => {
          for (const value of values) {
            const raw = value as RawProgress;
            if (raw.errorDetail !== undefined || raw.error !== undefined) {
              // The registry's own words: what a task's stopped reason shows (fact sheet 4.6).
              const message = raw.errorDetail?.message ?? raw.error ?? 'pull failed';
              finish(new CannotPullContainerError(message, { context: { op: 'pull', ...context } }));
              return;
            }
            pull.onProgress?.(toProgress(raw));
          }
        };
        armIdle();
        stream.on('data', (chunk: Buffer) => {
          if (settled) return;
          armIdle();
          handle(splitter.push(chunk).values);
        });
        stream.once('end', () => {
          if (!settled) handle(splitter.end().values);
          finish();
        });
        stream.once('error', (error) => finish(error));
        // A close before the end: the connection dropped mid-pull (or the signal tore it down).
        stream.once('close', () =>
          finish(
            signal.aborted
              ? signal.reason
              : Object.assign(new Error('pull stream closed early'), { code: 'ECONNRESET' }),
          ),
        );
      });
    },
    (error) => {
      const status = httpStatusOf(error);
      return new CannotPullContainerError(dockerMessageOf(error), {
        cause: error,
        context: { op: 'pull', ...context, status },
        // 5xx: the registry or the daemon could not be reached — another attempt may work.
        ...(status === undefined || status >= 500 ? { errorClass: 'transient' as const } : {}),
      });
    },
  );
}

export function removeImage(call: Call, ref: string, callOptions: CallOptions | undefined): Promise<void> {
  const context = { image: ref };
  return call(
    'removeImage',
    context,
    callOptions,
    REMOVE_IMAGE_TIMEOUT_MS,
    async ({ client, signal }) => {
      await dial(client, { method: 'DELETE', path: `/images/${ref}`, ok: [200], signal });
    },
    // 404: already gone. 409 (in use by a container) stays a terminal error for the caller to skip.
    (error) => (httpStatusOf(error) === 404 ? { value: undefined } : apiError('removeImage', context, error)),
  );
}

export function containerStats(
  call: Call,
  id: string,
  callOptions: CallOptions | undefined,
  timeoutMs: number,
): Promise<ContainerStatsSample | undefined> {
  const context = { id };
  return call(
    'stats',
    context,
    callOptions,
    timeoutMs,
    // one-shot: the engine answers at once instead of sampling CPU over a second (API 1.41+; older ignore it).
    ({ client, signal }) =>
      dial<ContainerStatsSample>(client, {
        method: 'GET',
        path: `/containers/${encodeURIComponent(id)}/stats`,
        query: { stream: false, 'one-shot': true },
        ok: [200],
        signal,
      }),
    (error) => (httpStatusOf(error) === 404 ? { value: undefined } : apiError('stats', context, error)),
  );
}

const EXEC_EXIT_POLLS = 20;
const EXEC_EXIT_POLL_MS = 25;

function inspectExec(client: DockerClient, execId: string, signal: AbortSignal) {
  return dial<{ ExitCode: number | null; Running: boolean }>(client, {
    method: 'GET',
    path: `/exec/${execId}/json`,
    ok: [200],
    signal,
  });
}

/** Collects one of exec's demultiplexed streams. */
function collector(into: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      into.push(chunk);
      done();
    },
  });
}

export function execInContainer(
  call: Call,
  id: string,
  spec: { cmd: string[] },
  callOptions: CallOptions | undefined,
  timeoutMs: number,
): Promise<ExecResult> {
  const context = { id, cmd: spec.cmd };
  return call(
    'exec',
    context,
    callOptions,
    timeoutMs,
    async ({ client, signal }) => {
      const created = await dial<{ Id: string }>(client, {
        method: 'POST',
        path: `/containers/${encodeURIComponent(id)}/exec`,
        body: { Cmd: spec.cmd, AttachStdout: true, AttachStderr: true, Tty: false },
        ok: [201, 200],
        signal,
      });
      const stream = await dialHijacked(client, {
        method: 'POST',
        path: `/exec/${created.Id}/start`,
        body: { Detach: false, Tty: false },
        ok: [200],
        signal,
      });
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        // The upgraded socket is no longer the request's: the signal must tear it down itself.
        const onAbort = (): void => {
          stream.destroy();
          reject(signal.reason);
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        const done = (error?: Error): void => {
          signal.removeEventListener('abort', onAbort);
          stream.destroy();
          if (error === undefined) resolve();
          else reject(error);
        };
        client.modem.demuxStream(stream, collector(chunks), collector(chunks));
        stream.once('end', () => done());
        stream.once('close', () => done());
        stream.once('error', (error: Error) => done(error));
      });
      let inspected = await inspectExec(client, created.Id, signal);
      // The stream can end a moment before the engine records the exit: ask again briefly.
      for (let attempt = 0; inspected.Running && attempt < EXEC_EXIT_POLLS; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, EXEC_EXIT_POLL_MS));
        inspected = await inspectExec(client, created.Id, signal);
      }
      if (inspected.ExitCode === null || inspected.Running) {
        throw new DockerApiError(`exec in ${id} ended without an exit code`, { context: { op: 'exec', ...context } });
      }
      return { exitCode: inspected.ExitCode, output: Buffer.concat(chunks).toString('utf8') };
    },
    (error) =>
      isEcsdError(error)
        ? error
        : httpStatusOf(error) === 404
          ? apiError('exec', { ...context, vanished: true }, error)
          : apiError('exec', context, error),
  );
}
