/**
 * An in-memory DockerEngine for tests where timing or faults matter (the real engine covers behaviour).
 *
 * - State: `containers`, `images`, `volumes` and `networks` maps, readable and writable by tests directly
 *   (no event) or through the helpers below (which emit the event Docker would).
 * - Events: delivered synchronously to every subscriber while the stream is up, before the call that caused
 *   them resolves (Docker publishes before it answers). `dropStream()` loses events until
 *   `reconnectStream()`, which calls `onConnected({ reconnect: true })` like the real stream.
 * - The daemon's clock is the agent's (`agentNowMs`, default Date.now) plus `daemonClockOffsetMs`: event
 *   times and container start/finish times use it, so tests can skew it.
 * - Faults: `failNext(op, error)` makes the next call(s) of an operation reject; `hold(op)` parks calls of an
 *   operation until released (an abort signal still rejects them). A read answers with the state at the
 *   moment it was sent, so a held read models an answer that is already stale when it arrives.
 * - `callCounts()` uses the real engine's operation names (`list`, `inspect`, `listImages`, …).
 */
import { normalizeImageRef } from '../../src/docker/informer-images.js';
import { matchesLabelFilter } from '../../src/docker/inspect-map.js';
import {
  type CallOptions,
  type ContainerCreateBody,
  type ContainerStatsSample,
  type DockerContainerState,
  type DockerEngine,
  type DockerEventHandlers,
  type DockerEventHint,
  type EngineInfo,
  type ExecResult,
  type ImagePullOptions,
  LABEL_CONTAINER_NAME,
  LABEL_TASK_ARN,
  type ObservedContainer,
  type ObservedImage,
  type ObservedNetwork,
  type ObservedVolume,
} from '../../src/docker/types.js';
import { CannotPullContainerError } from '../../src/errors.js';

export interface FakeDockerEngineOptions {
  /** The agent's clock; default Date.now. */
  agentNowMs?: () => number;
  /** How far the daemon's clock is ahead of the agent's (negative: behind). */
  daemonClockOffsetMs?: number;
  readOnly?: boolean;
}

interface Hold {
  waiters: Array<() => void>;
}

let idCounter = 0;
function fakeId(): string {
  idCounter += 1;
  return idCounter.toString(16).padStart(64, '0');
}

export class FakeDockerEngine implements DockerEngine {
  readonly readOnly: boolean;
  readonly containers = new Map<string, ObservedContainer>();
  readonly images = new Map<string, ObservedImage>();
  readonly volumes = new Map<string, ObservedVolume>();
  readonly networks = new Map<string, ObservedNetwork>();
  daemonClockOffsetMs: number;
  readonly agentNowMs: () => number;
  /** Every event emitted while the stream was up, in order. */
  readonly delivered: DockerEventHint[] = [];
  #streamUp = true;
  readonly #subscribers = new Set<DockerEventHandlers>();
  readonly #counts: Record<string, number> = {};
  readonly #failures = new Map<string, unknown[]>();
  readonly #holds = new Map<string, Hold>();

  constructor(options: FakeDockerEngineOptions = {}) {
    this.agentNowMs = options.agentNowMs ?? (() => Date.now());
    this.daemonClockOffsetMs = options.daemonClockOffsetMs ?? 0;
    this.readOnly = options.readOnly ?? false;
  }

  daemonNowMs(): number {
    return this.agentNowMs() + this.daemonClockOffsetMs;
  }

  // ---- test controls ----------------------------------------------------------------------------------

  /** The next `times` calls of `op` reject with `error`. */
  failNext(op: string, error: unknown = new Error(`fake ${op} failure`), times = 1): void {
    const queue = this.#failures.get(op) ?? [];
    for (let i = 0; i < times; i += 1) queue.push(error);
    this.#failures.set(op, queue);
  }

