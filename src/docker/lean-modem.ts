/**
 * The modem dockerode is given (its `modem` option): docker-modem's `dial(options, callback)` contract for the
 * calls ecsd makes, on node:http with one keep-alive `Agent` per engine. No HTTP of its own: node:http writes
 * the requests and parses the responses; this file only maps a dial to one `http.request`.
 *
 * Why not docker-modem itself: the agent's work comes in bursts (50 tasks started at once), so its code runs
 * cold, and docker-modem's per-call path — options cloned through `url.format`/`extend`, its follow-redirects
 * wrapper, and `util.inspect(options, {showHidden, depth: null})` for a debug line evaluated even when debug
 * is off — was 12 % of the agent's CPU in the 50-task benchmark (a `perf` profile). Numbers in the README.
 *
 * What is kept of docker-modem's contract, because callers (docker-errors.ts, engine-streams.ts) rely on it:
 * - `options.path` gets the version prefix (`/v1.41/…`); a trailing `?` takes `options._query` as the query,
 *   objects in it (filters) JSON-encoded; POST bodies are `options._body` as JSON (`{}` is sent as no body
 *   unless `allowEmpty`); `authconfig` becomes the base64url `X-Registry-Auth` header.
 * - A status not in `statusCodes` rejects with an Error whose message is `(HTTP code N) <reason> - <Docker's
 *   message> ` and which carries `statusCode` and `json` (the parsed body, or the raw Buffer).
 * - `isStream` resolves with the response as soon as its status is a success; `hijack` resolves with the
 *   socket of a `101 Switching Protocols` (or the response of an engine that does not upgrade).
 * - Abort: the call's `abortSignal` destroys the request and the response; the callback gets an AbortError.
 * - `demuxStream` is docker-modem's own, loaded on first use (exec/attach only).
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { stringify } from 'node:querystring';
import type { Writable } from 'node:stream';

export interface LeanModemOptions {
  /** A unix socket (`/var/run/docker.sock`); otherwise host and port. */
  socketPath?: string | undefined;
  host?: string | undefined;
  port?: number | undefined;
  protocol: 'http' | 'https';
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  /** `v1.41`: every path is sent as `/v1.41/…`. */
  version?: string | undefined;
}

/** The subset of docker-modem's dial options ecsd uses. */
export interface ModemDialOptions {
  path: string;
  method: string;
  options?: { _query?: Record<string, unknown>; _body?: unknown };
  statusCodes: Record<number, boolean | string>;
  abortSignal?: AbortSignal;
  authconfig?: Record<string, unknown>;
  isStream?: boolean;
  hijack?: boolean;
  allowEmpty?: boolean;
}

export type ModemCallback = (error: Error | null, result?: unknown) => void;

/** docker-modem's error shape, which docker-errors.ts reads. */
export interface ModemHttpError extends Error {
  statusCode: number;
  json: unknown;
  reason: boolean | string | undefined;
}

type Demux = (stream: NodeJS.ReadableStream, stdout: Writable, stderr: Writable) => void;

export class LeanModem {
  readonly #options: LeanModemOptions;
  readonly #agent: http.Agent;
  readonly #prefix: string;
  #demux: Demux | undefined;

  /** `agent` is shared by the unversioned (negotiation) and the versioned modem of one engine. */
  constructor(options: LeanModemOptions, agent?: http.Agent) {
    this.#options = options;
    this.#prefix = options.version === undefined ? '' : `/${options.version}`;
    // lifo: a burst reuses the sockets used last and lets the rest time out, rather than keeping all warm.
    this.#agent =
      agent ??
      (options.protocol === 'https'
        ? new https.Agent({ keepAlive: true, scheduling: 'lifo', ca: options.ca, cert: options.cert, key: options.key })
        : new http.Agent({ keepAlive: true, scheduling: 'lifo' }));
  }

