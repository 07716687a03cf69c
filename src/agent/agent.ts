/**
 * The agent's wiring: the Docker client is checked (fact sheet 13: an engine that does not answer is
 * recoverable, one too old is terminal), then every part is built and handed to the manager, which starts
 * them in its phase order (store → informer → sources → loops → reporter → servers) and stops them in
 * reverse under one deadline. Task containers are never stopped by a shutdown.
 */
import { readFileSync } from 'node:fs';
import { countWaiting, hostCapacity } from '../../reconcilers/containers/admission.js';
import { ContainersExecutor } from '../../reconcilers/containers/executor.js';
import { createImagePresence } from '../../reconcilers/containers/image-presence.js';
import { createContainersLoop } from '../../reconcilers/containers/loop.js';
import { createImagesLoop } from '../../reconcilers/images/loop.js';
import { createOrphansLoop } from '../../reconcilers/orphans/loop.js';
import { createMutationLimiter } from '../../reconcilers/runtime/index.js';
import type { Clock } from '../clock.js';
import type { AgentConfig } from '../config/index.js';
import { createDockerEngine } from '../docker/engine.js';
import { createInformer } from '../docker/informer.js';
import { createPullAuth } from '../docker/pull-auth.js';
import { parseEngineAuth } from '../docker/registry-auth.js';
import { type DockerEngine, type EngineInfo, LABEL_CLUSTER, LABEL_TASK_ARN } from '../docker/types.js';
import { loggingSink, OutboxReporter } from '../ecs/reporter.js';
import { isEcsdError } from '../errors.js';
import { isHostPortFree } from '../host/port-probe.js';
import { HostPortAllocator, parseIpLocalPortRange } from '../host/ports.js';
import { canCreateCgroupRoot, createCgroupV1Manager } from '../host/task-cgroup.js';
import type { Logger } from '../logging/types.js';
import { collectProcessMetrics } from '../metrics/process.js';
import { createMetricsRegistry, type MetricsRegistry } from '../metrics/registry.js';
import { type MetricsServer, startMetricsServer } from '../metrics/server.js';
import type { TaskPolicy } from '../model/task-policy.js';
import { LocalTaskSource } from '../sources/local/local-task-source.js';
import { openStore } from '../store/index.js';
import type { DesiredStateStore } from '../store/records.js';
import { addControlPlane } from './control-plane.js';
import { AgentStartError } from './errors.js';
import { addImageCleanup } from './image-cleanup.js';
import { Manager, type ManagerState } from './manager.js';
import { SourcesReady } from './sources-ready.js';

/** How long shutdown waits for in-flight reconciles before aborting them (upstream: engine disable ≤ 5 s). */
const SHUTDOWN_DEADLINE_MS = 5_000;
/** Safety-net rescan of the task directory; changes normally arrive through fs.watch within ~50 ms. */
const LOCAL_SOURCE_POLL_MS = 5_000;
/** Client deadline on top of a stop's grace period (fact sheet 4.3). */
const STOP_CLIENT_SLACK_MS = 2 * 60_000;

export type AgentState = 'starting' | 'running' | 'stopping' | 'stopped';

export interface RunningAgent {
  readonly store: DesiredStateStore;
  state(): AgentState;
  metricsPort(): number;
  stop(): Promise<void>;
}

export interface StartAgentOptions {
  config: AgentConfig;
  logger: Logger;
  clock: Clock;
}

