/**
 * A small keep-alive HTTP/1.1 client for the Engine API's request/response calls, one request per
 * connection at a time (no pipelining), over a unix socket, TCP or TLS.
 *
 * Why not node:http: measured on this agent's hot path (inspect/create/start/stop, run cold as a daemon
 * runs them), node:http's ClientRequest/IncomingMessage/Agent machinery costs ~0.5 ms of CPU per call and
 * this client ~0.15 ms; undici was slower still while its code is cold. The Engine API needs little of
 * HTTP: JSON bodies framed by Content-Length or chunked coding, which http1-response.ts reads.
 *
 * Contract: every request settles exactly once — with the response, the socket's error (its `code`, e.g.
 * ENOENT / ECONNREFUSED, kept for docker-errors.ts), an Http1TimeoutError when `timeoutMs` passes (counted
 * from the call, so time spent waiting for a free connection counts too), or an AbortError from `signal`.
 * A connection whose request did not complete cleanly is destroyed, never reused. A reused connection that
 * fails before any response byte arrived (the server closed it while idle) is retried once on a new one:
 * the server cannot have acted on a request it never read.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type Http1Response, Http1ResponseReader } from './http1-response.js';

export interface Http1Endpoint {
  socketPath?: string;
  host?: string;
  port?: number;
  /** `https://` Docker hosts. */
  tls?: boolean;
}

export interface Http1RequestOptions {
  /** JSON text sent as the body (Content-Type: application/json). */
  body?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class Http1TimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`request timed out after ${timeoutMs}ms`);
    this.name = 'Http1TimeoutError';
  }
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

interface Exchange {
  onData(chunk: Buffer): void;
  onError(error: Error): void;
  onClose(): void;
}

class Connection {
  /** Requests completed on this connection; > 0 means it came from the idle pool. */
  served = 0;
  exchange: Exchange | undefined;
  closed = false;

  constructor(
    readonly socket: Socket,
    onGone: (connection: Connection) => void,
  ) {
    socket.on('data', (chunk: Buffer) => {
      if (this.exchange) this.exchange.onData(chunk);
      // Bytes nobody asked for: the stream is out of step, so this connection cannot be trusted again.
      else socket.destroy();
    });
    socket.on('error', (error: Error) => {
      this.closed = true;
      this.exchange?.onError(error);
    });
    socket.on('close', () => {
      this.closed = true;
      const exchange = this.exchange;
      this.exchange = undefined;
      exchange?.onClose();
      onGone(this);
    });
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

export interface Http1Client {
  request(method: string, path: string, options?: Http1RequestOptions): Promise<Http1Response>;
  /** Connections open now (idle or busy), for tests. */
  openConnections(): number;
  close(): void;
}

export function createHttp1Client(endpoint: Http1Endpoint, maxConnections = 32): Http1Client {
  const idle: Connection[] = [];
  const waiters: Array<(connection: Connection) => void> = [];
  let open = 0;
  let closed = false;
  const hostHeader = endpoint.socketPath === undefined ? `${endpoint.host}:${endpoint.port}` : 'docker';

  function connect(): Connection {
    const socket = endpoint.socketPath
      ? netConnect(endpoint.socketPath)
      : endpoint.tls
        ? tlsConnect({ host: endpoint.host, port: endpoint.port, servername: endpoint.host })
        : netConnect({ host: endpoint.host ?? '127.0.0.1', port: endpoint.port ?? 2375 });
    socket.setNoDelay(true);
    open += 1;
    return new Connection(socket, gone);
  }

  function gone(connection: Connection): void {
    open -= 1;
    const at = idle.indexOf(connection);
    if (at >= 0) idle.splice(at, 1);
    // A slot freed up: a waiting request gets a fresh connection.
    const waiter = waiters.shift();
    if (waiter) waiter(connect());
  }

  function acquire(use: (connection: Connection) => void): () => void {
    for (let c = idle.pop(); c !== undefined; c = idle.pop()) {
      if (!c.closed) {
        c.socket.ref();
        use(c);
        return () => {};
      }
    }
    if (open < maxConnections) {
      use(connect());
      return () => {};
    }
    waiters.push(use);
    return () => {
      const at = waiters.indexOf(use);
      if (at >= 0) waiters.splice(at, 1);
    };
  }

  function release(connection: Connection): void {
    if (connection.closed || closed) {
      connection.destroy();
      return;
    }
    const waiter = waiters.shift();
    if (waiter) {
      waiter(connection);
      return;
    }
    // An idle connection must not keep the process alive (a CLI command ends when its work does).
    connection.socket.unref();
    idle.push(connection);
  }

  function request(method: string, path: string, options: Http1RequestOptions = {}): Promise<Http1Response> {
    const { body, timeoutMs, signal } = options;
    let head = `${method} ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\n`;
    if (body !== undefined) {
      head += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    } else {
      head += method === 'POST' || method === 'PUT' ? 'Content-Length: 0\r\n\r\n' : '\r\n';
    }

    return new Promise<Http1Response>((resolve, reject) => {
      if (closed) {
        reject(Object.assign(new Error('client closed'), { code: 'ECONNRESET' }));
        return;
      }
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      let settled = false;
      let current: Connection | undefined;
      let timer: NodeJS.Timeout | undefined;
      let cancelWait: () => void = () => {};

      const settle = (error: Error | undefined, response?: Http1Response): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        cancelWait();
        if (error) reject(error);
        else resolve(response!);
      };
      /** Ends the request early: the connection's state is unknown, so it is destroyed. */
      const giveUp = (error: Error): void => {
        const connection = current;
        current = undefined;
        if (connection) {
          connection.exchange = undefined;
          connection.destroy();
        }
        settle(error);
      };
      const onAbort = (): void => giveUp(abortError(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(() => giveUp(new Http1TimeoutError(timeoutMs)), timeoutMs);

      const send = (connection: Connection, isRetry: boolean): void => {
        if (settled) {
          release(connection);
          return;
        }
        current = connection;
        const reused = connection.served > 0;
        const reader = new Http1ResponseReader(method === 'HEAD');
        const failed = (error: Error): void => {
          connection.exchange = undefined;
          connection.destroy();
          current = undefined;
          if (reused && !isRetry && !reader.receivedAny && !settled) {
            send(connect(), true);
            return;
          }
          settle(error);
        };
        connection.exchange = {
          onData(chunk) {
            let done: ReturnType<Http1ResponseReader['push']>;
            try {
              done = reader.push(chunk);
            } catch (error) {
              failed(error as Error);
              return;
            }
            if (done === undefined) return;
            connection.exchange = undefined;
            connection.served += 1;
            current = undefined;
            if (done.response.closeAfter || done.rest.length > 0) connection.destroy();
            else release(connection);
            settle(undefined, done.response);
          },
          onError: failed,
          onClose() {
            try {
              const response = reader.end();
              current = undefined;
              settle(undefined, response);
            } catch (error) {
              failed(error as Error);
            }
          },
        };
        connection.socket.write(head);
      };
      cancelWait = acquire((connection) => send(connection, false));
    });
  }

  return {
    request,
    openConnections: () => open,
    close() {
      closed = true;
      for (const connection of idle.splice(0)) connection.destroy();
    },
  };
}
