/**
 * A minimal JSON-over-HTTP client for the Docker Engine API on a unix socket or TCP, with keep-alive.
 * The agent's hot path (inspect, create, start, stop, list) goes through here rather than dockerode:
 * docker-modem formats every request's options with util.inspect for a debug log even when debugging is
 * off, which cost ~0.6 ms of CPU per call — a third of the agent's CPU in the 50-task benchmark. dockerode
 * stays for the event stream. Failures carry the same shape docker-modem's do (`statusCode`, `json`,
 * `code`), so docker-errors.ts reads both.
 *
 * The event stream goes through here too, so the running agent does not load dockerode at all: its import
 * (docker-modem, ssh2, grpc and protobufjs for BuildKit sessions) costs ~27 MiB of RSS the agent never uses.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface DockerTransport {
  /** Resolves with the parsed JSON body (undefined for an empty body) of a 2xx answer; rejects otherwise. */
  request<T>(
    method: 'GET' | 'POST' | 'DELETE' | 'HEAD',
    path: string,
    options?: { query?: Record<string, string | number | boolean | undefined>; body?: unknown; signal?: AbortSignal },
  ): Promise<T>;
  /** Opens a streaming GET (the event stream): resolves with the response once a 2xx status arrived. */
  stream(
    path: string,
    options?: { query?: Record<string, string | number | boolean | undefined>; signal?: AbortSignal },
  ): Promise<IncomingMessage>;
  close(): void;
}

export interface TransportTarget {
  socketPath?: string;
  host?: string;
  port?: number;
  /** `https://` Docker hosts. */
  tls?: boolean;
}

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
  const agent = target.tls
    ? new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS })
    : new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  const request = target.tls ? httpsRequest : httpRequest;
  const pathWithQuery = (path: string, query: Record<string, string | number | boolean | undefined> = {}): string => {
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
    request(method, path, options = {}) {
      const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
      return new Promise((resolve, reject) => {
        const req = request(
          {
            ...endpoint,
            agent,
            method,
            path: pathWithQuery(path, options.query),
            headers: {
              Host: 'docker',
              ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
            },
            ...(options.signal ? { signal: options.signal } : {}),
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('error', reject);
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              const status = res.statusCode ?? 0;
              let json: unknown = text;
              if (text !== '' && (res.headers['content-type'] ?? '').includes('json')) {
                try {
                  json = JSON.parse(text);
                } catch {
                  // Keep the raw text: Docker's message is still in it.
                }
              }
              if (status >= 200 && status < 300) {
                resolve((text === '' ? undefined : json) as never);
                return;
              }
              const message =
                json !== null && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string'
                  ? (json as { message: string }).message
                  : `HTTP ${status}`;
              reject(new DockerHttpError(`(HTTP code ${status}) ${message}`, status, json));
            });
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
