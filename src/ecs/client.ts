/**
 * The ECS API client (fact sheet 1.1–1.3, 1.8): `@aws-sdk/client-ecs` configured as upstream configures its
 * own — endpoint from the region or ECS_BACKEND_HOST, a 42 s request timeout, `-k` turning certificate
 * checks off, upstream's User-Agent shape — behind the narrow `EcsApi` interface the rest of the agent uses.
 * Every call is counted in `ecs_agent_ecs_api_calls_total` and timed, and every failure comes back as an
 * `EcsApiError` whose class says terminal, transient or throttled.
 */
import { Agent as HttpsAgent } from 'node:https';
import {
  type ContainerInstance,
  CreateClusterCommand,
  DiscoverPollEndpointCommand,
  ECSClient,
  RegisterContainerInstanceCommand,
  type RegisterContainerInstanceCommandInput,
  SubmitAttachmentStateChangesCommand,
  type SubmitAttachmentStateChangesCommandInput,
  SubmitTaskStateChangeCommand,
  type SubmitTaskStateChangeCommandInput,
} from '@aws-sdk/client-ecs';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpRequest } from '@smithy/protocol-http';
import type {
  BuildHandler,
  BuildHandlerArguments,
  Endpoint,
  HandlerExecutionContext,
  MetadataBearer,
} from '@smithy/types';
import type { Clock } from '../clock.js';
import type { AgentConfig } from '../config/types.js';
import { ConfigError, EcsApiError } from '../errors.js';
import type { Logger } from '../logging/types.js';
import type { EcsApiMetrics, EcsApiOperation } from '../metrics/ecs-api.js';
import { metricResultFor, toEcsApiError } from './api-errors.js';
import { PollEndpointCache, type PollEndpoints } from './poll-endpoint-cache.js';

export type { PollEndpoints } from './poll-endpoint-cache.js';

/** Per-request round trip (fact sheet 1.1; v1.73.1 had 5 s). */
export const ECS_REQUEST_TIMEOUT_MS = 42_000;
/** Dial timeout (fact sheet 1.1). */
export const ECS_CONNECT_TIMEOUT_MS = 30_000;

/**
 * The public SDK model has no `clientToken` on RegisterContainerInstance; upstream's forked client sends one
 * (fact sheet 1.4), so ecsd adds it to the serialised body itself (see withBodyField).
 */
export type RegisterInstanceInput = RegisterContainerInstanceCommandInput & { clientToken?: string };

export interface EcsApi {
  /** The ACS/TCS endpoints for this instance; cached 12 h per ARN, a stale entry serves when the call fails. */
  discoverPollEndpoint(containerInstanceArn: string): Promise<PollEndpoints>;
  registerContainerInstance(input: RegisterInstanceInput): Promise<ContainerInstance>;
  /** Returns the new cluster's name. */
  createCluster(name: string): Promise<string>;
  submitTaskStateChange(payload: SubmitTaskStateChangeCommandInput): Promise<void>;
  submitAttachmentStateChanges(payload: SubmitAttachmentStateChangesCommandInput): Promise<void>;
  destroy(): void;
}

export interface EcsApiOptions {
  config: AgentConfig;
  logger: Logger;
  clock: Clock;
  metrics: EcsApiMetrics;
  credentials: AwsCredentialIdentityProvider;
  agentVersion: string;
  agentHash: string;
  /**
   * Attempts per call inside the SDK (its standard retry: throttling, 5xx and network errors, jittered).
   * Default 3, upstream's DiscoverPollEndpoint bound (1.3); state changes and registration retry on top with
   * their own backoff.
   */
  maxAttempts?: number;
}

/** The cluster the agent joins: ECS_CLUSTER, or `default` when empty (fact sheet 1.4). */
export function effectiveCluster(config: Pick<AgentConfig, 'cluster'>): string {
  return config.cluster === '' ? 'default' : config.cluster;
}

/** ECS_BACKEND_HOST as a URL; a bare host gets `https://` (fact sheet 1.1). */
export function backendEndpoint(backendHost: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(backendHost) ? backendHost : `https://${backendHost}`;
  try {
    return new URL(withScheme).toString();
  } catch (error) {
    throw new ConfigError(`ECS_BACKEND_HOST is not a usable URL: ${backendHost}`, {
      cause: error,
      issues: [{ variable: 'ECS_BACKEND_HOST', value: backendHost, expected: 'a host name or an http(s) URL' }],
    });
  }
}

/**
 * The endpoint URL in the SDK's parsed form: given as a string, the SDK parses it again on every call (~0.2 ms
 * of CPU a SubmitTaskStateChange).
 */
export function endpointOf(url: string): Endpoint {
  const parsed = new URL(url);
  return {
    protocol: parsed.protocol,
    hostname: parsed.hostname,
    ...(parsed.port === '' ? {} : { port: Number(parsed.port) }),
    path: parsed.pathname,
  };
}

/** Fact sheet 1.1's User-Agent shape, with ecsd's own version and commit. */
export function ecsUserAgent(agentVersion: string, agentHash: string, detailedOsFamily: string | undefined): string {
  return `Amazon ECS Agent - v${agentVersion} (${agentHash}) (linux; ${detailedOsFamily || 'LINUX'}) (+http://aws.amazon.com/ecs/)`;
}

