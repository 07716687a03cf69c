/**
 * Applies the containers planner's actions to the real world: Docker, the task cgroup and the store.
 * The runtime calls `apply` once per action (independent actions of one task may run at the same time);
 * errors are thrown typed and the runtime decides whether to retry. Terminal create/start failures end the
 * container: they are written to the store as its reason with desired STOPPED, so the planner's essential
 * rules stop the task. When the engine itself does not answer (no HTTP response, or a timeout while a ping
 * fails too) nothing is ended: the task gets a visible waiting reason and the runtime retries with backoff
 * (issue 10 §4). Every Docker call carries the reconcile's abort signal, and mutations wait for the
 * agent-wide mutation bound (reconcilers/runtime/mutation-limiter.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../src/clock.js';
import type { ContainerView } from '../../src/docker/container-view.js';
import { type ContainerCreateBody, type DockerEngine, LABEL_CLUSTER, LABEL_TASK_ARN } from '../../src/docker/types.js';
import {
  CannotCreateContainerError,
  CannotStartContainerError,
  ContainerVanishedError,
  DockerTimeoutError,
  type EcsdError,
  isEcsdError,
} from '../../src/errors.js';
import type { HostPortAllocator } from '../../src/host/ports.js';
import type { TaskCgroupManager } from '../../src/host/task-cgroup.js';
import type { Logger } from '../../src/logging/types.js';
import type { ContainerSpec, TaskSpec, TransportProtocol } from '../../src/model/task.js';
import { taskIdFromArn } from '../../src/model/task.js';
import type {
  ContainerRecord,
  DesiredStateStore,
  TaskObservation,
  TaskRecord,
  WriteOrigin,
} from '../../src/store/records.js';
import { isPullWait } from '../images/pull-policy.js';
import {
  createMutationLimiter,
  DEFAULT_MAX_CONCURRENT_DOCKER_MUTATIONS,
  type MutationLimiter,
} from '../runtime/mutation-limiter.js';
import { ensureBindMountSources } from './bind-sources.js';
import { bindMountSources, buildCreateBody, dockerContainerName, stableNameSuffix } from './create-body.js';
import { engineAnswers, engineUnavailable, waitForEngine } from './engine-wait.js';
import { hasTaskLimits } from './plan-actions.js';
import type { ContainerAction } from './types.js';
import { recordedVolumeFor, taskVolumePrefix } from './volume-names.js';

export interface ContainersExecutorDeps {
  engine: DockerEngine;
  view: ContainerView;
  store: DesiredStateStore;
  cgroups: TaskCgroupManager;
  ports: HostPortAllocator;
  logger: Logger;
  clock: Clock;
  cluster: string;
  createTimeoutMs: number;
  startTimeoutMs: number;
  /** Grace added on top of a stop's own grace period before the client gives up (fact sheet 4.3: 2 min). */
  stopClientSlackMs: number;
  taskPidsLimit?: number;
  randomHex?: (bytes: number) => string;
  /**
   * The agent-wide bound on Docker mutations, shared with every other loop. Absent: a bound of this executor's
   * own (ECSD_MAX_CONCURRENT_DOCKER_MUTATIONS' default), which does not coordinate with other loops.
   */
  mutations?: MutationLimiter;
}

/** Upstream retries a failed stop up to 5 times before giving up on it (fact sheet 4.3). */
const MAX_STOP_ATTEMPTS = 5;

export class ContainersExecutor {
  private readonly randomHex: (bytes: number) => string;
  private readonly stopAttempts = new Map<string, number>();
  /** Containers just created whose start follows in the same plan (create's startFollows), by containerKey. */
  private readonly createdIds = new Map<string, string>();

  private readonly mutations: MutationLimiter;

  constructor(private readonly deps: ContainersExecutorDeps) {
    this.randomHex = deps.randomHex ?? ((bytes) => randomBytes(bytes).toString('hex'));
    this.mutations = deps.mutations ?? createMutationLimiter({ limit: DEFAULT_MAX_CONCURRENT_DOCKER_MUTATIONS });
  }

