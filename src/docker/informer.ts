/**
 * The one Docker informer (client-go's shared informer, kubelet's PLEG + pod cache): ONE `/events`
 * subscription and one relist feed one cache of containers, images, volumes and networks, with indexes,
 * that every loop reads. Loops never list or poll Docker themselves; they subscribe per kind and are told
 * which keys changed.
 *
 * Events are hints (a coalesced inspect of the one object), never the truth, and nothing compares the
 * daemon's clock with the agent's (informer-inspect.ts). The relist is the truth: at start, at once when
 * the event stream reconnects (events of the gap are lost), and periodically as insurance (±10 % jitter, so
 * agents do not relist in lockstep). Idle cost: one list call per kind per resync period, nothing per object.
 */
import { setMaxListeners } from 'node:events';
import { type Clock, systemClock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging/types.js';
import type { ContainerView } from './container-view.js';
import type { PartContext } from './informer-cache.js';
import { createContainersPart } from './informer-containers.js';
import { createImagesPart, type ImageIndex } from './informer-images.js';
import { createNetworksPart, createVolumesPart, type NetworkIndex, type VolumeIndex } from './informer-volumes.js';
import {
  DOCKER_OBJECT_KINDS,
  type DockerEngine,
  type DockerEventHint,
  type DockerObjectKind,
  type InformerChange,
  type InformerEvents,
} from './types.js';

export interface InformerOptions {
  engine: DockerEngine;
  /**
   * Docker label selectors (`key` or `key=value`) for the containers and volumes the agent owns, e.g.
   * `['com.amazonaws.ecs.task-arn']`. Images and networks are cached whole.
   */
  labelFilter: string[];
  /** Period of the insurance relist; events and reconnects are the trigger. */
  resyncIntervalMs: number;
  logger: Logger;
  clock?: Clock;
  /** Called with the duration of every completed relist pass (all kinds). */
  onRelist?: (durationMs: number) => void;
  /** Event hints for one object within this window collapse into one inspect. Default 10 ms. */
  coalesceMs?: number;
  /** Container inspects in flight at once during a relist. Default 8. */
  inspectConcurrency?: number;
  /** The kinds to cache; default all. Others are neither listed nor followed (their indexes stay empty). */
  kinds?: readonly DockerObjectKind[];
}

export interface Informer extends InformerEvents {
  /** Subscribes to events first, then relists every kind; resolves once synced. Rejects (and stops) if that fails. */
  start(): Promise<void>;
  /** Unsubscribes, cancels every timer and aborts the calls in flight. */
  stop(): void;
  /** True once the first relist of every kind has completed (kubelet: nothing is deleted before sync). */
  synced(): boolean;
  /**
   * One relist pass of every kind, sharing the pass of concurrent callers. A call made while a pass runs
   * waits for the next pass (the running one may have listed before the caller's reason to relist).
   */
  relist(): Promise<void>;
  readonly containers: ContainerView;
  readonly images: ImageIndex;
  readonly volumes: VolumeIndex;
  readonly networks: NetworkIndex;
}

type InformerState = 'idle' | 'starting' | 'running' | 'stopped';

interface Part {
  onEvent(event: DockerEventHint): void;
  relist(): Promise<void>;
  stop(): void;
}

export function createInformer(options: InformerOptions): Informer {
  const { engine, resyncIntervalMs } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger.child({ module: 'docker-informer' });
  const kinds = new Set<DockerObjectKind>(options.kinds ?? DOCKER_OBJECT_KINDS);
  const abort = new AbortController();
  // Every call of the informer carries this one signal, and each adds a listener for as long as it runs; a
  // burst of event-driven inspects legitimately exceeds Node's default warning threshold of 10.
  setMaxListeners(0, abort.signal);

  let state: InformerState = 'idle';
  let isSynced = false;
  let op = 0;
  const subscribers = new Map<DockerObjectKind, Set<(change: InformerChange) => void>>();
  let unsubscribeEvents: (() => void) | undefined;
  let resyncTimer: { cancel(): void } | undefined;
  let passInFlight: Promise<void> | undefined;
  let nextPass: Promise<void> | undefined;

  const notify = (change: InformerChange): void => {
    for (const listener of subscribers.get(change.kind) ?? []) {
      try {
        listener(change);
      } catch (error) {
        logger.warn('informer listener threw', { kind: change.kind, id: change.id, error: errorMessage(error) });
      }
    }
  };

  const context: PartContext = {
    engine,
    clock,
    logger,
    coalesceMs: options.coalesceMs ?? 10,
    signal: abort.signal,
    nextOp: () => ++op,
    isStopped: () => state === 'stopped',
    notify,
  };

  const start = async (): Promise<void> => {
    if (state !== 'idle') throw new Error(`docker informer cannot start from state ${state}`);
    state = 'starting';
    // Events first, so nothing that happens during the initial list is missed (kubelet PLEG order).
    unsubscribeEvents = engine.subscribeEvents({
      onEvent,
      onConnected: ({ reconnect }) => {
        if (!reconnect || state === 'stopped') return;
        logger.info('docker event stream reconnected; relisting');
        relist().catch((error: unknown) =>
          logger.warn('relist after reconnect failed', { error: errorMessage(error) }),
        );
      },
      onError: (error) => logger.warn('docker event stream error', { error: errorMessage(error) }),
    });
    try {
      await relist();
    } catch (error) {
      stop();
      throw error;
    }
    if (state !== 'starting') return;
    state = 'running';
    isSynced = true;
    scheduleResync();
  };

  const stop = (): void => {
    if (state === 'stopped') return;
    state = 'stopped';
    unsubscribeEvents?.();
    unsubscribeEvents = undefined;
    resyncTimer?.cancel();
    resyncTimer = undefined;
    for (const part of parts.values()) part.stop();
    // The engine turns this into a transient DockerApiError for whoever awaited the aborted call.
    abort.abort(new Error('docker informer stopped'));
  };

  const synced = (): boolean => isSynced;

  const containersPart = createContainersPart({
    ...context,
    labelFilter: options.labelFilter,
    inspectConcurrency: Math.max(1, options.inspectConcurrency ?? 8),
    informer: { start: () => start(), stop: () => stop(), synced, relist: () => relist() },
  });
  const imagesPart = createImagesPart(context);
  const volumesPart = createVolumesPart({ ...context, labelFilter: options.labelFilter });
  const networksPart = createNetworksPart(context);
  const parts = new Map<DockerObjectKind, Part>(
    (
      [
        ['container', containersPart],
        ['image', imagesPart],
        ['volume', volumesPart],
        ['network', networksPart],
      ] as const
    ).filter(([kind]) => kinds.has(kind)),
  );

  function onEvent(event: DockerEventHint): void {
    if (state === 'stopped' || event.type === 'other') return;
    parts.get(event.type)?.onEvent(event);
  }

  /** Every kind relists, even when one fails; the pass fails with the first error. */
  const pass = async (): Promise<void> => {
    const startedMs = clock.nowMs();
    const results = await Promise.allSettled([...parts.values()].map((part) => part.relist()));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    if (state !== 'stopped') options.onRelist?.(clock.nowMs() - startedMs);
  };

  function relist(): Promise<void> {
    if (state === 'stopped') return Promise.resolve();
    if (passInFlight === undefined) {
      passInFlight = pass().finally(() => {
        passInFlight = undefined;
      });
      return passInFlight;
    }
    // The pass in flight may have listed before the caller's reason to relist: share the next one.
    nextPass ??= passInFlight
      .catch(() => undefined)
      .then(() => {
        nextPass = undefined;
        return relist();
      });
    return nextPass;
  }

  const scheduleResync = (): void => {
    if (state !== 'running') return;
    const jitter = 0.9 + Math.random() * 0.2;
    resyncTimer = clock.setTimeout(
      () => {
        resyncTimer = undefined;
        relist()
          .catch((error: unknown) => logger.warn('docker relist failed', { error: errorMessage(error) }))
          .finally(scheduleResync);
      },
      Math.round(resyncIntervalMs * jitter),
    );
  };

  return {
    start,
    stop,
    synced,
    relist,
    subscribe(kind, listener) {
      let listeners = subscribers.get(kind);
      if (listeners === undefined) {
        listeners = new Set();
        subscribers.set(kind, listeners);
      }
      // A wrapper, so the same function subscribed twice is two subscriptions, each undone once.
      const entry = (change: InformerChange): void => listener(change);
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },
    containers: containersPart.view,
    images: imagesPart.index,
    volumes: volumesPart.index,
    networks: networksPart.index,
  };
}