export function createEcsApi(options: EcsApiOptions): EcsApi {
  const { config, clock, metrics } = options;
  if (!config.awsRegion) {
    throw new ConfigError('AWS_DEFAULT_REGION is required to talk to ECS', {
      issues: [{ variable: 'AWS_DEFAULT_REGION', value: '', expected: 'a region name such as us-west-2' }],
    });
  }
  const httpsAgent = new HttpsAgent({ keepAlive: true, rejectUnauthorized: !config.acceptInsecureCert });
  const client = new ECSClient({
    region: config.awsRegion,
    ...(config.backendHost ? { endpoint: endpointOf(backendEndpoint(config.backendHost)) } : {}),
    credentials: options.credentials,
    maxAttempts: options.maxAttempts ?? 3,
    // Pinned: AWS_DEFAULTS_MODE=auto in the host's environment would make the SDK ask IMDS about the instance.
    defaultsMode: 'legacy',
    // The SDK otherwise clones and re-sorts its whole middleware stack on every send (~1 ms of CPU a
    // SubmitTaskStateChange); cached, each command class resolves it once. Per-command middleware would be
    // frozen by the first command of its class, so ecsd's own additions are client-level (see withClientToken).
    cacheMiddleware: true,
    requestHandler: new NodeHttpHandler({
      httpsAgent,
      connectionTimeout: ECS_CONNECT_TIMEOUT_MS,
      requestTimeout: ECS_REQUEST_TIMEOUT_MS,
    }),
  });
  const userAgent = ecsUserAgent(options.agentVersion, options.agentHash, config.detailedOsFamily);
  // Instead of the SDK's user-agent step, whose User-Agent and x-amz-user-agent (which upstream does not send)
  // it would compose on every call: the header is exactly upstream's shape, and it is not signed.
  client.middlewareStack.remove('getUserAgentMiddleware');
  client.middlewareStack.add(
    (next: BuildHandler<object, MetadataBearer>) => async (args: BuildHandlerArguments<object>) => {
      if (HttpRequest.isInstance(args.request)) args.request.headers['user-agent'] = userAgent;
      return next(args);
    },
    { step: 'build', name: 'ecsdUserAgent', override: true },
  );

  withClientToken(client);

  async function call<T>(operation: EcsApiOperation, send: () => Promise<T>): Promise<T> {
    const startMs = clock.nowMs();
    try {
      const output = await send();
      metrics.observe(operation, clock.nowMs() - startMs, 'success');
      return output;
    } catch (error) {
      const apiError = toEcsApiError(operation, error);
      metrics.observe(operation, clock.nowMs() - startMs, metricResultFor(apiError));
      throw apiError;
    }
  }

  const cluster = effectiveCluster(config);
  const pollEndpoints = new PollEndpointCache({
    clock,
    logger: options.logger,
    fetch: (containerInstanceArn) =>
      call('DiscoverPollEndpoint', async () => {
        const output = await client.send(
          new DiscoverPollEndpointCommand({ cluster, containerInstance: containerInstanceArn }),
        );
        if (!output.endpoint) {
          throw new EcsApiError('DiscoverPollEndpoint failed: no endpoint returned', {
            context: { operation: 'DiscoverPollEndpoint' },
          });
        }
        return {
          endpoint: output.endpoint,
          ...(output.telemetryEndpoint ? { telemetryEndpoint: output.telemetryEndpoint } : {}),
          ...(output.serviceConnectEndpoint ? { serviceConnectEndpoint: output.serviceConnectEndpoint } : {}),
        };
      }),
  });

  return {
    discoverPollEndpoint: (arn) => pollEndpoints.get(arn),
    registerContainerInstance: (input) =>
      call('RegisterContainerInstance', async () => {
        // The extra member rides in the input; the serialiser ignores it and withClientToken adds it to the body.
        const output = await client.send(new RegisterContainerInstanceCommand(input));
        if (!output.containerInstance?.containerInstanceArn) {
          throw new EcsApiError('RegisterContainerInstance failed: no container instance ARN returned', {
            context: { operation: 'RegisterContainerInstance' },
          });
        }
        return output.containerInstance;
      }),
    createCluster: (name) =>
      call('CreateCluster', async () => {
        const output = await client.send(new CreateClusterCommand({ clusterName: name }));
        return output.cluster?.clusterName ?? name;
      }),
    submitTaskStateChange: (payload) =>
      call('SubmitTaskStateChange', async () => {
        await client.send(new SubmitTaskStateChangeCommand(payload));
      }),
    submitAttachmentStateChanges: (payload) =>
      call('SubmitAttachmentStateChanges', async () => {
        await client.send(new SubmitAttachmentStateChangesCommand(payload));
      }),
    destroy() {
      client.destroy();
      httpsAgent.destroy();
    },
  };
}

/**
 * Adds the `clientToken` the SDK's model lacks on RegisterContainerInstance to the serialised JSON body, after
 * serialisation and before the body is hashed for signing (the build step runs before finalizeRequest's
 * signer). Client-level and reading the command's input, so it holds with cached middleware.
 */
function withClientToken(client: ECSClient): void {
  client.middlewareStack.add(
    (next: BuildHandler<object, MetadataBearer>, context: HandlerExecutionContext) =>
      async (args: BuildHandlerArguments<object>) => {
        const clientToken = (args.input as { clientToken?: unknown }).clientToken;
        if (context.commandName !== 'RegisterContainerInstanceCommand' || typeof clientToken !== 'string')
          return next(args);
        const raw: unknown = HttpRequest.isInstance(args.request) ? args.request.body : undefined;
        // The JSON codec hands over a string or, in newer SDKs, UTF-8 bytes.
        const text =
          typeof raw === 'string' ? raw : raw instanceof Uint8Array ? new TextDecoder().decode(raw) : undefined;
        if (HttpRequest.isInstance(args.request) && text !== undefined) {
          const body = JSON.parse(text) as Record<string, unknown>;
          body['clientToken'] = clientToken;
          args.request.body = JSON.stringify(body);
          // A length computed for the smaller body would cut the request short.
          delete args.request.headers['content-length'];
        }
        return next(args);
      },
    { step: 'build', priority: 'high', name: 'ecsdClientToken' },
  );
}