  /**
   * `plannedTask`: the task record the plan was made from, if the caller has it. Actions use only its ARN,
   * family, version and spec, which never change for an ARN, so it saves reading the task again.
   * `signal`: the reconcile's; it reaches every Docker call and every wait of the action.
   */
  async apply(
    taskArn: string,
    action: ContainerAction,
    plannedTask?: TaskRecord,
    signal: AbortSignal = new AbortController().signal,
    origin?: WriteOrigin,
  ): Promise<void> {
    // Writes carry the reconcile's origin (the runtime does not wake the key for its own writes).
    const store = origin === undefined ? this.deps.store : this.deps.store.writerFor(origin);
    switch (action.kind) {
      case 'record':
        this.releasePortsOfStopped(action.observation);
        store.recordObservation(action.observation);
        this.logAdmission(taskArn, action.observation);
        return;
      case 'setup-task-cgroup':
        return this.setupTaskCgroup(this.requireTask(taskArn, plannedTask));
      case 'create-volume':
        return this.createVolume(store, this.requireTask(taskArn, plannedTask), action.volume, signal);
      case 'create':
        return this.create(
          store,
          this.requireTask(taskArn, plannedTask),
          action.container,
          action.startFollows === true,
          signal,
        );
      case 'start':
        return this.start(store, this.requireTask(taskArn, plannedTask), action.container, signal);
      case 'stop':
        return this.stop(store, taskArn, action.container, action.graceSec, signal);
      case 'inspect':
        // A change reaches the loop through the view's notification; the runtime re-plans after it anyway.
        await this.deps.view.refresh(action.dockerId);
        return;
    }
  }

  private requireTask(taskArn: string, plannedTask: TaskRecord | undefined): TaskRecord {
    if (plannedTask !== undefined) return plannedTask;
    const task = this.deps.store.getTask(taskArn);
    if (!task) throw new CannotCreateContainerError(`task ${taskArn} is no longer in the store`);
    return task;
  }

  private setupTaskCgroup(task: TaskRecord): void {
    this.deps.cgroups.ensure({
      taskId: taskIdFromArn(task.arn),
      cpuVcpu: task.spec.cpuVcpu,
      containerCpuUnits: task.spec.containers.map((c) => c.cpuUnits),
      memoryMiB: task.spec.memoryMiB,
      ...(this.deps.taskPidsLimit === undefined ? {} : { pidsLimit: this.deps.taskPidsLimit }),
    });
  }

  private async createVolume(
    store: DesiredStateStore,
    task: TaskRecord,
    volumeName: string,
    signal: AbortSignal,
  ): Promise<void> {
    const spec = task.spec.volumes.find((v) => v.name === volumeName);
    if (!spec || spec.type === 'unsupported') {
      throw new CannotCreateContainerError(`volume ${volumeName} cannot be provided on this host`);
    }
    const shared = spec.type === 'docker' && spec.scope === 'shared';
    // Shared volumes keep their own name; task volumes are `ecs-<family>-<version>-<volName>-<hex>`, reused
    // once recorded so a retried create never makes a second one (fact sheet 3.6).
    const dockerName = shared
      ? spec.name
      : (recordedVolumeFor(task, spec, this.deps.store.listVolumes())?.name ??
        `${taskVolumePrefix(task, volumeName)}${this.randomHex(10)}`);
    const driver = spec.type === 'docker' ? spec.driver : 'local';
    const labels = {
      ...(spec.type === 'docker' ? spec.labels : {}),
      [LABEL_TASK_ARN]: task.arn,
      [LABEL_CLUSTER]: this.deps.cluster,
      'com.amazonaws.ecs.volume-name': volumeName,
    };
    if (!(await this.deps.engine.inspectVolume(dockerName, { signal }))) {
      await this.mutations.run(
        () =>
          this.deps.engine.createVolume(
            { name: dockerName, driver, driverOpts: spec.type === 'docker' ? spec.driverOpts : {}, labels },
            { signal },
          ),
        signal,
      );
    }
    store.putVolume({
      name: dockerName,
      ...(shared ? {} : { taskArn: task.arn }),
      scope: shared ? 'shared' : 'task',
      driver,
      createdAtMs: this.deps.clock.nowMs(),
    });
  }

