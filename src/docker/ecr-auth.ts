/**
 * Docker credentials for ECR images (`registryAuthentication.type = "ecr"`, fact sheet 7.2): an ECR
 * `GetAuthorizationToken` with the task's execution-role credentials (or the instance's), decoded into the
 * X-Registry-Auth body of the pull.
 *
 * - Tokens are cached per (credentials, region, registryId, endpoint) — upstream keys by credentialsId and
 *   role ARN; the access key ID of a credentials set plays that part here (it changes when the role's
 *   credentials rotate, as a credentialsId does) — and refreshed once within 30–60 min of expiry (the
 *   point drawn at random per token, as upstream, so many hosts do not refresh in step). Concurrent requests
 *   for one key share one call.
 * - The ECR SDK is imported on first use: local mode, which never pulls from ECR, does not load it.
 * - The SDK does not retry (`maxAttempts: 1`): failures surface as typed errors and the images loop's
 *   runtime retries transient ones with its backoff (design: only the runtime decides to retry).
 * - No token, password or secret key is logged or put in an error.
 */
import type { ECRClient, ECRClientConfig } from '@aws-sdk/client-ecr';
import type { Clock } from '../clock.js';
import { CannotPullECRContainerError, type ErrorClass, errorMessage } from '../errors.js';
import type { Logger } from '../logging/types.js';
import type { DockerAuthConfig } from './registry-auth.js';

/** AWS credentials as the SDK takes them (`@smithy/types` AwsCredentialIdentity). */
export type AwsCredentialIdentity = Exclude<NonNullable<ECRClientConfig['credentials']>, (...args: never[]) => unknown>;

/** The task's `registryAuthentication.ecrAuthData`, plus which credentials to use. */
export interface EcrAuthRequest {
  registryId: string;
  region: string;
  /** An ECR API endpoint for this image (ecrAuthData.endpointOverride); wins over the agent-wide one. */
  endpointOverride?: string;
  /** Use the task's execution-role credentials; otherwise the instance's. */
  useExecutionRole: boolean;
  taskArn: string;
  signal?: AbortSignal;
}

export interface EcrAuth {
  authFor(request: EcrAuthRequest): Promise<DockerAuthConfig>;
}

export interface EcrAuthOptions {
  /** The task's execution-role credentials, when the credentials manager holds them. */
  credentialsFor: (taskArn: string) => AwsCredentialIdentity | undefined;
  /** Instance credentials for `useExecutionRole: false`; without it such a request fails (never IMDS). */
  instanceCredentials?: () => Promise<AwsCredentialIdentity | undefined>;
  logger: Logger;
  clock: Clock;
  /**
   * An ECR endpoint for every request without an endpointOverride; the SDK's regional endpoint when absent.
   * Upstream has no agent-wide setting (only ecrAuthData.endpointOverride), so the agent leaves it unset; unit
   * tests point it at a loopback server.
   */
  endpoint?: string;
  /** [0, 1): where in the 30–60 min window before expiry a token is refreshed. */
  random?: () => number;
  /** Per-call deadline of GetAuthorizationToken. */
  requestTimeoutMs?: number;
  /** Builds the client (tests may wrap it); default: the real ECRClient, imported on first use. */
  createClient?: (config: ECRClientConfig) => Promise<EcrClientLike>;
}

/** The one call made: `send(new GetAuthorizationTokenCommand(…))`, narrowed for tests. */
export interface EcrClientLike {
  getAuthorizationToken(
    registryId: string,
    signal: AbortSignal | undefined,
  ): Promise<{ authorizationToken?: string; expiresAt?: Date; proxyEndpoint?: string }>;
  destroy(): void;
}

/** Upstream refreshes a token once it is within 30 min + up to 30 min of jitter of its expiry. */
const REFRESH_BEFORE_EXPIRY_MS = 30 * 60_000;
const REFRESH_JITTER_MS = 30 * 60_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

interface CachedToken {
  auth: DockerAuthConfig;
  expiresAtMs: number;
  refreshAtMs: number;
}

