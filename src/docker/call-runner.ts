/**
 * How every Engine API call runs: refused up front on a read-only engine, counted, timed for `onCall`,
 * bounded by a deadline and by the caller's abort signal (both tear the request down on its socket), sent
 * to the negotiated `/v1.NN/` prefix, and its failure turned into the agent's typed errors.
 */
import { DockerApiError, DryRunMutationError, EcsdError, isEcsdError, restated } from '../errors.js';
import {
  chooseApiVersion,
  type EngineVersionReport,
  MAX_DOCKER_API_VERSION,
  MIN_DOCKER_API_VERSION,
} from './api-version.js';
import { createDockerClient, type DockerClient, dial, type ModemOptions, versionedClient } from './client.js';
import { apiError, connectionError, isConnectionError, timeoutError } from './docker-errors.js';
import type { CallOptions } from './types.js';

/** A per-operation reading of an HTTP failure: a value means "this is success after all". */
export type Recover<T> = (error: unknown) => { value: T } | EcsdError;

/** What a call's body gets: the versioned client and the signal that ends the call (deadline or caller). */
export interface CallScope {
  client: DockerClient;
  signal: AbortSignal;
}

export interface CallRunnerOptions {
  modemOptions: ModemOptions;
  readOnly: boolean;
  /** Deadline of the negotiation's `GET /version`. */
  negotiateTimeoutMs: number;
  /** Overrides for tests of the negotiation; default MIN/MAX_DOCKER_API_VERSION. */
  apiVersionLimits?: { min: string; max: string };
  onCall?: (op: string, durationMs: number, ok: boolean) => void;
}

/** Operations refused on a read-only engine (dry-run): everything that changes the host. */
const MUTATING_OPS = new Set([
  'create',
  'start',
  'stop',
  'remove',
  'createVolume',
  'removeVolume',
  'pull',
  'removeImage',
  'exec',
]);

/** An aborted call rejects with the signal's reason when it is one of ours, else a transient API error. */
export function abortedError(op: string, context: Record<string, unknown>, signal: AbortSignal): EcsdError {
  const reason: unknown = signal.reason;
  if (isEcsdError(reason)) return reason;
  return new DockerApiError(`Docker ${op} aborted: ${reason instanceof Error ? reason.message : String(reason)}`, {
    cause: reason,
    context: { op, aborted: true, ...context },
  });
}

/**
 * A failed negotiation seen by the call that waited for it: the same code and class, named after that call
 * (an engine that is down reads as a transient failure of `ping` or `create`, as before negotiation existed).
 */
function asCallError(op: string, context: Record<string, unknown>, error: unknown): unknown {
  if (!isEcsdError(error) || error.context['refused'] === true) return error;
  return restated(error, error.message.replace('during negotiate', `during ${op}`), {
    cause: error.cause ?? error,
    context: { ...error.context, ...context, op, phase: 'negotiate' },
  });
}

/** Rejects as soon as `signal` aborts, even if `promise` (a request being torn down) settles later. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {}); // settled later with nobody listening: not an unhandled rejection
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * One signal for a call: aborted by the caller's signal or by the deadline. Built by hand rather than with
 * AbortSignal.any so that a long-lived caller signal (the agent's shutdown) keeps no reference once the call
 * is over.
 */
function callSignal(timeoutMs: number, caller: AbortSignal | undefined) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`deadline of ${timeoutMs}ms passed`)), timeoutMs);
  const onCallerAbort = (): void => controller.abort(caller?.reason);
  caller?.addEventListener('abort', onCallerAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => controller.signal.aborted && caller?.aborted !== true,
    dispose: () => {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCallerAbort);
    },
  };
}

export interface CallRunner {
  run<T>(
    op: string,
    context: Record<string, unknown>,
    callOptions: CallOptions | undefined,
    fallbackTimeoutMs: number,
    body: (scope: CallScope) => Promise<T>,
    recover?: Recover<T>,
  ): Promise<T>;
  /** Negotiates the API version once (later calls reuse it); rejects with a terminal error for a refused engine. */
  negotiate(callOptions?: CallOptions): Promise<string>;
  negotiatedApiVersion(): string | undefined;
  count(op: string): void;
  callCounts(): Readonly<Record<string, number>>;
  readonly readOnly: boolean;
}