export async function startAgent({ config, logger, clock }: StartAgentOptions): Promise<RunningAgent> {
  const metrics = createMetricsRegistry();
  collectProcessMetrics(metrics);
  const engine = createDockerEngine({
    dockerHost: config.dockerHost,
    logger: logger.child({ module: 'docker' }),
    onCall: (op, durationMs, ok) => metrics.docker.observe(op, durationMs, ok),
  });
  const info = await checkEngine(engine, config, logger);

  const manager = new Manager({
    logger: logger.child({ module: 'manager' }),
    clock,
    shutdownDeadlineMs: SHUTDOWN_DEADLINE_MS,
  });
  const sourcesReady = new SourcesReady();

  const { store } = openStore({ dataDir: config.dataDir, checkpoint: config.checkpoint, logger });
  manager.add('store', {
    name: 'store',
    start: () => claimInstance(store, config.cluster),
    stop: () => store.close(),
  });

  const informer = createInformer({
    engine,
    // Only this cluster's task containers: another agent's (a second ecsd on the host, every agent of a test run on
    // one engine) are neither adopted nor relisted and inspected at every start and resync.
    labelFilter: [LABEL_TASK_ARN, `${LABEL_CLUSTER}=${config.cluster}`],
    resyncIntervalMs: config.resyncIntervalMs,
    logger: logger.child({ module: 'docker-informer' }),
    clock,
    onRelist: (durationMs) => metrics.docker.observeRelist(durationMs),
    // Long enough that the executor's own refresh after create/start/stop is sent before the hint fires,
    // so the hint is recognised as already covered (one inspect per transition instead of two).
    coalesceMs: 50,
  });
  const view = informer.containers;
  manager.add('informer', { name: 'docker-informer', start: () => informer.start(), stop: () => informer.stop() });

  const cgroups = createCgroupV1Manager({ cgroupRoot: config.cgroupPath, cpuPeriodMs: config.cgroupCpuPeriodMs });
  const taskCgroupEnabled = probeTaskCgroups(config, info.cgroupVersion, logger);
  const taskPolicy = {
    disablePrivileged: config.disablePrivileged,
    allowSensitiveHostMounts: config.allowSensitiveHostMounts,
    dataDir: config.dataDir,
  };
  // One desired-state source: the task directory (local mode) or ECS itself (registration + ACS), as upstream
  // runs when no directory is given.
  const controlPlane = config.tasksDir
    ? undefined
    : await addControlPlane({
        manager,
        store,
        config,
        engineInfo: info,
        taskCgroupEnabled,
        metrics,
        sourcesReady,
        taskPolicy,
        logger,
        clock,
      });
  if (config.tasksDir)
    addLocalSource(config.tasksDir, { manager, store, config, logger, clock, sourcesReady, taskPolicy, metrics });
  const ports = new HostPortAllocator({
    range: config.dynamicHostPortRange ?? readLocalPortRange(),
    reserved: new Set([...config.reservedPorts, config.metricsAddress.port]),
    isFree: (port, protocol) => isHostPortFree(port, protocol),
  });
  // One bound on Docker mutations across every loop: a launch storm queues here instead of in dockerd.
  const mutations = createMutationLimiter({
    limit: config.maxConcurrentDockerMutations,
    metrics: metrics.reconcile.dockerMutations,
  });
  const executor = new ContainersExecutor({
    engine,
    view,
    store,
    cgroups,
    ports,
    mutations,
    logger: logger.child({ module: 'containers' }),
    clock,
    cluster: config.cluster,
    createTimeoutMs: config.containerCreateTimeoutMs,
    startTimeoutMs: config.containerStartTimeoutMs,
    stopClientSlackMs: STOP_CLIENT_SLACK_MS,
    ...(config.taskPidsLimit ? { taskPidsLimit: config.taskPidsLimit } : {}),
  });
  // What every loop shares of the runtime: the store's change feed, the informer's keyed changes, metrics.
  const runtimeFor = (loop: string, maxConcurrentReconciles: number) => ({
    store,
    informer,
    clock,
    logger: logger.child({ module: `${loop}-loop` }),
    metrics,
    pollIntervalMs: config.pollIntervalMs,
    resyncIntervalMs: config.resyncIntervalMs,
    maxConcurrentReconciles,
    maxQueueDepth: 10_000,
    maxBackoffMs: 30_000,
  });
  const stopGraceSec = Math.max(1, Math.round(config.containerStopTimeoutMs / 1000));
  // Shared by both loops: the images loop forgets a reference after pulling it, so creates see it at once.
  const imagePresence = createImagePresence({ engine, nowMs: () => clock.nowMs() });
  const pullSettings = {
    behavior: config.imagePullBehavior,
    dependentContainersUpfront: config.pullDependentContainersUpfront,
  };
  // ECS_ENGINE_AUTH_TYPE/DATA parsed once (a bad value is a ConfigError at start); credentials never logged.
  const registryAuth = parseEngineAuth(config.engineAuthType, config.engineAuthData);
  logger.info('registry credentials', registryAuth.toJSON());
  const imagesLoop = createImagesLoop({
    store,
    presence: imagePresence,
    settings: pullSettings,
    nowMs: () => clock.nowMs(),
    // ECSD_PREPULL_IMAGES: demands of no task, served by one pull after this start (the loop's own path).
    prepull: { images: config.prepullImages, agentStartMs: clock.nowMs() },
    runner: {
      engine,
      refreshImage: (ref) => informer.images.refresh(ref),
      store,
      invalidatePresence: (ref) => imagePresence.invalidate(ref),
      mutations,
      metrics: metrics.images,
      logger: logger.child({ module: 'images' }),
      clock,
      // ECR tokens in ECS mode; ECS_ENGINE_AUTH_* otherwise (src/docker/pull-auth.ts).
      authFor: createPullAuth({
        engineAuth: registryAuth,
        ...(controlPlane === undefined ? {} : { ecr: controlPlane.ecrAuth }),
      }),
      pullTimeoutMs: config.imagePullTimeoutMs,
      inactivityTimeoutMs: config.imagePullInactivityTimeoutMs,
    },
    runtime: runtimeFor('images', 4),
  });
  const containersLoop = createContainersLoop({
    store,
    view,
    images: imagePresence,
    cgroups,
    executor,
    settings: {
      defaultStopTimeoutSec: stopGraceSec,
      taskCgroupEnabled,
      pulls: pullSettings,
      // Host resource admission (issue 13): the capacity registration reports, less what is reserved.
      hostCapacity: hostCapacity({
        ncpu: info.ncpu,
        memTotalBytes: info.memTotalBytes,
        reservedMemoryMiB: config.reservedMemoryMiB,
        reservedPorts: config.reservedPorts,
        reservedPortsUdp: config.reservedPortsUdp,
      }),
    },
    nowMs: () => clock.nowMs(),
    runtime: runtimeFor('containers', config.maxConcurrentReconciles),
  });
  metrics.admission.setWaitingSource(() => countWaiting(store.listTasks()));
  const orphansLoop = createOrphansLoop({
    store,
    view,
    engine,
    cluster: config.cluster,
    sourcesReady: () => sourcesReady.allReady(),
    stopGraceSec,
    stopClientSlackMs: STOP_CLIENT_SLACK_MS,
    logger: logger.child({ module: 'orphans' }),
    runtime: runtimeFor('orphans', 2),
  });
  manager.add('loops', {
    name: 'containers-loop',
    start: () => {
      // Ports held by containers that survived an agent restart are not handed out again.
      for (const observed of view.all()) {
        if (observed.running) for (const b of observed.portBindings) ports.markTaken(b.hostPort, b.protocol);
      }
      containersLoop.start();
    },
    stop: (deadlineMs) => containersLoop.stop(deadlineMs),
  });
  manager.add('loops', {
    name: 'images-loop',
    start: () => imagesLoop.start(),
    stop: (deadlineMs) => imagesLoop.stop(deadlineMs),
  });
  addImageCleanup({
    manager,
    config,
    engine,
    store,
    informer,
    dockerRootDir: info.dockerRootDir,
    invalidatePresence: (ref) => imagePresence.invalidate(ref),
    sourcesReady: () => sourcesReady.allReady(),
    metrics: metrics.images,
    logger: logger.child({ module: 'image-cleanup' }),
    clock,
    mutations,
    runtime: runtimeFor('image-cleanup', 1),
  });
  manager.add('loops', {
    name: 'orphans-loop',
    start: () => {
      orphansLoop.start();
      // Deletions wait for sources-ready: when the gate opens, every orphan is looked at again.
      sourcesReady.onReady(() => {
        orphansLoop.syncOnce().catch((error: unknown) => logger.debug('orphans resync skipped', { error }));
      });
    },
    stop: (deadlineMs) => orphansLoop.stop(deadlineMs),
  });

  const reporter = new OutboxReporter({
    store,
    sink: controlPlane?.sink ?? loggingSink(logger.child({ module: 'reporter' }), config.cluster),
    clock,
    logger: logger.child({ module: 'reporter' }),
  });
  manager.add('reporter', { name: 'reporter', start: () => reporter.start(), stop: () => reporter.stop() });

  let metricsServer: MetricsServer | undefined;
  manager.add('servers', {
    name: 'metrics-server',
    start: async () => {
      metricsServer = await startMetricsServer({
        registry: metrics,
        host: config.metricsAddress.host,
        port: config.metricsAddress.port,
        logger,
      });
    },
    stop: () => metricsServer?.close(),
  });

  try {
    await manager.start();
  } catch (error) {
    // The manager has stopped what it started; a store opened for nothing is closed too (idempotent).
    store.close();
    throw error;
  }
  logger.info('ecsd ready', {
    cluster: config.cluster,
    ...(config.tasksDir
      ? { tasksDir: config.tasksDir }
      : { mode: 'ecs', containerInstanceArn: controlPlane?.containerInstanceArn() }),
    tasks: store.listTasks().length,
    metrics: `http://${config.metricsAddress.host}:${metricsServer?.port}/metrics`,
    checkpoint: store.durable,
  });
  return {
    store,
    state: () => AGENT_STATE_OF[manager.state],
    metricsPort: () => metricsServer?.port ?? 0,
    stop: () => manager.stop(),
  };
}