  /** The same engine at another API version (after negotiation), on the same sockets. */
  withVersion(version: string): LeanModem {
    return new LeanModem({ ...this.#options, version }, this.#agent);
  }

  dial(options: ModemDialOptions, callback: ModemCallback): void {
    const signal = options.abortSignal;
    if (signal?.aborted === true) {
      callback(abortError(signal));
      return;
    }
    const headers: http.OutgoingHttpHeaders = {};
    const body = requestBody(options);
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    } else if (options.hijack === true) {
      headers['Transfer-Encoding'] = 'chunked';
    }
    if (options.authconfig !== undefined) headers['X-Registry-Auth'] = registryAuthHeader(options.authconfig);
    if (options.hijack === true) {
      headers['Connection'] = 'Upgrade';
      headers['Upgrade'] = 'tcp';
    }
    const { socketPath, host, port, protocol } = this.#options;
    let finished = false;
    const finish = (error: Error | null, result?: unknown): void => {
      if (finished) return;
      finished = true;
      signal?.removeEventListener('abort', onAbort);
      callback(error, result);
    };
    let response: IncomingMessage | undefined;
    const onAbort = (): void => {
      const error = abortError(signal!);
      // A stream already handed over is the caller's now: destroying it ends their reads with the error.
      response?.destroy(error);
      req.destroy(error);
      finish(error);
    };
    const transport = protocol === 'https' ? https : http;
    const req = transport.request({
      ...(socketPath === undefined ? { host, port } : { socketPath }),
      path: this.#prefix + requestPath(options),
      method: options.method,
      headers,
      agent: this.#agent,
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (error) => finish(error));
    if (options.hijack === true) {
      req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
        if (head.length > 0) socket.unshift(head);
        if (finished) socket.destroy();
        else finish(null, socket);
      });
    }
    req.on('response', (res) => {
      response = res;
      if (options.isStream === true) {
        if (options.statusCodes[res.statusCode ?? 0] === true) {
          // The stream outlives this call's bookkeeping; a later abort still tears it down (node's own signal
          // handling is not used for plain calls because it costs more than this one listener).
          if (signal !== undefined) {
            signal.removeEventListener('abort', onAbort);
            const onStreamAbort = (): void => {
              res.destroy(abortError(signal));
            };
            signal.addEventListener('abort', onStreamAbort, { once: true });
            res.once('close', () => signal.removeEventListener('abort', onStreamAbort));
          }
          finished = true;
          callback(null, res);
          return;
        }
        readBody(res, finish, (text) => finish(httpError(res, options, parseJson(text) ?? text)));
        return;
      }
      readBody(res, finish, (text, buffer) => {
        const json = parseJson(text) ?? buffer;
        if (options.statusCodes[res.statusCode ?? 0] === true) finish(null, json);
        else finish(httpError(res, options, json));
      });
    });
    req.end(body);
  }

  /** docker-modem's demultiplexer for exec/attach streams (8-byte frame headers), loaded on first use. */
  demuxStream(stream: NodeJS.ReadableStream, stdout: Writable, stderr: Writable): void {
    if (this.#demux === undefined) {
      const modem = createRequire(createRequire(import.meta.url).resolve('dockerode'))('docker-modem') as {
        prototype: { demuxStream: Demux };
      };
      this.#demux = modem.prototype.demuxStream;
    }
    this.#demux.call(this, stream, stdout, stderr);
  }
}

function requestPath(options: ModemDialOptions): string {
  const question = options.path.indexOf('?');
  if (question === -1) return options.path;
  const base = options.path.slice(0, question);
  const query = options.options?._query;
  if (query === undefined || Object.keys(query).length === 0) return base;
  const encoded: Record<string, string | number | boolean | readonly string[]> = {};
  for (const [key, value] of Object.entries(query)) {
    encoded[key] =
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? JSON.stringify(value)
        : (value as string | number | boolean | readonly string[]);
  }
  return `${base}?${stringify(encoded)}`;
}

function requestBody(options: ModemDialOptions): string | undefined {
  if (options.method !== 'POST' || options.options?._body === undefined) return undefined;
  const text = JSON.stringify(options.options._body);
  return options.allowEmpty !== true && (text === '{}' || text === '""') ? undefined : text;
}

function registryAuthHeader(authconfig: Record<string, unknown>): string {
  const given = authconfig['key'] ?? authconfig['base64'];
  if (typeof given === 'string') return given;
  return Buffer.from(JSON.stringify(authconfig)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Collects a response body; a connection that dies mid-body fails the call (`fail`), never leaves it hanging. */
function readBody(
  res: IncomingMessage,
  fail: (error: Error) => void,
  done: (text: string, buffer: Buffer) => void,
): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('error', fail);
  res.on('close', () => {
    if (!res.complete)
      fail(Object.assign(new Error('the engine closed the connection mid-response'), { code: 'ECONNRESET' }));
  });
  res.on('end', () => {
    const buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    done(buffer.toString(), buffer);
  });
}

/** JSON.parse, or undefined where docker-modem would fall back to the raw body (invalid, or a falsy value). */
function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) || undefined;
  } catch {
    return undefined;
  }
}

function httpError(res: IncomingMessage, options: ModemDialOptions, json: unknown): ModemHttpError {
  const status = res.statusCode ?? 0;
  const reason = options.statusCodes[status];
  const cause = json as { message?: unknown; error?: unknown } | undefined;
  const detail = cause?.message ?? cause?.error ?? json;
  const error = new Error(`(HTTP code ${status}) ${reason || 'unexpected'} - ${String(detail)} `) as ModemHttpError;
  error.statusCode = status;
  error.json = json;
  error.reason = reason;
  return error;
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted'), {
    name: 'AbortError',
    code: 'ABORT_ERR',
    cause: signal.reason,
  });
}
