/**
 * The Engine API client: dockerode's modem (docker-modem over node:http), reached through one promise-shaped
 * `dial`. Calls go through `modem.dial` rather than dockerode's per-object wrappers because those wire the
 * abort signal unevenly (e.g. `Image.inspect` drops `abortSignal`), and cancellation must reach every call.
 *
 * The modem is loaded from dockerode's own dependency, not through dockerode's index: that index also loads
 * @grpc/grpc-js and protobufjs for BuildKit sessions, ~0.2 s of CPU and ~6.5 MiB of RSS at every agent
 * start for code the agent never calls (measured numbers in the README). No keep-alive `http.Agent` is
 * passed: docker-modem `util.inspect`s each request's options (agent included) whether or not debugging is
 * on, so an agent made calls dearer, and Node 20's global agent already keeps sockets alive.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type DockerModem from 'docker-modem';
import { ConfigError } from '../errors.js';

/** docker-modem as dockerode resolves it (the version dockerode was released against). */
const Modem = createRequire(createRequire(import.meta.url).resolve('dockerode'))('docker-modem') as typeof DockerModem;

export type ModemOptions = DockerModem.ConstructorOptions;

/** TLS material for `https://` / `tcp://` hosts with TLS: PEM file paths (DOCKER_CERT_PATH's ca/cert/key.pem). */
export interface DockerTlsOptions {
  caPath?: string;
  certPath?: string;
  keyPath?: string;
}

/** What the engine holds of dockerode: its modem. */
export interface DockerClient {
  modem: DockerModem;
}

/**
 * Modem options for a `DOCKER_HOST`: `unix:///path`, a bare `/path`, `tcp://host:port` (plain HTTP unless
 * TLS material is given), `http://` or `https://host:port`. Every key is set explicitly, because
 * docker-modem merges its own reading of `process.env.DOCKER_HOST`/`DOCKER_CERT_PATH` under ours.
 */
export function modemOptionsFor(dockerHost: string, tls: DockerTlsOptions = {}): ModemOptions {
  const unset = {
    host: undefined,
    port: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
    timeout: undefined,
  };
  if (dockerHost.startsWith('unix://') || dockerHost.startsWith('/')) {
    const socketPath = dockerHost.startsWith('unix://') ? dockerHost.slice('unix://'.length) : dockerHost;
    return { ...unset, socketPath, protocol: 'http' };
  }
  const match = /^(tcp|http|https):\/\/([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(dockerHost);
  if (match === null) {
    throw new ConfigError(`unsupported Docker host ${JSON.stringify(dockerHost)}`, { context: { dockerHost } });
  }
  const material = {
    ca: tls.caPath === undefined ? undefined : readFileSync(tls.caPath),
    cert: tls.certPath === undefined ? undefined : readFileSync(tls.certPath),
    key: tls.keyPath === undefined ? undefined : readFileSync(tls.keyPath),
  };
  const useTls = match[1] === 'https' || material.ca !== undefined || material.cert !== undefined;
  return {
    ...unset,
    ...material,
    socketPath: undefined,
    host: match[2]!.replace(/^\[|\]$/g, ''),
    port: Number(match[3]),
    protocol: useTls ? 'https' : 'http',
  } as ModemOptions;
}

export function createDockerClient(options: ModemOptions, apiVersion?: string): DockerClient {
  return { modem: new Modem(apiVersion === undefined ? options : { ...options, version: `v${apiVersion}` }) };
}

export type Query = Record<string, string | number | boolean | object | undefined>;

export interface DialRequest {
  method: 'GET' | 'POST' | 'DELETE' | 'HEAD';
  path: string;
  query?: Query;
  /** JSON body of a POST. */
  body?: unknown;
  /** HTTP statuses that are success; anything else rejects with docker-modem's error (statusCode, json). */
  ok: number[];
  signal: AbortSignal;
  /** X-Registry-Auth for pulls. */
  authconfig?: Record<string, unknown>;
}

function dialOptions(request: DialRequest) {
  const query = request.query === undefined ? undefined : dropUndefined(request.query);
  const hasQuery = query !== undefined && Object.keys(query).length > 0;
  const statusCodes: Record<number, boolean> = {};
  for (const status of request.ok) statusCodes[status] = true;
  // docker-modem sends `_body` as the POST body and `_query` as the query string ('?' marks a path that has one).
  return {
    path: hasQuery ? `${request.path}?` : request.path,
    method: request.method,
    options: {
      ...(hasQuery ? { _query: query } : {}),
      ...(request.method === 'POST' ? { _body: request.body ?? {} } : {}),
    },
    statusCodes,
    abortSignal: request.signal,
    ...(request.authconfig === undefined ? {} : { authconfig: request.authconfig }),
  };
}

function dropUndefined(query: Query): Record<string, string | number | boolean | object> {
  const out: Record<string, string | number | boolean | object> = {};
  for (const [key, value] of Object.entries(query)) if (value !== undefined) out[key] = value;
  return out;
}

/** One request/response call: resolves with the parsed JSON body (a Buffer when the body is not JSON). */
export function dial<T>(client: DockerClient, request: DialRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    client.modem.dial(dialOptions(request), (error, result) => (error ? reject(error) : resolve(result as T)));
  });
}

/** A streaming call (events, pull): resolves with the response once a success status arrived. */
export function dialStream(client: DockerClient, request: DialRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    client.modem.dial({ ...dialOptions(request), isStream: true }, (error, result) =>
      error ? reject(error) : resolve(result as IncomingMessage),
    );
  });
}

/**
 * A hijacked call (exec start): the engine answers `101 Switching Protocols` and the socket becomes a raw
 * stream. Engines that do not upgrade answer 200 and stream the body instead; either is returned.
 */
export function dialHijacked(client: DockerClient, request: DialRequest): Promise<Socket | IncomingMessage> {
  return new Promise((resolve, reject) => {
    client.modem.dial({ ...dialOptions(request), isStream: true, hijack: true, allowEmpty: true }, (error, result) =>
      error ? reject(error) : resolve(result as Socket | IncomingMessage),
    );
  });
}
