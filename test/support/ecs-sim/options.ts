/**
 * The simulator's options, compiled once into a frozen settings object with defaults filled in. The
 * defaults are loopback-only test values: nothing here is a real account, key or endpoint.
 */
import type { SecureVersion } from 'node:tls';
import { type Logger, silentLogger } from '../../../src/logging/types.js';
import { SimUsageError } from './errors.js';

export interface EcrAuthOptions {
  /** The `user` of the `user:password` token (ECR itself always answers `AWS`). */
  username?: string;
  password?: string;
  /** Returned as `proxyEndpoint`; point it at a local registry (e.g. `http://127.0.0.1:5000`). */
  proxyEndpoint?: string;
  /** How long a token is valid; ECR's own tokens last 12 h. */
  tokenTtlMs?: number;
  /**
   * The registries GetAuthorizationToken answers for, by registry ID, each with its own token and proxy
   * endpoint (the fields above are the defaults). Asked for another ID it answers AccessDeniedException, as ECR
   * does for a registry the caller may not read. Absent: every registry ID gets the default token.
   */
  registries?: Readonly<Record<string, EcrRegistryOptions>>;
}

export interface EcrRegistryOptions {
  username?: string;
  password?: string;
  proxyEndpoint?: string;
}

export interface EcrSettings {
  readonly username: string;
  readonly password: string;
  readonly proxyEndpoint: string;
  readonly tokenTtlMs: number;
  readonly registries?: Readonly<Record<string, Readonly<EcrRegistryOptions>>>;
}

/**
 * Serve the API and `/ws` over HTTPS/WSS. DiscoverPollEndpoint then answers `https://…`, which an agent turns
 * into `wss://…` (fact sheet 2.1). The protocol bounds and ciphers pass straight to Node's TLS server, so a
 * test can offer exactly what it wants to see refused (e.g. TLS 1.1 only; OpenSSL 3 needs `@SECLEVEL=0` in
 * `ciphers` before it will speak anything below 1.2).
 */
export interface SimTlsOptions {
  /** PEM certificate (chain) and key. */
  cert: string | Buffer;
  key: string | Buffer;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  ciphers?: string;
}

export interface EcsSimulatorOptions {
  /** SigV4 region every request must be signed for; default `us-east-1`. */
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** A cluster that exists from the start (default `default`); others appear through CreateCluster. */
  cluster?: string;
  /** Replaces `cluster`: the full list of clusters that exist from the start (`[]`: none, to test CreateCluster). */
  clusters?: readonly string[];
  accountId?: string;
  /** Returned as `ecs.availability-zone` on registration; default `<region>a`. */
  availabilityZone?: string;
  /** ACS HeartbeatMessage period per connection; default 20 000 ms, well inside the agent's 1–2 min inactivity timer (fact sheet 2.7). */
  heartbeatIntervalMs?: number;
  /** How long `sendPayload`/`sendManifest`/`sendCredentials` wait for the agent's ack by default; 10 000 ms. */
  ackTimeoutMs?: number;
  /** Re-send unacknowledged messages (same messageId) on every new ACS connection, as an at-least-once backend does; default true. */
  redeliverUnacked?: boolean;
  /** Answer a TaskStopVerificationMessage by confirming every candidate; default true. */
  confirmStopVerification?: boolean;
  /** Accepted clock skew of a signature's X-Amz-Date; default 15 min (AWS's window). */
  maxSignatureSkewMs?: number;
  ecr?: EcrAuthOptions;
  /** Every call, frame and connection is logged here at info level; default silent. */
  logger?: Logger;
  /** Listen port on 127.0.0.1; default 0 (random). */
  port?: number;
  /** HTTPS and WSS instead of HTTP and WS; default off. */
  tls?: SimTlsOptions;
}

export interface SimSettings {
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly clusters: readonly string[];
  readonly accountId: string;
  readonly availabilityZone: string;
  readonly heartbeatIntervalMs: number;
  readonly ackTimeoutMs: number;
  readonly redeliverUnacked: boolean;
  readonly confirmStopVerification: boolean;
  readonly maxSignatureSkewMs: number;
  readonly ecr: EcrSettings;
  readonly logger: Logger;
  readonly port: number;
  readonly tls?: Readonly<SimTlsOptions>;
}

export const SIM_DEFAULTS = Object.freeze({
  region: 'us-east-1',
  accessKeyId: 'AKIDECSSIMULATOR',
  secretAccessKey: 'ecs-simulator-secret',
  cluster: 'default',
  accountId: '111122223333',
  heartbeatIntervalMs: 20_000,
  ackTimeoutMs: 10_000,
  maxSignatureSkewMs: 15 * 60_000,
  ecrUsername: 'AWS',
  ecrPassword: 'ecs-simulator-ecr-password',
  ecrTokenTtlMs: 12 * 3_600_000,
});

export function compileOptions(options: EcsSimulatorOptions = {}): SimSettings {
  const region = options.region ?? SIM_DEFAULTS.region;
  const accountId = options.accountId ?? SIM_DEFAULTS.accountId;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? SIM_DEFAULTS.heartbeatIntervalMs;
  if (!(heartbeatIntervalMs > 0)) {
    throw new SimUsageError(`heartbeatIntervalMs must be > 0, got ${heartbeatIntervalMs}`, { heartbeatIntervalMs });
  }
  const ecr = options.ecr ?? {};
  return Object.freeze({
    region,
    accessKeyId: options.accessKeyId ?? SIM_DEFAULTS.accessKeyId,
    secretAccessKey: options.secretAccessKey ?? SIM_DEFAULTS.secretAccessKey,
    clusters: Object.freeze([...(options.clusters ?? [options.cluster ?? SIM_DEFAULTS.cluster])]),
    accountId,
    availabilityZone: options.availabilityZone ?? `${region}a`,
    heartbeatIntervalMs,
    ackTimeoutMs: options.ackTimeoutMs ?? SIM_DEFAULTS.ackTimeoutMs,
    redeliverUnacked: options.redeliverUnacked ?? true,
    confirmStopVerification: options.confirmStopVerification ?? true,
    maxSignatureSkewMs: options.maxSignatureSkewMs ?? SIM_DEFAULTS.maxSignatureSkewMs,
    ecr: Object.freeze({
      username: ecr.username ?? SIM_DEFAULTS.ecrUsername,
      password: ecr.password ?? SIM_DEFAULTS.ecrPassword,
      proxyEndpoint: ecr.proxyEndpoint ?? `https://${accountId}.dkr.ecr.${region}.amazonaws.com`,
      tokenTtlMs: ecr.tokenTtlMs ?? SIM_DEFAULTS.ecrTokenTtlMs,
      ...(ecr.registries === undefined ? {} : { registries: Object.freeze({ ...ecr.registries }) }),
    }),
    logger: options.logger ?? silentLogger,
    port: options.port ?? 0,
    ...(options.tls === undefined ? {} : { tls: Object.freeze({ ...options.tls }) }),
  });
}
