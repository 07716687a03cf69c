/**
 * Registering the container instance at start-up (fact sheet 1.4, 4.10, 13): RegisterContainerInstance with
 * the saved ARN when there is one, CreateCluster when the `default` cluster is missing, transient failures
 * retried 3 s → 192 s (×2, 20 % jitter) for up to 1 h, the attribute echo check, and the ARN and AZ saved.
 * Every failure that stops start-up is an AgentStartError whose kind picks the exit code: terminal (5) for
 * what a restart cannot fix, recoverable (1) for the rest.
 */
import { randomUUID } from 'node:crypto';
import type { Attribute, ContainerInstance } from '@aws-sdk/client-ecs';
import type { Clock } from '../clock.js';
import type { AgentConfig } from '../config/types.js';
import { AgentStartError, EcsApiError, errorMessage } from '../errors.js';
import type { Logger } from '../logging/types.js';
import type { DesiredStateStore, InstanceRecord } from '../store/records.js';
import { AGENT_VERSION, buildCommit } from '../version.js';
import { serviceCodeOf } from './api-errors.js';
import type { EngineFacts } from './capabilities.js';
import { type EcsApi, effectiveCluster } from './client.js';
import { registrationRequest } from './registration-request.js';

export const REGISTER_BACKOFF = { minMs: 3_000, maxMs: 192_000, multiplier: 2, jitter: 0.2 } as const;
/** How long transient failures are retried in-process before the agent exits 1 (v1.105.1; v1.73.1: none). */
export const REGISTER_RETRY_BUDGET_MS = 60 * 60 * 1000;

/** Service answers upstream retries in-process (fact sheet 1.4). */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'ServerException',
  'LimitExceededException',
]);
/** Service answers that end supervision (exit 5): a restart would send the same request. */
const TERMINAL_CODES: ReadonlySet<string> = new Set(['InvalidParameterException', 'ClientException']);

export interface RegistrationDeps {
  api: EcsApi;
  store: DesiredStateStore;
  config: AgentConfig;
  engine: EngineFacts;
  logger: Logger;
  clock: Clock;
  /** Jitter source in [0, 1); default Math.random. */
  random?: () => number;
  /** versionInfo; default ecsd's own version and build commit. */
  agentVersion?: string;
  agentHash?: string;
  /** For ecs.cpu-architecture; default process.arch. */
  arch?: string;
}

export async function registerInstance(deps: RegistrationDeps): Promise<InstanceRecord> {
  const { api, store, config, logger } = deps;
  const saved = store.getInstance();
  const savedArn = saved?.containerInstanceArn;
  const cluster = effectiveCluster(config);
  const agentVersion = deps.agentVersion ?? AGENT_VERSION;
  let request: ReturnType<typeof registrationRequest>;
  try {
    request = registrationRequest({
      config,
      engine: deps.engine,
      cluster,
      ...(savedArn === undefined ? {} : { containerInstanceArn: savedArn }),
      // One token for the whole sequence of attempts, so a retried call the backend already served is not a
      // second instance.
      clientToken: randomUUID(),
      agentVersion,
      agentHash: deps.agentHash ?? buildCommit(),
      arch: deps.arch ?? process.arch,
    });
  } catch (error) {
    throw asStartError(error);
  }

  logger.info(savedArn ? 'Re-registering container instance' : 'Registering container instance', {
    cluster,
    ...(savedArn ? { containerInstanceArn: savedArn } : {}),
  });
  let instance: ContainerInstance;
  try {
    instance = await withTransientRetry(deps, () => api.registerContainerInstance(request));
  } catch (error) {
    // Upstream creates the cluster only when ECS_CLUSTER was empty, i.e. for `default` (1.4).
    if (cluster === 'default' && serviceCodeOf(error) === 'ClusterNotFoundException') {
      logger.info('Cluster "default" does not exist; creating it');
      try {
        await withTransientRetry(deps, () => api.createCluster('default'));
        instance = await withTransientRetry(deps, () => api.registerContainerInstance(request));
      } catch (retryError) {
        throw asStartError(retryError);
      }
    } else {
      throw asStartError(error);
    }
  }

  checkAttributeEcho(request.attributes ?? [], instance.attributes ?? []);
  const containerInstanceArn = instance.containerInstanceArn as string;
  const availabilityZone = instance.attributes?.find((a) => a.name === 'ecs.availability-zone')?.value;
  const { clientToken: _token, ...registration } = request;
  const record: InstanceRecord = {
    ...saved,
    cluster: saved?.cluster ?? config.cluster,
    containerInstanceArn,
    ...(availabilityZone ? { availabilityZone } : {}),
    agentVersion,
    registration: registration as Record<string, unknown>,
  };
  store.saveInstance(record);
  logger.info('Registered container instance', {
    cluster,
    containerInstanceArn,
    ...(availabilityZone ? { availabilityZone } : {}),
  });
  return record;
}

/** Retries `fn` while it fails with a transient service answer, for up to REGISTER_RETRY_BUDGET_MS. */
async function withTransientRetry<T>(deps: RegistrationDeps, fn: () => Promise<T>): Promise<T> {
  const { clock, logger } = deps;
  const random = deps.random ?? Math.random;
  const deadlineMs = clock.nowMs() + REGISTER_RETRY_BUDGET_MS;
  let delayMs: number = REGISTER_BACKOFF.minMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const code = serviceCodeOf(error);
      const transient =
        (code !== undefined && TRANSIENT_CODES.has(code)) ||
        (error instanceof EcsApiError && error.errorClass === 'throttled');
      const waitMs = delayMs + random() * delayMs * REGISTER_BACKOFF.jitter;
      if (!transient || clock.nowMs() + waitMs > deadlineMs) throw error;
      logger.warn('Registration failed with a transient error; retrying', {
        attempt,
        retryInMs: Math.round(waitMs),
        error: errorMessage(error),
      });
      await clock.sleep(waitMs);
      delayMs = Math.min(REGISTER_BACKOFF.maxMs, delayMs * REGISTER_BACKOFF.multiplier);
    }
  }
}

/** Every attribute sent must come back with the same value (upstream's AttributeError, terminal). */
export function checkAttributeEcho(sent: readonly Attribute[], returned: readonly Attribute[]): void {
  const back = new Map(returned.map((a) => [a.name, a.value]));
  const wrong = sent.filter((a) => !back.has(a.name) || (back.get(a.name) ?? undefined) !== (a.value ?? undefined));
  if (wrong.length > 0) {
    throw new AgentStartError(
      `registration attributes not accepted as sent: ${wrong
        .map((a) => `${a.name}=${JSON.stringify(a.value ?? null)} (got ${JSON.stringify(back.get(a.name) ?? null)})`)
        .join(', ')}`,
      'terminal',
    );
  }
}

/** The exit mapping of fact sheet 1.4: InvalidParameterException and ClientException end supervision. */
function asStartError(error: unknown): AgentStartError {
  if (error instanceof AgentStartError) return error;
  const code = serviceCodeOf(error);
  const kind = code !== undefined && TERMINAL_CODES.has(code) ? 'terminal' : 'recoverable';
  return new AgentStartError(`container instance registration failed: ${errorMessage(error)}`, kind, error);
}
