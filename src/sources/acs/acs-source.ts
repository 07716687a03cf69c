/**
 * The ACS source: holds one WebSocket session to the backend at a time and reconnects forever (fact sheet
 * 2.7) until stopped. Each round: discover the endpoint (the ECS client caches it), build the URL
 * (`sendCredentials` true until this process first connected), sign the upgrade, run the session, then wait:
 *   - a close with 1000, 1001, 1006 or 1011 is a clean end: reconnect at once, backoff reset;
 *   - `InactiveInstanceException` (the instance was deregistered): wait 1 h;
 *   - anything else (refused, unreachable, oversized frame, inactivity): the reconnect backoff
 *     (250 ms → 2 min, ×1.5, 20 % jitter), which resets once a session has stayed up 1 min + jitter.
 * While ACS is away the loops keep converging to the stored desired state; the metrics say how long it has
 * been (`ecs_agent_acs_connected`, `ecs_agent_acs_seconds_since_last_message`).
 */
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { Clock } from '../../clock.js';
import type { CredentialsManager } from '../../credentials/manager.js';
import { AcsConnectionError, errorMessage } from '../../errors.js';
import type { Logger } from '../../logging/types.js';
import type { AcsMetrics } from '../../metrics/acs.js';
import type { TaskPolicy } from '../../model/task-policy.js';
import { ACS_RECONNECT_BACKOFF, type BackoffPolicy, ExponentialBackoff, withJitter } from './backoff.js';
import { dispatchFrame } from './dispatch.js';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame } from './envelope.js';
import type { AcsStore, HandlerContext, ManifestState } from './handlers/context.js';
import type { OutboundMessages, OutboundType } from './model.js';
import { defaultAcsValidators } from './schema.js';
import { ACS_SESSION_TIMERS, runSession, type SessionEnd, type SessionTimers } from './session.js';
import { signUpgradeRequest } from './sign.js';
import { acsUrl } from './url.js';

/** Close codes after which upstream reconnects at once (gorilla's permissible close codes). */
export const CLEAN_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1001, 1006, 1011]);
export const INACTIVE_INSTANCE_EXCEPTION = 'InactiveInstanceException';

export interface AcsTuning {
  maxFrameBytes: number;
  sessionTimers: SessionTimers;
  backoff: BackoffPolicy;
  /** Wait after InactiveInstanceException: 1 h. */
  inactiveInstanceWaitMs: number;
  /** A session up this long (plus jitter) resets the backoff: 1 min + 1 min. */
  backoffResetMs: number;
  backoffResetJitterMs: number;
}

export const DEFAULT_ACS_TUNING: Readonly<AcsTuning> = Object.freeze({
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  sessionTimers: ACS_SESSION_TIMERS,
  backoff: ACS_RECONNECT_BACKOFF,
  inactiveInstanceWaitMs: 60 * 60_000,
  backoffResetMs: 60_000,
  backoffResetJitterMs: 60_000,
});

export interface AcsSourceDeps {
  store: AcsStore;
  credentialsManager: CredentialsManager;
  /** DiscoverPollEndpoint's ACS endpoint (cached by the ECS client). */
  discoverEndpoint: () => Promise<string>;
  awsCredentials: AwsCredentialIdentityProvider;
  region: string;
  cluster: string;
  containerInstanceArn: string;
  agentVersion: string;
  agentHash: string;
  /** The engine's server version, for the URL; omitted when unknown. */
  dockerVersion?: string;
  /** ECS_UPDATES_ENABLED. */
  updatesEnabled: boolean;
  /** `-k`: skip TLS certificate verification. */
  acceptInsecureCert: boolean;
  taskPolicy: TaskPolicy;
  logger: Logger;
  clock: Clock;
  metrics: AcsMetrics;
  random?: () => number;
  /** Timers and limits; defaults as upstream (DEFAULT_ACS_TUNING). Tests shorten them. */
  tuning?: Partial<AcsTuning>;
}

export interface AcsSourceState {
  connected: boolean;
  lastMessageAtMs?: number;
}

type Lifecycle = 'idle' | 'running' | 'stopping' | 'stopped';