export function createCallRunner(options: CallRunnerOptions): CallRunner {
  const counts: Record<string, number> = {};
  const count = (op: string): void => {
    counts[op] = (counts[op] ?? 0) + 1;
  };
  // One modem (one keep-alive socket pool) for the engine: negotiation uses it unversioned, calls versioned.
  const unversioned = createDockerClient(options.modemOptions);
  let versioned: { client: DockerClient; version: string } | undefined;
  let negotiating: Promise<{ client: DockerClient; version: string }> | undefined;

  /** The shared negotiation: one `GET /version` however many calls wait for it; a failure is not cached. */
  const negotiation = (): Promise<{ client: DockerClient; version: string }> => {
    if (versioned !== undefined) return Promise.resolve(versioned);
    negotiating ??= runCall(
      'negotiate',
      {},
      undefined,
      options.negotiateTimeoutMs,
      async ({ signal }) => {
        const report = await dial<EngineVersionReport>(unversioned, {
          method: 'GET',
          path: '/version',
          ok: [200],
          signal,
        });
        const chosen = chooseApiVersion(
          report,
          options.apiVersionLimits ?? { min: MIN_DOCKER_API_VERSION, max: MAX_DOCKER_API_VERSION },
        );
        if ('error' in chosen) throw chosen.error;
        versioned = { client: versionedClient(unversioned, chosen.version), version: chosen.version };
        return versioned;
      },
      undefined,
      false,
    ).finally(() => {
      negotiating = undefined;
    });
    return negotiating;
  };

  async function runCall<T>(
    op: string,
    context: Record<string, unknown>,
    callOptions: CallOptions | undefined,
    fallbackTimeoutMs: number,
    body: (scope: CallScope) => Promise<T>,
    recover?: Recover<T>,
    negotiated = true,
  ): Promise<T> {
    if (options.readOnly && MUTATING_OPS.has(op)) {
      throw new DryRunMutationError(`dry run: refused Docker ${op}`, { context: { op, ...context } });
    }
    const caller = callOptions?.signal;
    if (caller?.aborted) throw abortedError(op, context, caller);
    const timeoutMs = callOptions?.timeoutMs ?? fallbackTimeoutMs;
    const scope = callSignal(timeoutMs, caller);
    // Negotiation first (a no-op once done): outside this call's count and timing, inside its deadline.
    let client: DockerClient | undefined;
    try {
      client = negotiated ? (versioned?.client ?? (await untilAborted(negotiation(), scope.signal)).client) : undefined;
    } catch (error) {
      scope.dispose();
      if (caller?.aborted) throw abortedError(op, context, caller);
      if (scope.timedOut()) throw timeoutError(op, context, timeoutMs);
      throw asCallError(op, context, error);
    }
    count(op);
    const startedMs = performance.now();
    let ok = false;
    try {
      const value = await untilAborted(body({ client: client as DockerClient, signal: scope.signal }), scope.signal);
      ok = true;
      return value;
    } catch (error) {
      if (caller?.aborted) throw abortedError(op, context, caller);
      if (scope.timedOut()) throw timeoutError(op, context, timeoutMs);
      if (isEcsdError(error)) throw error;
      if (isConnectionError(error)) throw connectionError(op, context, error);
      const recovered = recover ? recover(error) : apiError(op, context, error);
      if (recovered instanceof EcsdError) throw recovered;
      ok = true;
      return recovered.value;
    } finally {
      scope.dispose();
      options.onCall?.(op, performance.now() - startedMs, ok);
    }
  }

  const runner = {
    readOnly: options.readOnly,
    run: <T>(
      op: string,
      context: Record<string, unknown>,
      callOptions: CallOptions | undefined,
      fallbackTimeoutMs: number,
      body: (scope: CallScope) => Promise<T>,
      recover?: Recover<T>,
    ): Promise<T> => runCall(op, context, callOptions, fallbackTimeoutMs, body, recover),
    async negotiate(callOptions?: CallOptions): Promise<string> {
      if (versioned !== undefined) return versioned.version;
      const signal = callOptions?.signal;
      const pending = negotiation();
      if (signal === undefined) return (await pending).version;
      try {
        return (await untilAborted(pending, signal)).version;
      } catch (error) {
        throw signal.aborted ? abortedError('negotiate', {}, signal) : error;
      }
    },
    negotiatedApiVersion: () => versioned?.version,
    count,
    callCounts: () => ({ ...counts }),
  };
  return runner;
}
