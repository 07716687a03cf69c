/**
 * JSON over HTTP to the Engine API on a unix socket, TCP or TLS. Request/response calls (inspect, create,
 * start, stop, list) go through the keep-alive client in http1-client.ts, whose reasons are there; the
 * long-lived event stream uses node:http, whose per-request cost does not matter for one request an hour.
 * Failures carry docker-modem's shape (`statusCode`, `json`, socket `code`), which docker-errors.ts reads.
 *
 * The agent does not load dockerode: docker-modem runs util.inspect on every request's options (~0.6 ms of
 * CPU per call) and its import (ssh2, grpc, protobufjs) costs ~27 MiB of RSS the agent never uses.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createHttp1Client, type Http1Endpoint } from './http1-client.js';

export interface DockerTransport {
  /** Resolves with the parsed JSON body (undefined for an empty body) of a 2xx answer; rejects otherwise. */
  request<T>(
    method: 'GET' | 'POST' | 'DELETE' | 'HEAD',
    path: string,
    options?: {
      query?: Record<string, string | number | boolean | undefined>;
      body?: unknown;
      /** Deadline from the call (waiting for a free connection included); rejects with Http1TimeoutError. */
      timeoutMs?: number;
      signal?: AbortSignal;
    },
  ): Promise<T>;
  /** Opens a streaming GET (the event stream): resolves with the response once a 2xx status arrived. */
  stream(
    path: string,
    options?: { query?: Record<string, string | number | boolean | undefined>; signal?: AbortSignal },
  ): Promise<IncomingMessage>;
  close(): void;
}

/** Where the Engine API listens (the same endpoint shape the HTTP/1.1 client connects to). */
export type TransportTarget = Http1Endpoint;

/** Error shape shared with docker-modem (see docker-errors.ts). */
export class DockerHttpError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
    readonly json: unknown,
  ) {
    super(message);
    this.name = 'DockerHttpError';
  }
}

/** Enough parallel connections for the loops' concurrency plus the event stream's own socket. */
const MAX_SOCKETS = 32;

export function createDockerTransport(target: TransportTarget): DockerTransport {
  const client = createHttp1Client(target, MAX_SOCKETS);
  const request = target.tls ? httpsRequest : httpRequest;
  const pathWithQuery = (path: string, query?: Record<string, string | number | boolean | undefined>): string => {
    if (query === undefined) return path;
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) search.set(key, String(value));
    }
    const qs = search.toString();
    return qs ? `${path}?${qs}` : path;
  };
  const endpoint = target.socketPath ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
  return {
    stream(path, options = {}) {
      return new Promise((resolve, reject) => {
        // The event stream holds its connection for hours: its own socket, not one from the keep-alive pool.
        const req = request(
          {
            ...endpoint,
            method: 'GET',
            path: pathWithQuery(path, options.query),
            headers: { Host: 'docker' },
            ...(options.signal ? { signal: options.signal } : {}),
          },
          (res) => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              resolve(res);
              return;
            }
            res.resume();
            reject(new DockerHttpError(`(HTTP code ${status}) event stream refused`, status, undefined));
          },
        );
        req.on('error', reject);
        req.end();
      });
    },
    async request(method, path, options = {}) {
      const response = await client.request(method, pathWithQuery(path, options.query), {
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      const text = response.body.toString('utf8');
      const { status } = response;
      let json: unknown = text;
      if (text !== '' && (response.headers.get('content-type') ?? '').includes('json')) {
        try {
          json = JSON.parse(text);
        } catch {
          // Keep the raw text: Docker's message is still in it.
        }
      }
      if (status >= 200 && status < 300) return (text === '' ? undefined : json) as never;
      const message =
        json !== null && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string'
          ? (json as { message: string }).message
          : `HTTP ${status}`;
      throw new DockerHttpError(`(HTTP code ${status}) ${message}`, status, json);
    },
    close() {
      client.close();
    },
  };
}
