/**
 * The Engine API client: a modem in dockerode's shape (`lean-modem.ts`: docker-modem's `dial` contract on
 * node:http with a keep-alive agent), reached through one promise-shaped `dial`. Calls go through
 * `modem.dial` rather than dockerode's per-object wrappers because those wire the abort signal unevenly
 * (e.g. `Image.inspect` drops `abortSignal`), and cancellation must reach every call. dockerode's index is
 * not imported: it also loads @grpc/grpc-js and protobufjs for BuildKit sessions, ~0.2 s of CPU and ~6.5 MiB
 * of RSS at every agent start for code the agent never calls (measured numbers in the README).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { ConfigError } from '../errors.js';
import { LeanModem, type LeanModemOptions } from './lean-modem.js';

export type ModemOptions = LeanModemOptions;

/** TLS material for `https://` / `tcp://` hosts with TLS: PEM file paths (DOCKER_CERT_PATH's ca/cert/key.pem). */
export interface DockerTlsOptions {
  caPath?: string;
  certPath?: string;
  keyPath?: string;
}

/** What the engine holds: the modem. */
export interface DockerClient {
  modem: LeanModem;
}

/**
 * Modem options for a `DOCKER_HOST`: `unix:///path`, a bare `/path`, `tcp://host:port` (plain HTTP unless
 * TLS material is given), `http://` or `https://host:port`.
 */
export function modemOptionsFor(dockerHost: string, tls: DockerTlsOptions = {}): ModemOptions {
  if (dockerHost.startsWith('unix://') || dockerHost.startsWith('/')) {
    const socketPath = dockerHost.startsWith('unix://') ? dockerHost.slice('unix://'.length) : dockerHost;
    return { socketPath, protocol: 'http' };
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
    ...material,
    host: match[2]!.replace(/^\[|\]$/g, ''),
    port: Number(match[3]),
    protocol: useTls ? 'https' : 'http',
  };
}

export function createDockerClient(options: ModemOptions): DockerClient {
  return { modem: new LeanModem(options) };
}

/** The same engine at a negotiated API version: every path becomes `/v<version>/…`, on the same sockets. */
export function versionedClient(client: DockerClient, apiVersion: string): DockerClient {
  return { modem: client.modem.withVersion(`v${apiVersion}`) };
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