  /** Calls of `op` wait until `release()`; returns how many are parked through `parked()`. */
  hold(op: string): { release(): void; parked(): number } {
    const hold: Hold = { waiters: [] };
    this.#holds.set(op, hold);
    return {
      release: () => {
        if (this.#holds.get(op) === hold) this.#holds.delete(op);
        for (const wake of hold.waiters.splice(0)) wake();
      },
      parked: () => hold.waiters.length,
    };
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  get streamUp(): boolean {
    return this.#streamUp;
  }

  /** Delivers an event now (lost if the stream is down). `timeMs` defaults to the daemon's clock. */
  emit(event: Partial<DockerEventHint> & Pick<DockerEventHint, 'type' | 'action' | 'id'>): void {
    const hint: DockerEventHint = { labels: {}, timeMs: this.daemonNowMs(), ...event };
    if (!this.#streamUp) return;
    this.delivered.push(hint);
    for (const handlers of [...this.#subscribers]) handlers.onEvent(hint);
  }

  /** The stream breaks: subscribers hear onError, and events are lost until reconnectStream(). */
  dropStream(error: unknown = new Error('fake event stream dropped')): void {
    this.#streamUp = false;
    for (const handlers of [...this.#subscribers]) handlers.onError?.(error);
  }

  reconnectStream(): void {
    this.#streamUp = true;
    for (const handlers of [...this.#subscribers]) handlers.onConnected?.({ reconnect: true });
  }

  /** Adds a container as if created (and, with state 'running', started) outside the agent. */
  addContainer(
    partial: Partial<ObservedContainer> & { taskArn?: string },
    options: { silent?: boolean } = {},
  ): ObservedContainer {
    const id = partial.id ?? fakeId();
    const labels = { ...(partial.labels ?? {}) };
    if (partial.taskArn !== undefined) labels[LABEL_TASK_ARN] = partial.taskArn;
    if (partial.containerName !== undefined) labels[LABEL_CONTAINER_NAME] = partial.containerName;
    const state = partial.state ?? 'created';
    const container: ObservedContainer = {
      name: `fake-${id.slice(-8)}`,
      exitCode: 0,
      oomKilled: false,
      health: 'none',
      imageId: '',
      image: 'ecsd-test/busybox:latest',
      createdAtMs: this.daemonNowMs(),
      portBindings: [],
      observedAtMs: 0,
      ...partial,
      id,
      labels,
      state,
      running: state === 'running',
      ...(labels[LABEL_TASK_ARN] === undefined ? {} : { taskArn: labels[LABEL_TASK_ARN] }),
      ...(labels[LABEL_CONTAINER_NAME] === undefined ? {} : { containerName: labels[LABEL_CONTAINER_NAME] }),
    };
    this.containers.set(id, container);
    if (!options.silent) {
      this.emit({ type: 'container', action: 'create', id, labels });
      if (state === 'running') this.emit({ type: 'container', action: 'start', id, labels });
    }
    return container;
  }

  /** The container's process exits (as if killed from a shell); emits die unless silent. */
  exitContainer(id: string, exitCode: number, options: { silent?: boolean } = {}): void {
    const container = this.#container(id);
    this.#setState(container, 'exited', exitCode);
    if (!options.silent) {
      this.emit({ type: 'container', action: 'die', id, labels: { ...container.labels, exitCode: String(exitCode) } });
    }
  }

  putImage(image: Partial<ObservedImage> & { id: string }, options: { event?: string | false } = {}): ObservedImage {
    const full: ObservedImage = { repoTags: [], repoDigests: [], sizeBytes: 1000, createdAtMs: 0, ...image };
    // A reference names one image: take it away from any other holder, as Docker does.
    for (const other of this.images.values()) {
      if (other.id === full.id) continue;
      const refs = new Set([...full.repoTags, ...full.repoDigests].map(normalizeImageRef));
      other.repoTags = other.repoTags.filter((tag) => !refs.has(normalizeImageRef(tag)));
      other.repoDigests = other.repoDigests.filter((digest) => !refs.has(normalizeImageRef(digest)));
    }
    this.images.set(full.id, full);
    const action = options.event ?? 'pull';
    if (action !== false) {
      this.emit({ type: 'image', action, id: action === 'pull' ? (full.repoTags[0] ?? full.id) : full.id });
    }
    return full;
  }

  deleteImage(id: string, options: { silent?: boolean } = {}): void {
    this.images.delete(id);
    if (!options.silent) this.emit({ type: 'image', action: 'delete', id });
  }

  putVolume(volume: Partial<ObservedVolume> & { name: string }, options: { silent?: boolean } = {}): ObservedVolume {
    const full: ObservedVolume = {
      driver: 'local',
      labels: {},
      mountpoint: `/var/lib/docker/volumes/${volume.name}/_data`,
      ...volume,
    };
    this.volumes.set(full.name, full);
    // Docker's volume events carry the driver, not the volume's labels.
    if (!options.silent)
      this.emit({ type: 'volume', action: 'create', id: full.name, labels: { driver: full.driver } });
    return full;
  }

  deleteVolume(name: string, options: { silent?: boolean } = {}): void {
    this.volumes.delete(name);
    if (!options.silent) this.emit({ type: 'volume', action: 'destroy', id: name, labels: { driver: 'local' } });
  }

  putNetwork(
    network: Partial<ObservedNetwork> & { name: string },
    options: { silent?: boolean } = {},
  ): ObservedNetwork {
    const full: ObservedNetwork = { id: fakeId(), driver: 'bridge', labels: {}, ...network };
    this.networks.set(full.id, full);
    if (!options.silent) {
      this.emit({ type: 'network', action: 'create', id: full.id, labels: { name: full.name, type: full.driver } });
    }
    return full;
  }

  deleteNetwork(id: string, options: { silent?: boolean } = {}): void {
    const network = this.networks.get(id);
    this.networks.delete(id);
    if (!options.silent && network !== undefined) {
      this.emit({ type: 'network', action: 'destroy', id, labels: { name: network.name, type: network.driver } });
    }
  }

  // ---- DockerEngine -----------------------------------------------------------------------------------

  callCounts(): Readonly<Record<string, number>> {
    return { ...this.#counts };
  }

  async ping(options?: CallOptions): Promise<void> {
    await this.#call('ping', options);
  }

  async info(options?: CallOptions): Promise<EngineInfo> {
    await this.#call('info', options);
    return {
      serverVersion: '20.10.0-fake',
      apiVersion: '1.41',
      minApiVersion: '1.12',
      cgroupVersion: '1',
      cgroupDriver: 'cgroupfs',
      ncpu: 2,
      memTotalBytes: 4 * 1024 ** 3,
      negotiatedApiVersion: '1.41',
      dockerRootDir: '/var/lib/docker',
    };
  }

  async negotiate(options?: CallOptions): Promise<string> {
    await this.#call('negotiate', options);
    return '1.41';
  }

  negotiatedApiVersion(): string | undefined {
    return '1.41';
  }

  /** References a pull succeeds for; any other pull fails as a registry would ("not found"). */
  readonly pullable = new Set<string>();

  async pullImage(ref: string, _pull: ImagePullOptions, options: CallOptions): Promise<void> {
    await this.#call('pull', options, true);
    if (!this.pullable.has(normalizeImageRef(ref))) {
      throw new CannotPullContainerError(`pull access denied for ${ref}: repository does not exist`);
    }
    this.putImage({ id: fakeId(), repoTags: [ref] });
  }

  async removeImage(ref: string, options?: CallOptions): Promise<void> {
    await this.#call('removeImage', options, true);
    const image = await this.inspectImage(ref);
    if (image !== undefined) this.deleteImage(image.id);
  }

  /** Not modelled: the informer and runtime tests never read stats or exec. */
  async containerStats(): Promise<ContainerStatsSample | undefined> {
    throw new Error('FakeDockerEngine does not model container stats');
  }

  async exec(): Promise<ExecResult> {
    throw new Error('FakeDockerEngine does not model exec');
  }

  malformedEventLines(): number {
    return 0;
  }

  async listContainers(labelFilter: string[], options?: CallOptions) {
    return this.#read('list', options, () =>
      [...this.containers.values()]
        .filter((c) => matchesLabelFilter(c.labels, labelFilter))
        .map((c) => ({ id: c.id, labels: { ...c.labels }, state: c.state })),
    );
  }

  async inspectContainer(id: string, options?: CallOptions): Promise<ObservedContainer | undefined> {
    return this.#read('inspect', options, () => {
      const container = this.containers.get(id) ?? [...this.containers.values()].find((c) => c.name === id);
      return container === undefined ? undefined : structuredClone({ ...container, observedAtMs: this.agentNowMs() });
    });
  }

  async createContainer(name: string, body: ContainerCreateBody, options: CallOptions): Promise<string> {
    await this.#call('create', options, true);
    const created = this.addContainer(
      { name, image: body.Image, labels: { ...(body.Labels ?? {}) } },
      { silent: true },
    );
    this.emit({ type: 'container', action: 'create', id: created.id, labels: created.labels });
    return created.id;
  }

  async startContainer(id: string, options: CallOptions): Promise<void> {
    await this.#call('start', options, true);
    const container = this.#container(id);
    this.#setState(container, 'running', 0);
    this.emit({ type: 'container', action: 'start', id, labels: container.labels });
  }

  async stopContainer(id: string, _graceSec: number, options: CallOptions): Promise<void> {
    await this.#call('stop', options, true);
    const container = this.#container(id);
    if (!container.running) return;
    this.#setState(container, 'exited', 143);
    for (const action of ['kill', 'die', 'stop'])
      this.emit({ type: 'container', action, id, labels: container.labels });
  }

  async removeContainer(id: string, _remove: { removeVolumes: boolean; force?: boolean }, options?: CallOptions) {
    await this.#call('remove', options, true);
    const container = this.containers.get(id);
    if (container === undefined) return;
    this.containers.delete(id);
    this.emit({ type: 'container', action: 'destroy', id, labels: container.labels });
  }

  async listImages(options?: CallOptions): Promise<ObservedImage[]> {
    return this.#read('listImages', options, () => [...this.images.values()].map((image) => structuredClone(image)));
  }

  async inspectImage(ref: string, options?: CallOptions): Promise<ObservedImage | undefined> {
    return this.#read('inspectImage', options, () => {
      const normalized = normalizeImageRef(ref);
      const image =
        this.images.get(ref) ??
        this.images.get(`sha256:${ref}`) ??
        [...this.images.values()].find((i) =>
          [...i.repoTags, ...i.repoDigests].some((r) => normalizeImageRef(r) === normalized),
        );
      return image === undefined ? undefined : structuredClone(image);
    });
  }

  async listVolumes(labelFilter: string[], options?: CallOptions): Promise<ObservedVolume[]> {
    return this.#read('listVolumes', options, () =>
      [...this.volumes.values()]
        .filter((v) => matchesLabelFilter(v.labels, labelFilter))
        .map((v) => structuredClone(v)),
    );
  }

  async inspectVolume(name: string, options?: CallOptions): Promise<ObservedVolume | undefined> {
    return this.#read('inspectVolume', options, () => {
      const volume = this.volumes.get(name);
      return volume === undefined ? undefined : structuredClone(volume);
    });
  }

  async createVolume(
    spec: { name: string; driver: string; driverOpts: Record<string, string>; labels: Record<string, string> },
    options?: CallOptions,
  ): Promise<void> {
    await this.#call('createVolume', options, true);
    this.putVolume({ name: spec.name, driver: spec.driver, labels: { ...spec.labels } });
  }

  async removeVolume(name: string, options?: CallOptions): Promise<void> {
    await this.#call('removeVolume', options, true);
    if (this.volumes.has(name)) this.deleteVolume(name);
  }

  async listNetworks(options?: CallOptions): Promise<ObservedNetwork[]> {
    return this.#read('listNetworks', options, () => [...this.networks.values()].map((n) => structuredClone(n)));
  }

  subscribeEvents(handlers: DockerEventHandlers): () => void {
    this.#counts['events'] = (this.#counts['events'] ?? 0) + 1;
    this.#subscribers.add(handlers);
    // Like the real stream: the connect is asynchronous and reported once it is up.
    queueMicrotask(() => {
      if (this.#subscribers.has(handlers) && this.#streamUp) handlers.onConnected?.({ reconnect: false });
    });
    return () => {
      this.#subscribers.delete(handlers);
    };
  }

  // ---- internals --------------------------------------------------------------------------------------

  #container(id: string): ObservedContainer {
    const container = this.containers.get(id);
    if (container === undefined) throw new Error(`fake engine: no such container ${id}`);
    return container;
  }

  #setState(container: ObservedContainer, state: DockerContainerState, exitCode: number): void {
    container.state = state;
    container.running = state === 'running';
    container.exitCode = exitCode;
    if (state === 'running') container.startedAtMs = this.daemonNowMs();
    else container.finishedAtMs = this.daemonNowMs();
  }

  /** A read answers with the state at the moment it was sent, however long `hold` keeps the answer back. */
  async #read<T>(op: string, options: CallOptions | undefined, snapshot: () => T): Promise<T> {
    if (options?.signal?.aborted) {
      this.#counts[op] = (this.#counts[op] ?? 0) + 1;
      throw options.signal.reason;
    }
    const value = snapshot();
    await this.#call(op, options);
    return value;
  }

  /** Mutations (and ping/info) take effect after the wait, so `hold` models a slow daemon. */
  async #call(op: string, options: CallOptions | undefined, mutating = false): Promise<void> {
    this.#counts[op] = (this.#counts[op] ?? 0) + 1;
    const signal = options?.signal;
    if (signal?.aborted) throw signal.reason;
    if (mutating && this.readOnly) throw new Error(`fake engine is read-only: ${op}`);
    const hold = this.#holds.get(op);
    if (hold !== undefined) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(signal?.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        hold.waiters.push(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    } else {
      await Promise.resolve();
    }
    const failure = this.#failures.get(op)?.shift();
    if (failure !== undefined) throw failure;
  }
}