  private async create(
    store: DesiredStateStore,
    task: TaskRecord,
    containerName: string,
    startFollows: boolean,
    signal: AbortSignal,
  ): Promise<void> {
    const spec = findContainer(task.spec, containerName);
    const records = this.deps.store.listContainers(task.arn);
    const record = records.find((c) => c.name === containerName);
    // A name recorded earlier (by ecsd before names were derived, or observed since) is kept; otherwise the
    // derived name is the same on every attempt, so an agent killed mid-create meets its container again
    // as a 409 Conflict below and adopts it instead of creating a duplicate (fact sheet 4.10).
    const dockerName =
      record?.dockerName ?? dockerContainerName(task.spec, containerName, stableNameSuffix(task, containerName));
    // A recorded name may already exist in Docker (the agent died mid-create): adopt it. A derived name that
    // exists is found by the create's conflict instead, so the common path saves this inspect.
    const adopted = record?.dockerName ? await this.deps.engine.inspectContainer(dockerName, { signal }) : undefined;
    if (adopted) {
      await this.afterCreate(adopted.id);
      return;
    }
    let body: ContainerCreateBody;
    const allocated: Array<{ port: number; protocol: TransportProtocol }> = [];
    try {
      body = buildCreateBody({
        task: task.spec,
        container: spec,
        cluster: this.deps.cluster,
        hostPorts: this.allocateHostPorts(spec, allocated),
        volumeNames: this.volumeNames(task),
        dockerIdsByName: this.dockerIdsByName(task.arn, records),
        // Only a task with limits can have a cgroup; asking costs stat calls.
        ...(hasTaskLimits(task.spec) && this.deps.cgroups.exists(taskIdFromArn(task.arn))
          ? { taskCgroupParent: this.deps.cgroups.parentFor(taskIdFromArn(task.arn)) }
          : {}),
      });
      // HostConfig.Mounts does not create a missing bind source as Binds did: the agent does (0755).
      ensureBindMountSources(bindMountSources(task.spec, spec));
    } catch (error) {
      this.releasePorts(allocated);
      throw this.failContainer(store, task.arn, containerName, asCreateError(error));
    }
    let id: string;
    try {
      // The create timeout starts once a mutation slot is ours: waiting in line is not Docker being slow.
      id = await this.mutations.run(
        () => this.deps.engine.createContainer(dockerName, body, { timeoutMs: this.deps.createTimeoutMs, signal }),
        signal,
      );
    } catch (error) {
      this.releasePorts(allocated);
      if (isEcsdError(error) && error.context['conflict'] === true) {
        const existing = await this.deps.engine.inspectContainer(dockerName, { signal });
        if (existing) {
          await this.afterCreate(existing.id);
          return;
        }
      }
      // A cancelled reconcile (shutdown) ends nothing: the next start of the agent carries on.
      if (signal.aborted) throw error;
      if (await engineUnavailable(this.deps.engine, error, signal))
        throw waitForEngine(store, this.deps.logger, task.arn, error);
      const failure =
        error instanceof DockerTimeoutError
          ? transitionTimedOut('created', this.deps.createTimeoutMs, error)
          : asCreateError(error);
      throw this.failContainer(store, task.arn, containerName, failure);
    }
    // The start that follows inspects the container once it is running (even if the start fails), so the
    // view learns it there; an inspect of the CREATED state in between would be one Docker call for nothing.
    // Until then only this executor knows the ID: the start picks it up from here.
    if (startFollows) this.createdIds.set(containerKey(task.arn, containerName), id);
    else await this.afterCreate(id);
  }

  /**
   * The view learns the new container now, so the next plan sees it CREATED and records its ID with the
   * status (the planner adopts IDs from the view). Writing the ID here as well would be a store transaction
   * per container for nothing: crash safety rests on the derived name (see create).
   */
  private async afterCreate(id: string): Promise<void> {
    await this.deps.view.refresh(id);
  }

  private async start(
    store: DesiredStateStore,
    task: TaskRecord,
    containerName: string,
    signal: AbortSignal,
  ): Promise<void> {
    const id = this.dockerIdOf(task.arn, containerName);
    try {
      // The informer counts the container as being mutated from here on, while the start waits for its turn
      // too: the create's own event, arriving meanwhile, is then covered by the inspect after the start
      // instead of costing one of its own (in a launch storm the wait for the bound outlasts the hint timer).
      await this.deps.view.withMutation(id, () =>
        this.mutations.run(
          () => this.deps.engine.startContainer(id, { timeoutMs: this.deps.startTimeoutMs, signal }),
          signal,
        ),
      );
    } catch (error) {
      if (signal.aborted) throw error;
      if (await engineUnavailable(this.deps.engine, error, signal))
        throw waitForEngine(store, this.deps.logger, task.arn, error);
      const failure =
        error instanceof DockerTimeoutError
          ? transitionTimedOut('started', this.deps.startTimeoutMs, error)
          : isEcsdError(error)
            ? error
            : new CannotStartContainerError(String(error), { cause: error });
      throw this.failContainer(store, task.arn, containerName, failure);
    }
  }