interface LocalSourceDeps {
  manager: Manager;
  store: DesiredStateStore;
  config: AgentConfig;
  logger: Logger;
  clock: Clock;
  sourcesReady: SourcesReady;
  taskPolicy: TaskPolicy;
  metrics: MetricsRegistry;
}

/** Local mode: the task-definition directory is the one desired-state source. */
function addLocalSource(tasksDir: string, deps: LocalSourceDeps): void {
  const { manager, store, config, logger, clock, sourcesReady } = deps;
  const localSourceReady = sourcesReady.register('local');
  const source = new LocalTaskSource({
    dir: tasksDir,
    store,
    logger: logger.child({ module: 'local-source' }),
    clock,
    cluster: config.cluster,
    // fs.watch is the trigger; this poll of the directory is only the safety net for missed events.
    pollIntervalMs: LOCAL_SOURCE_POLL_MS,
    policy: deps.taskPolicy,
    storeWriteErrors: deps.metrics.storeWriteErrors,
  });
  manager.add('sources', {
    name: 'local-source',
    start: async () => {
      await source.start();
      // Ready once its desired state is in the store: a first write that failed (disk full) is retried in
      // the background, and nothing may be judged an orphan before it lands.
      void source.whenReady().then(() => localSourceReady.markReady());
    },
    stop: () => source.stop(),
  });
}

