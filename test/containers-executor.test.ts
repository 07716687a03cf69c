/**
 * The containers executor against a small in-memory engine (timing and faults are what matter here, so no
 * real Docker): every call carries the reconcile's signal, mutations wait for the shared bound, and an
 * engine that does not answer never ends a container (issue 10 §4) while a refusal does.
 */
import test, { type ExecutionContext } from 'ava';
import { ContainersExecutor } from '../reconcilers/containers/executor.js';
import { containersLoopDefinition } from '../reconcilers/containers/loop.js';
import { ENGINE_UNAVAILABLE_PREFIX } from '../reconcilers/containers/plan-reasons.js';
import type { ContainerAction } from '../reconcilers/containers/types.js';
import { createLoop } from '../reconcilers/runtime/loop.js';
import { createMutationLimiter } from '../reconcilers/runtime/mutation-limiter.js';
import type { ContainerView } from '../src/docker/container-view.js';
import type {
  CallOptions,
  ContainerCreateBody,
  DockerEngine,
  ObservedContainer,
  ObservedVolume,
} from '../src/docker/types.js';
import { DockerApiError, DockerTimeoutError, type EcsdError } from '../src/errors.js';
import { HostPortAllocator } from '../src/host/ports.js';
import type { TaskCgroupManager } from '../src/host/task-cgroup.js';
import { silentLogger } from '../src/logging/types.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import type { DesiredStateStore } from '../src/store/records.js';
import { FakeClock, flushAsync } from './helpers/fake-clock.js';
import { deferred } from './helpers/runtime-harness.js';
import { containerSpec, taskSpecWith } from './helpers/specs.js';
import { openForTest } from './store-fixtures.js';

const ARN = 'arn:aws:ecs:us-west-2:123456789012:task/default/0123456789abcdef0123456789abcdef';

/** What an unreachable socket gives: no HTTP status at all. */
const unreachable = (): EcsdError =>
  new DockerApiError('Docker API unreachable during create: connect ENOENT /var/run/docker.sock', {
    context: { op: 'create', code: 'ENOENT' },
  });

/** Containers in memory; `down` makes every call fail as an unreachable socket would. */
class SmallEngine implements DockerEngine {
  readonly readOnly = false;
  down = false;
  /** Calls, with whether they carried an abort signal. */
  readonly calls: Array<{ op: string; signal: boolean }> = [];
  readonly containers = new Map<string, ObservedContainer>();
  createError: ((name: string) => unknown) | undefined;
  createGate: Promise<void> | undefined;
  pingAnswers = true;
  #seq = 0;

  #call(op: string, options?: CallOptions): void {
    this.calls.push({ op, signal: options?.signal !== undefined });
    if (this.down) throw unreachable();
  }

  callCounts(): Record<string, number> {
    return {};
  }
  async ping(options?: CallOptions): Promise<void> {
    this.#call('ping', options);
    if (!this.pingAnswers) throw unreachable();
  }
  info(): never {
    throw new Error('not used');
  }
  async negotiate(options?: CallOptions): Promise<string> {
    this.#call('negotiate', options);
    return '1.41';
  }
  negotiatedApiVersion(): string {
    return '1.41';
  }
  pullImage(): never {
    throw new Error('not used');
  }
  removeImage(): never {
    throw new Error('not used');
  }
  containerStats(): never {
    throw new Error('not used');
  }
  exec(): never {
    throw new Error('not used');
  }
  malformedEventLines(): number {
    return 0;
  }
  async listContainers(): Promise<[]> {
    return [];
  }
  async inspectContainer(id: string, options?: CallOptions): Promise<ObservedContainer | undefined> {
    this.#call('inspect', options);
    return this.containers.get(id) ?? [...this.containers.values()].find((c) => c.name === id);
  }
  async createContainer(name: string, body: ContainerCreateBody, options: CallOptions): Promise<string> {
    this.#call('create', options);
    await this.createGate;
    const error = this.createError?.(name);
    if (error !== undefined) throw error;
    const id = `id-${++this.#seq}`;
    const labels = body.Labels ?? {};
    this.containers.set(id, {
      id,
      name,
      labels,
      taskArn: labels['com.amazonaws.ecs.task-arn'],
      containerName: labels['com.amazonaws.ecs.container-name'],
      state: 'created',
      running: false,
      exitCode: 0,
      oomKilled: false,
      health: 'none',
      imageId: 'sha256:1',
      image: body.Image,
      createdAtMs: 1,
      portBindings: [],
      observedAtMs: 1,
    } as ObservedContainer);
    return id;
  }
  async startContainer(id: string, options: CallOptions): Promise<void> {
    this.#call('start', options);
    const c = this.containers.get(id);
    if (c) this.containers.set(id, { ...c, state: 'running', running: true, startedAtMs: 2 });
  }
  async stopContainer(id: string, _graceSec: number, options: CallOptions): Promise<void> {
    this.#call('stop', options);
    const c = this.containers.get(id);
    if (c) this.containers.set(id, { ...c, state: 'exited', running: false, finishedAtMs: 3 });
  }
  async removeContainer(): Promise<void> {}
  async listImages(): Promise<[]> {
    return [];
  }
  async inspectImage(): Promise<undefined> {
    return undefined;
  }
  async listVolumes(): Promise<ObservedVolume[]> {
    return [];
  }
  async inspectVolume(_name: string, options?: CallOptions): Promise<undefined> {
    this.#call('inspect-volume', options);
    return undefined;
  }
  async createVolume(_spec: unknown, options?: CallOptions): Promise<void> {
    this.#call('create-volume', options);
  }
  async removeVolume(): Promise<void> {}
  async listNetworks(): Promise<[]> {
    return [];
  }
  subscribeEvents(): () => void {
    return () => {};
  }
}