export class AcsSource {
  readonly #deps: AcsSourceDeps;
  readonly #tuning: AcsTuning;
  readonly #logger: Logger;
  readonly #random: () => number;
  readonly #backoff: ExponentialBackoff;
  readonly #manifest: ManifestState = {};
  readonly #abort = new AbortController();
  #lifecycle: Lifecycle = 'idle';
  #loop: Promise<void> | undefined;
  #connected = false;
  #connectedOnce = false;
  #lastMessageAtMs: number | undefined;
  #send: ((frame: string) => void) | undefined;
  #markReady: () => void = () => undefined;
  readonly #ready = new Promise<void>((resolve) => {
    this.#markReady = resolve;
  });

  constructor(deps: AcsSourceDeps) {
    this.#deps = deps;
    this.#tuning = { ...DEFAULT_ACS_TUNING, ...deps.tuning };
    this.#logger = deps.logger.child({ module: 'acs' });
    this.#random = deps.random ?? Math.random;
    this.#backoff = new ExponentialBackoff(this.#tuning.backoff, this.#random);
  }

  start(): void {
    if (this.#lifecycle !== 'idle') throw new Error(`ACS source cannot start from state ${this.#lifecycle}`);
    this.#lifecycle = 'running';
    this.#deps.metrics.started(this.#deps.clock.nowMs());
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    if (this.#lifecycle === 'idle') {
      this.#lifecycle = 'stopped';
      return;
    }
    this.#lifecycle = 'stopping';
    this.#abort.abort(new Error('ACS source stopping'));
    await this.#loop;
    this.#lifecycle = 'stopped';
  }

  /** Resolves once the first PayloadMessage or TaskManifestMessage of this process has been written. */
  whenReady(): Promise<void> {
    return this.#ready;
  }

  state(): AcsSourceState {
    return this.#lastMessageAtMs === undefined
      ? { connected: this.#connected }
      : { connected: this.#connected, lastMessageAtMs: this.#lastMessageAtMs };
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    for (let round = 0; !signal.aborted; round++) {
      if (round > 0) this.#deps.metrics.reconnected();
      const end = await this.#connectOnce(signal);
      if (signal.aborted) break;
      const waitMs = this.#waitAfter(end);
      this.#logEnd(end, waitMs);
      if (waitMs > 0) await this.#deps.clock.sleep(waitMs, signal).catch(() => undefined);
    }
  }

  async #connectOnce(signal: AbortSignal): Promise<SessionEnd> {
    let url: string;
    let headers: Record<string, string>;
    try {
      const endpoint = await this.#deps.discoverEndpoint();
      url = acsUrl({
        endpoint,
        cluster: this.#deps.cluster,
        containerInstanceArn: this.#deps.containerInstanceArn,
        agentVersion: this.#deps.agentVersion,
        agentHash: this.#deps.agentHash,
        ...(this.#deps.dockerVersion === undefined ? {} : { dockerVersion: this.#deps.dockerVersion }),
        sendCredentials: !this.#connectedOnce,
      });
      headers = await signUpgradeRequest(url, { region: this.#deps.region, credentials: this.#deps.awsCredentials });
    } catch (error) {
      const wrapped =
        error instanceof AcsConnectionError
          ? error
          : new AcsConnectionError(`cannot prepare the ACS connection: ${errorMessage(error)}`, { cause: error });
      return { kind: 'failed', error: wrapped, connected: false };
    }
    this.#logger.info('connecting to ACS', { url });
    let resetTimer: { cancel(): void } | undefined;
    const ctx = this.#handlerContext();
    const end = await runSession({
      url,
      headers,
      acceptInsecureCert: this.#deps.acceptInsecureCert,
      maxFrameBytes: this.#tuning.maxFrameBytes,
      clock: this.#deps.clock,
      random: this.#random,
      logger: this.#logger,
      timers: this.#tuning.sessionTimers,
      signal,
      onOpen: () => {
        this.#connectedOnce = true;
        this.#setConnected(true);
        this.#logger.info('connected to ACS');
        const resetMs = withJitter(this.#tuning.backoffResetMs, this.#tuning.backoffResetJitterMs, this.#random);
        resetTimer = this.#deps.clock.setTimeout(() => this.#backoff.reset(), resetMs);
      },
      onFrame: (data, send) => {
        this.#send = send;
        dispatchFrame(ctx, data, {
          maxFrameBytes: this.#tuning.maxFrameBytes,
          countMessage: (type) => {
            const nowMs = this.#deps.clock.nowMs();
            this.#lastMessageAtMs = nowMs;
            this.#deps.metrics.messageReceived(type, nowMs);
          },
        });
      },
    });
    resetTimer?.cancel();
    this.#send = undefined;
    this.#setConnected(false);
    return end;
  }

  #handlerContext(): HandlerContext {
    const deps = this.#deps;
    return {
      store: deps.store,
      credentials: deps.credentialsManager,
      validators: defaultAcsValidators(),
      logger: this.#logger,
      clock: deps.clock,
      taskPolicy: deps.taskPolicy,
      updatesEnabled: deps.updatesEnabled,
      manifest: this.#manifest,
      send: <T extends OutboundType>(type: T, message: OutboundMessages[T]) => {
        const frame = encodeFrame(type, message);
        if (this.#send === undefined) this.#logger.warn('ACS frame not sent: no connection', { type });
        else this.#send(frame);
      },
      markReady: () => this.#markReady(),
    };
  }

  #setConnected(connected: boolean): void {
    this.#connected = connected;
    this.#deps.metrics.setConnected(connected);
  }

  #waitAfter(end: SessionEnd): number {
    if (end.kind === 'closed' && CLEAN_CLOSE_CODES.has(end.code)) {
      this.#backoff.reset();
      return 0;
    }
    if (end.kind === 'failed' && isInactiveInstance(end.error)) return this.#tuning.inactiveInstanceWaitMs;
    return this.#backoff.next();
  }

  #logEnd(end: SessionEnd, waitMs: number): void {
    const retryInMs = Math.round(waitMs);
    if (end.kind === 'closed') {
      const level = CLEAN_CLOSE_CODES.has(end.code) ? 'info' : 'warn';
      this.#logger[level]('ACS connection closed', { code: end.code, reason: end.reason, retryInMs });
      return;
    }
    if (isInactiveInstance(end.error)) {
      this.#logger.warn(
        'the container instance is deregistered (InactiveInstanceException); waiting before reconnecting',
        {
          error: end.error.message,
          retryInMs,
        },
      );
      return;
    }
    this.#logger.warn('ACS connection failed', {
      error: end.error.message,
      connected: end.connected,
      ...end.error.context,
      retryInMs,
    });
  }
}

function isInactiveInstance(error: { message: string; context: Record<string, unknown> }): boolean {
  return (
    error.context['exception'] === INACTIVE_INSTANCE_EXCEPTION || error.message.includes(INACTIVE_INSTANCE_EXCEPTION)
  );
}