  /**
   * docker stop, retried by the runtime with backoff on transient errors; after MAX_STOP_ATTEMPTS the
   * container is marked STOPPED anyway if Docker still answers a ping (fact sheet 4.3, 4.6), so one
   * unkillable container cannot hold its task forever. A container that is gone is simply re-observed.
   */
  private async stop(
    store: DesiredStateStore,
    taskArn: string,
    containerName: string,
    graceSec: number,
    signal: AbortSignal,
  ): Promise<void> {
    const id = this.dockerIdOf(taskArn, containerName);
    const attemptKey = containerKey(taskArn, containerName);
    try {
      // Not under the mutation bound: a stop mostly waits out its grace period, and upstream stops every
      // container at once.
      await this.deps.view.withMutation(id, () =>
        this.deps.engine.stopContainer(id, graceSec, {
          timeoutMs: graceSec * 1000 + this.deps.stopClientSlackMs,
          signal,
        }),
      );
      this.stopAttempts.delete(attemptKey);
    } catch (error) {
      if (error instanceof ContainerVanishedError) {
        this.stopAttempts.delete(attemptKey);
        return;
      }
      const attempts = (this.stopAttempts.get(attemptKey) ?? 0) + 1;
      this.stopAttempts.set(attemptKey, attempts);
      if (attempts < MAX_STOP_ATTEMPTS || !(await engineAnswers(this.deps.engine, signal))) throw error;
      this.stopAttempts.delete(attemptKey);
      this.deps.logger.error('container did not stop; marking it STOPPED', {
        taskArn,
        container: containerName,
        attempts,
        error,
      });
      store.recordObservation({
        taskArn,
        containers: [
          {
            name: containerName,
            patch: {
              knownStatus: 'STOPPED',
              reason: isEcsdError(error) ? error.toReason() : `CannotStopContainerError: ${String(error)}`,
            },
          },
        ],
      });
      return;
    }
  }

  private dockerIdOf(taskArn: string, containerName: string): string {
    const key = containerKey(taskArn, containerName);
    const created = this.createdIds.get(key);
    if (created !== undefined) {
      this.createdIds.delete(key);
      return created;
    }
    const observed = this.deps.view.byTask(taskArn).find((c) => c.containerName === containerName);
    const id = observed?.id ?? this.deps.store.listContainers(taskArn).find((c) => c.name === containerName)?.dockerId;
    if (!id) throw new CannotStartContainerError(`container ${containerName} has no Docker container yet`);
    return id;
  }

  /** Records a container-ending failure as its reason and desired STOPPED (fact sheet 4.6), then returns it to throw. */
  private failContainer(store: DesiredStateStore, taskArn: string, containerName: string, error: EcsdError): EcsdError {
    this.deps.logger.warn('container transition failed', { taskArn, container: containerName, error });
    store.recordObservation({
      taskArn,
      containers: [{ name: containerName, patch: { desiredStatus: 'STOPPED', reason: error.toReason() } }],
    });
    return error;
  }

  /** A container reaching STOPPED gives its host ports back to the allocator (Docker has released them). */
  /**
   * Host resource admission (issue 13) at info: the planner puts `waitingFor` in a record only when the text
   * changes, so a task waiting for the same thing is logged once, not on every reconcile.
   */
  private logAdmission(taskArn: string, observation: TaskObservation): void {
    const patch = observation.task;
    if (patch === undefined) return;
    // A pull's waiting text moves with its progress: the images loop logs the pull itself (per layer milestone).
    if (patch.waitingFor !== undefined && isPullWait(patch.waitingFor)) {
      this.deps.logger.debug('task waits for an image pull', { taskArn, waitingFor: patch.waitingFor });
      return;
    }
    if (patch.waitingFor !== undefined && patch.waitingFor !== '') {
      this.deps.logger.info('task waits for host resources', { taskArn, waitingFor: patch.waitingFor });
    }
    // Admitted after waiting (or left the line): said once. A task admitted at once needs no line of its own.
    // A cleared pull wait is not admission news: it comes with the pull stop time.
    if (patch.waitingFor === '' && patch.pullStoppedAtMs === undefined) {
      this.deps.logger.info('task no longer waits for host resources', {
        taskArn,
        admitted: patch.admittedAtMs !== undefined,
      });
    }
  }