/** The view over the small engine: it shows what the engine holds (a synced cache that is always fresh). */
function viewOf(engine: SmallEngine): ContainerView {
  return {
    start: async () => {},
    stop: () => {},
    synced: () => true,
    get: (id) => engine.containers.get(id),
    byTask: (arn) => [...engine.containers.values()].filter((c) => c.taskArn === arn),
    all: () => [...engine.containers.values()],
    refresh: async (id) => engine.containers.get(id),
    relist: async () => {},
    onChange: () => () => {},
    withMutation: (_id, mutate) => mutate(),
  };
}

const noCgroups: TaskCgroupManager = {
  parentFor: (id) => `/ecs/${id}`,
  exists: () => false,
  ensure: () => {},
  remove: () => {},
};

function setup(t: ExecutionContext, mutationLimit = 10) {
  const clock = new FakeClock();
  const { store } = openForTest(t, { checkpoint: false, clock });
  const engine = new SmallEngine();
  const view = viewOf(engine);
  const mutations = createMutationLimiter({ limit: mutationLimit });
  const executor = new ContainersExecutor({
    engine,
    view,
    store,
    cgroups: noCgroups,
    ports: new HostPortAllocator({
      range: { startPort: 49_153, endPort: 65_535 },
      reserved: new Set(),
      isFree: () => true,
    }),
    logger: silentLogger,
    clock,
    cluster: 'test',
    createTimeoutMs: 1_000,
    startTimeoutMs: 1_000,
    stopClientSlackMs: 1_000,
    mutations,
  });
  store.putDesiredTask(taskSpecWith(ARN, [containerSpec('app'), containerSpec('side')]));
  return { clock, store, engine, view, executor, mutations };
}

const create = (container: string): ContainerAction => ({ kind: 'create', container, reason: 'test' });

function containerRow(store: DesiredStateStore, name: string) {
  return store.listContainers(ARN).find((c) => c.name === name);
}

test('an unreachable engine leaves the container desired RUNNING, with a visible waiting reason, and throws transient', async (t) => {
  const { store, engine, executor } = setup(t);
  engine.down = true;
  const error = await t.throwsAsync(executor.apply(ARN, create('app'), undefined, new AbortController().signal));
  t.is((error as EcsdError).errorClass, 'transient');
  t.is(containerRow(store, 'app')?.desiredStatus, 'RUNNING', 'not failed for good');
  t.is(containerRow(store, 'app')?.reason, undefined);
  t.true(store.getTask(ARN)?.reason?.startsWith(ENGINE_UNAVAILABLE_PREFIX));

  engine.down = false;
  await executor.apply(ARN, create('app'), undefined, new AbortController().signal);
  t.is(engine.containers.size, 1, 'created once Docker answers');
});

test('a refusal by a live engine (terminal error) still ends the container, as upstream does', async (t) => {
  const { store, engine, executor } = setup(t);
  engine.createError = () =>
    new DockerApiError('invalid mount config', { context: { status: 400 }, errorClass: 'terminal' });
  await t.throwsAsync(executor.apply(ARN, create('app'), undefined, new AbortController().signal));
  t.is(containerRow(store, 'app')?.desiredStatus, 'STOPPED');
  t.regex(containerRow(store, 'app')?.reason ?? '', /^DockerApiError: invalid mount config/);
});