export function createEcrAuth(options: EcrAuthOptions): EcrAuth {
  const random = options.random ?? Math.random;
  const createClient = options.createClient ?? createSdkClient(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  const logger = options.logger.child({ module: 'ecr-auth' });
  const cache = new Map<string, CachedToken>();
  const inFlight = new Map<string, Promise<CachedToken>>();

  const credentialsOf = async (request: EcrAuthRequest): Promise<AwsCredentialIdentity> => {
    let credentials: AwsCredentialIdentity | undefined;
    try {
      credentials = request.useExecutionRole
        ? options.credentialsFor(request.taskArn)
        : await options.instanceCredentials?.();
    } catch (error) {
      // The instance chain found nothing or failed (its message names the providers tried, never a secret).
      throw new CannotPullECRContainerError(`no instance credentials to get an ECR authorization token with`, {
        cause: error,
        errorClass: 'transient',
        context: { taskArn: request.taskArn, registryId: request.registryId, error: errorMessage(error) },
      });
    }
    if (credentials === undefined) {
      const which = request.useExecutionRole
        ? `execution role credentials of task ${request.taskArn}`
        : 'instance credentials';
      throw new CannotPullECRContainerError(`no ${which} to get an ECR authorization token with`, {
        context: { taskArn: request.taskArn, registryId: request.registryId, region: request.region },
      });
    }
    return credentials;
  };

  const fetchToken = async (
    request: EcrAuthRequest,
    credentials: AwsCredentialIdentity,
    endpoint: string | undefined,
  ) => {
    const client = await createClient({
      region: request.region,
      credentials,
      maxAttempts: 1,
      ...(endpoint === undefined ? {} : { endpoint }),
    });
    try {
      const data = await client.getAuthorizationToken(request.registryId, request.signal);
      const auth = decodeToken(data, request);
      const nowMs = options.clock.nowMs();
      const expiresAtMs = data.expiresAt?.getTime() ?? nowMs;
      const refreshAtMs = expiresAtMs - REFRESH_BEFORE_EXPIRY_MS - random() * REFRESH_JITTER_MS;
      logger.info('ECR authorization token received', {
        registryId: request.registryId,
        region: request.region,
        proxyEndpoint: auth.serveraddress,
        expiresAt: new Date(expiresAtMs).toISOString(),
      });
      return { auth, expiresAtMs, refreshAtMs };
    } catch (error) {
      throw asEcrError(error, request);
    } finally {
      client.destroy();
    }
  };

  return {
    async authFor(request) {
      const credentials = await credentialsOf(request);
      const endpoint = withScheme(request.endpointOverride) ?? options.endpoint;
      const key = JSON.stringify([credentials.accessKeyId, request.region, request.registryId, endpoint ?? '']);
      const nowMs = options.clock.nowMs();
      const cached = cache.get(key);
      if (cached !== undefined && nowMs < cached.refreshAtMs) return { ...cached.auth };
      let pending = inFlight.get(key);
      if (pending === undefined) {
        pending = fetchToken(request, credentials, endpoint).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      const token = await pending;
      pruneExpired(cache, nowMs);
      cache.set(key, token);
      return { ...token.auth };
    },
  };
}

/** Upstream (`utils.AddScheme`) takes a scheme-less endpointOverride as an HTTPS host; empty is none. */
function withScheme(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined || endpoint === '') return undefined;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
}

function pruneExpired(cache: Map<string, CachedToken>, nowMs: number): void {
  for (const [key, token] of cache) if (token.expiresAtMs <= nowMs) cache.delete(key);
}

/** The token is base64 `AWS:<password>`; the registry to log in to is the proxy endpoint (fact sheet 7.2). */
function decodeToken(
  data: { authorizationToken?: string; proxyEndpoint?: string },
  request: EcrAuthRequest,
): DockerAuthConfig {
  const text = data.authorizationToken === undefined ? '' : Buffer.from(data.authorizationToken, 'base64').toString();
  const colon = text.indexOf(':');
  if (colon < 0 || data.proxyEndpoint === undefined) {
    throw new CannotPullECRContainerError(
      `ECR returned no usable authorization data for registry ${request.registryId} in ${request.region}`,
      { context: { registryId: request.registryId, region: request.region } },
    );
  }
  return { username: text.slice(0, colon), password: text.slice(colon + 1), serveraddress: data.proxyEndpoint };
}

/**
 * SDK errors carry `$fault` and `$retryable`: a server fault, throttling or a network failure (no HTTP
 * status) is transient; a client fault (access denied, no such registry) is terminal, as upstream.
 */
function asEcrError(error: unknown, request: EcrAuthRequest): Error {
  if (error instanceof CannotPullECRContainerError) return error;
  const sdk = error as {
    name?: string;
    $fault?: 'client' | 'server';
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  const status = sdk.$metadata?.httpStatusCode;
  const throttled = sdk.$retryable !== undefined || /Throttl|TooManyRequests/i.test(sdk.name ?? '');
  const errorClass: ErrorClass =
    request.signal?.aborted || throttled || sdk.$fault === 'server' || status === undefined ? 'transient' : 'terminal';
  return new CannotPullECRContainerError(
    `GetAuthorizationToken for registry ${request.registryId} in ${request.region} failed: ${sdk.name ?? 'Error'}: ${errorMessage(error)}`,
    {
      cause: error,
      errorClass,
      context: { registryId: request.registryId, region: request.region, httpStatus: status },
    },
  );
}

/** The real client, with the SDK imported on first use only. */
function createSdkClient(requestTimeoutMs: number): (config: ECRClientConfig) => Promise<EcrClientLike> {
  return async (config) => {
    const [{ ECRClient, GetAuthorizationTokenCommand }, { NodeHttpHandler }] = await Promise.all([
      import('@aws-sdk/client-ecr'),
      import('@smithy/node-http-handler'),
    ]);
    const client: ECRClient = new ECRClient({
      ...config,
      requestHandler: new NodeHttpHandler({ connectionTimeout: requestTimeoutMs, requestTimeout: requestTimeoutMs }),
    });
    return {
      async getAuthorizationToken(registryId, signal) {
        const output = await client.send(
          new GetAuthorizationTokenCommand({ registryIds: [registryId] }),
          signal === undefined ? {} : { abortSignal: signal },
        );
        const data = output.authorizationData?.[0] ?? {};
        return {
          ...(data.authorizationToken === undefined ? {} : { authorizationToken: data.authorizationToken }),
          ...(data.expiresAt === undefined ? {} : { expiresAt: data.expiresAt }),
          ...(data.proxyEndpoint === undefined ? {} : { proxyEndpoint: data.proxyEndpoint }),
        };
      },
      destroy: () => client.destroy(),
    };
  };
}