  private releasePortsOfStopped(observation: TaskObservation): void {
    const stopped = (observation.containers ?? []).filter((c) => c.patch.knownStatus === 'STOPPED');
    if (stopped.length === 0) return;
    const records = this.deps.store.listContainers(observation.taskArn);
    for (const { name } of stopped) {
      for (const binding of records.find((r) => r.name === name)?.portBindings ?? []) {
        this.deps.ports.release(binding.hostPort, binding.protocol);
      }
    }
  }

  private allocateHostPorts(
    spec: ContainerSpec,
    allocated: Array<{ port: number; protocol: TransportProtocol }>,
  ): Map<string, number> {
    const hostPorts = new Map<string, number>();
    for (const mapping of spec.portMappings) {
      if (mapping.containerPortRange !== undefined) {
        const [from, to] = mapping.containerPortRange.split('-').map(Number) as [number, number];
        const count = to - from + 1;
        const first = this.deps.ports.allocateRange(count, mapping.protocol);
        for (let i = 0; i < count; i++) {
          allocated.push({ port: first + i, protocol: mapping.protocol });
          hostPorts.set(`${from + i}/${mapping.protocol}`, first + i);
        }
        continue;
      }
      if (mapping.containerPort === undefined) continue;
      const key = `${mapping.containerPort}/${mapping.protocol}`;
      if (mapping.hostPort !== undefined && mapping.hostPort > 0) {
        hostPorts.set(key, mapping.hostPort);
        continue;
      }
      const port = this.deps.ports.allocate(mapping.protocol);
      allocated.push({ port, protocol: mapping.protocol });
      hostPorts.set(key, port);
    }
    return hostPorts;
  }

  private releasePorts(allocated: Array<{ port: number; protocol: TransportProtocol }>): void {
    for (const { port, protocol } of allocated) this.deps.ports.release(port, protocol);
  }

  /** Volume spec name → Docker volume name: shared volumes by their own name, task volumes as recorded. */
  private volumeNames(task: TaskRecord): Map<string, string> {
    const names = new Map<string, string>();
    const volumes = this.deps.store.listVolumes();
    for (const spec of task.spec.volumes) {
      const shared = spec.type === 'docker' && spec.scope === 'shared';
      const name = shared ? spec.name : recordedVolumeFor(task, spec, volumes)?.name;
      if (name) names.set(spec.name, name);
    }
    return names;
  }

  private dockerIdsByName(taskArn: string, records: readonly ContainerRecord[]): Map<string, string> {
    const ids = new Map<string, string>();
    for (const record of records) {
      if (record.dockerId) ids.set(record.name, record.dockerId);
    }
    for (const observed of this.deps.view.byTask(taskArn)) {
      if (observed.containerName) ids.set(observed.containerName, observed.id);
    }
    return ids;
  }
}

function containerKey(taskArn: string, containerName: string): string {
  return `${taskArn}\n${containerName}`;
}

function findContainer(task: TaskSpec, name: string): ContainerSpec {
  const spec = task.containers.find((c) => c.name === name);
  if (!spec) throw new CannotCreateContainerError(`container ${name} is not part of task ${task.arn}`);
  return spec;
}

/** A timed-out create/start ends the container (fact sheet 4.6), with upstream's wording of the reason. */
function transitionTimedOut(transition: 'created' | 'started', timeoutMs: number, cause: unknown): EcsdError {
  return new DockerTimeoutError(
    `Could not transition to ${transition}; timed out after waiting ${formatGoDuration(timeoutMs)}`,
    { errorClass: 'terminal', cause },
  );
}

function asCreateError(error: unknown): EcsdError {
  if (isEcsdError(error)) return error;
  return new CannotCreateContainerError(error instanceof Error ? error.message : String(error), { cause: error });
}

/** Go's time.Duration String() (`3m0s`, `1m30.5s`, `500ms`), as upstream reasons print timeouts. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${trimZeros(ms.toFixed(3))}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = trimZeros(((ms % 60_000) / 1000).toFixed(3));
  if (h > 0) return `${h}h${m}m${seconds}s`;
  if (m > 0) return `${m}m${seconds}s`;
  return `${seconds}s`;
}

function trimZeros(fixed: string): string {
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}