test('a create timeout fails the container only when the engine still answers a ping', async (t) => {
  const timeout = () => new DockerTimeoutError('Docker create timed out after 1000ms');
  const answered = setup(t);
  answered.engine.createError = timeout;
  await t.throwsAsync(answered.executor.apply(ARN, create('app'), undefined, new AbortController().signal));
  t.is(containerRow(answered.store, 'app')?.desiredStatus, 'STOPPED');
  t.regex(containerRow(answered.store, 'app')?.reason ?? '', /Could not transition to created; timed out/);

  const silent = setup(t);
  silent.engine.createError = timeout;
  silent.engine.pingAnswers = false;
  const error = await t.throwsAsync(silent.executor.apply(ARN, create('app'), undefined, new AbortController().signal));
  t.is((error as EcsdError).errorClass, 'transient');
  t.is(containerRow(silent.store, 'app')?.desiredStatus, 'RUNNING');
});

test('every engine call carries the signal, and creates wait for the shared mutation bound', async (t) => {
  const { engine, executor, mutations } = setup(t, 1);
  const gate = deferred();
  engine.createGate = gate.promise;
  const signal = new AbortController().signal;
  const first = executor.apply(ARN, create('app'), undefined, signal);
  const second = executor.apply(ARN, create('side'), undefined, signal);
  await flushAsync();
  t.is(mutations.inFlight(), 1);
  t.is(mutations.waiting(), 1, 'the second create waits in line');
  t.deepEqual(
    engine.calls.map((c) => c.op),
    ['create'],
  );
  gate.resolve();
  await Promise.all([first, second]);
  await executor.apply(ARN, { kind: 'start', container: 'app', reason: 'test' }, undefined, signal);
  await executor.apply(ARN, { kind: 'stop', container: 'app', graceSec: 1, reason: 'test' }, undefined, signal);
  t.true(
    engine.calls.every((c) => c.signal),
    JSON.stringify(engine.calls),
  );
});

test('cancelling a reconcile ends a create waiting for the mutation bound at once', async (t) => {
  const { engine, executor } = setup(t, 1);
  const gate = deferred();
  engine.createGate = gate.promise;
  const first = executor.apply(ARN, create('app'), undefined, new AbortController().signal);
  const controller = new AbortController();
  const waiting = executor.apply(ARN, create('side'), undefined, controller.signal);
  await flushAsync();
  controller.abort(new Error('shutdown'));
  await t.throwsAsync(waiting, { message: 'shutdown' });
  t.is(engine.calls.filter((c) => c.op === 'create').length, 1, 'the cancelled create never reached Docker');
  gate.resolve();
  await first;
});

test('a task added while Docker is down waits, then starts once Docker answers, its waiting note cleared', async (t) => {
  const { clock, store, engine, view, executor } = setup(t);
  engine.down = true;
  const definition = containersLoopDefinition({
    store,
    view,
    images: { present: async (refs) => new Set(refs), invalidate: () => {} },
    cgroups: noCgroups,
    executor,
    settings: { defaultStopTimeoutSec: 30, taskCgroupEnabled: false },
    nowMs: () => clock.nowMs(),
  });
  const loop = createLoop(definition, {
    store,
    clock,
    logger: silentLogger,
    metrics: createMetricsRegistry(),
    pollIntervalMs: 100,
    resyncIntervalMs: 600_000,
    maxConcurrentReconciles: 2,
    maxQueueDepth: 100,
    maxBackoffMs: 1_000,
    checkStoreOnlyFixedPoint: true,
  });
  loop.start();
  await flushAsync();
  for (let i = 0; i < 5; i++) await clock.advanceAsync(1_000);
  t.true(store.getTask(ARN)?.reason?.startsWith(ENGINE_UNAVAILABLE_PREFIX), store.getTask(ARN)?.reason);
  t.is(store.getTask(ARN)?.desiredStatus, 'RUNNING', 'still wanted');
  t.is(loop.lastTerminalError(ARN), undefined);

  engine.down = false;
  for (let i = 0; i < 5; i++) await clock.advanceAsync(1_000);
  await flushAsync();
  t.is(store.getTask(ARN)?.knownStatus, 'RUNNING');
  t.is(store.getTask(ARN)?.reason, '', 'the waiting note is gone');
  await loop.stop(0);
});