const AGENT_STATE_OF: Record<ManagerState, AgentState> = {
  idle: 'starting',
  starting: 'starting',
  running: 'running',
  stopping: 'stopping',
  stopped: 'stopped',
};

/**
 * The engine must answer and speak an API the agent supports: the version is negotiated once here (every
 * later call goes to `/v1.NN/`). An engine that does not answer is recoverable (a supervisor restarts the
 * agent); one outside the supported versions is terminal (fact sheet 13).
 */
async function checkEngine(engine: DockerEngine, config: AgentConfig, logger: Logger): Promise<EngineInfo> {
  try {
    await engine.negotiate();
  } catch (error) {
    if (isEcsdError(error) && error.context['refused'] === true) {
      throw new AgentStartError(error.message, 'terminal', error);
    }
    throw new AgentStartError(`Docker engine at ${config.dockerHost} does not answer`, 'recoverable', error);
  }
  const info = await engine.info();
  logger.info('Docker engine', {
    version: info.serverVersion,
    api: info.apiVersion,
    negotiatedApi: info.negotiatedApiVersion,
    cgroup: info.cgroupVersion,
  });
  return info;
}

/** Saved state for another cluster is fatal, not silently discarded (fact sheet 4.10). */
function claimInstance(store: DesiredStateStore, cluster: string): void {
  const instance = store.getInstance();
  if (instance && instance.cluster !== cluster) {
    throw new AgentStartError(
      `saved state belongs to cluster "${instance.cluster}" but ECS_CLUSTER is "${cluster}"`,
      'terminal',
    );
  }
  if (!instance) store.saveInstance({ cluster });
}

/**
 * Task cpu/memory limits need the `/ecs` cgroup root. Upstream turns the feature off silently when the root
 * cannot be created, unless ECS_ENABLE_TASK_CPU_MEM_LIMIT was set explicitly, which makes it fatal (9).
 */
function probeTaskCgroups(config: AgentConfig, cgroupVersion: '1' | '2', logger: Logger): boolean {
  if (!config.enableTaskCpuMemLimit) return false;
  const ok = cgroupVersion === '1' && canCreateCgroupRoot(config.cgroupPath);
  if (ok) return true;
  const why =
    cgroupVersion === '1'
      ? `cannot create the /ecs cgroup under ${config.cgroupPath}`
      : 'the engine uses cgroup v2, which ecsd does not manage yet';
  if (config.enableTaskCpuMemLimitExplicit) {
    throw new AgentStartError(`ECS_ENABLE_TASK_CPU_MEM_LIMIT=true but ${why}`, 'terminal');
  }
  logger.warn('task-level cpu/memory limits disabled', { reason: why });
  return false;
}

function readLocalPortRange(): { startPort: number; endPort: number } {
  let text = '';
  try {
    text = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
  } catch {
    // parseIpLocalPortRange falls back to upstream's 49153-65535.
  }
  return parseIpLocalPortRange(text);
}
