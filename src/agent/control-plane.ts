/**
 * ECS mode's parts (no --tasks-dir, as upstream): the ECS API client, the container instance registration, the
 * ACS WebSocket source and the reporter's SubmitTaskStateChange sink. The AWS SDK is loaded here, through a
 * dynamic import, so local mode never pays for it (src/ecs/index.ts).
 *
 * Registration runs in the manager's `register` phase — after the store is open (the saved ARN is re-used),
 * before the informer and the loops start, as upstream registers before its engine init (fact sheet 13). The
 * ACS source is a desired-state source like the local directory: it writes to the store, and deletions wait for
 * its first payload or manifest (sources-ready).
 */
import type { Clock } from '../clock.js';
import type { AgentConfig } from '../config/index.js';
import { ConfigError } from '../config/index.js';
import { CredentialsManager } from '../credentials/manager.js';
import { type AwsCredentialIdentity, createEcrAuth, type EcrAuth } from '../docker/ecr-auth.js';
import type { EngineInfo } from '../docker/types.js';
import type { StateChangeSink } from '../ecs/reporter.js';
import type { Logger } from '../logging/types.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import type { TaskPolicy } from '../model/task-policy.js';
import type { DesiredStateStore } from '../store/records.js';
import { AGENT_VERSION, buildCommit } from '../version.js';
import type { Manager } from './manager.js';
import type { SourcesReady } from './sources-ready.js';

export interface ControlPlaneDeps {
  manager: Manager;
  store: DesiredStateStore;
  config: AgentConfig;
  engineInfo: EngineInfo;
  /** Whether the `/ecs` task cgroup root was created (backs the task-cpu-mem-limit capability). */
  taskCgroupEnabled: boolean;
  metrics: MetricsRegistry;
  sourcesReady: SourcesReady;
  taskPolicy: TaskPolicy;
  logger: Logger;
  clock: Clock;
}

export interface ControlPlane {
  /** The reporter's sink: SubmitTaskStateChange once registration has told which cluster the instance is in. */
  readonly sink: StateChangeSink;
  /** Task role and execution role credentials, in memory only (the endpoints and ECR pulls read them). */
  readonly credentials: CredentialsManager;
  /** ECR authorization tokens for pulls whose container names `registryAuthentication` type ecr. */
  readonly ecrAuth: EcrAuth;
  /** The container instance ARN once registered. */
  containerInstanceArn(): string | undefined;
}

/** The task's current execution-role credentials in the SDK's shape. */
function executionRoleIdentity(credentials: CredentialsManager, taskArn: string): AwsCredentialIdentity | undefined {
  const entry = credentials.forTask(taskArn, 'TaskExecution');
  if (entry === undefined) return undefined;
  const expiresAtMs = entry.expiration === '' ? Number.NaN : Date.parse(entry.expiration);
  return {
    accessKeyId: entry.accessKeyId,
    secretAccessKey: entry.secretAccessKey,
    ...(entry.sessionToken === '' ? {} : { sessionToken: entry.sessionToken }),
    ...(Number.isNaN(expiresAtMs) ? {} : { expiration: new Date(expiresAtMs) }),
  };
}

/** The region is mandatory in ECS mode (fact sheet 10): every endpoint and every signature names it. */
function requireRegion(config: AgentConfig): string {
  if (config.awsRegion) return config.awsRegion;
  throw new ConfigError('AWS_DEFAULT_REGION is required in ECS mode (without --tasks-dir)', {
    issues: [{ variable: 'AWS_DEFAULT_REGION', value: '', expected: 'the region of the ECS cluster, e.g. us-east-1' }],
  });
}

export async function addControlPlane(deps: ControlPlaneDeps): Promise<ControlPlane> {
  const { manager, store, config, engineInfo, metrics, logger, clock } = deps;
  const region = requireRegion(config);
  const [ecs, { AcsSource }] = await Promise.all([import('../ecs/index.js'), import('../sources/acs/index.js')]);
  const awsCredentials = ecs.awsCredentialsProvider(config);
  const agentHash = buildCommit();
  const api = ecs.createEcsApi({
    config,
    logger: logger.child({ module: 'ecs-api' }),
    clock,
    metrics: metrics.ecsApi,
    credentials: awsCredentials,
    agentVersion: AGENT_VERSION,
    agentHash,
  });
  const credentials = new CredentialsManager();
  // ECR pulls (fact sheet 7.2): the task's execution role from ACS, or the agent's own chain (never IMDS with
  // ECS_EXTERNAL). No agent-wide endpoint: upstream has only the per-container ecrAuthData.endpointOverride.
  const ecrAuth = createEcrAuth({
    credentialsFor: (taskArn) => executionRoleIdentity(credentials, taskArn),
    instanceCredentials: () => awsCredentials(),
    logger,
    clock,
  });
  const cluster = ecs.effectiveCluster(config);
  let registeredArn: string | undefined;
  let sink: StateChangeSink | undefined;

  manager.add('register', {
    name: 'registration',
    start: async () => {
      const instance = await ecs.registerInstance({
        api,
        store,
        config,
        engine: {
          serverVersion: engineInfo.serverVersion,
          apiVersion: engineInfo.negotiatedApiVersion,
          ncpu: engineInfo.ncpu,
          memTotalBytes: engineInfo.memTotalBytes,
          taskCgroupEnabled: deps.taskCgroupEnabled,
        },
        logger: logger.child({ module: 'registration' }),
        clock,
      });
      registeredArn = instance.containerInstanceArn;
      sink = ecs.ecsStateChangeSink({ api, cluster: instance.cluster, logger: logger.child({ module: 'reporter' }) });
    },
    stop: () => api.destroy(),
  });

  const acsReady = deps.sourcesReady.register('acs');
  let acs: InstanceType<typeof AcsSource> | undefined;
  manager.add('sources', {
    name: 'acs-source',
    start: () => {
      if (registeredArn === undefined) throw new Error('ACS source started before registration');
      acs = new AcsSource({
        store,
        credentialsManager: credentials,
        discoverEndpoint: async () => (await api.discoverPollEndpoint(registeredArn!)).endpoint,
        awsCredentials,
        region,
        cluster,
        containerInstanceArn: registeredArn,
        agentVersion: AGENT_VERSION,
        agentHash,
        dockerVersion: engineInfo.serverVersion,
        updatesEnabled: config.updatesEnabled,
        acceptInsecureCert: config.acceptInsecureCert,
        taskPolicy: deps.taskPolicy,
        logger,
        clock,
        metrics: metrics.acs,
      });
      acs.start();
      void acs.whenReady().then(() => acsReady.markReady());
    },
    stop: () => acs?.stop(),
  });

  return {
    sink: {
      submit(entry) {
        // The reporter starts after registration (a later phase), so this is only a guard.
        if (sink === undefined) return Promise.reject(new Error('not registered yet'));
        return sink.submit(entry);
      },
    },
    credentials,
    ecrAuth,
    containerInstanceArn: () => registeredArn,
  };
}
