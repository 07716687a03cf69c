/**
 * A TCP proxy on 127.0.0.1 in front of a registry that can stop forwarding in the middle of a blob
 * download, so a pull stalls with its connection open: no error, no EOF, just no more bytes. That is the
 * failure an inactivity timeout exists for (fact sheet 4.9: `ECS_IMAGE_PULL_INACTIVITY_TIMEOUT`).
 *
 * It is a byte pipe, not an HTTP proxy: pulling through it means naming the proxy as the registry host
 * (`127.0.0.1:PROXYPORT/name:tag`), and the engine treats it as the same insecure loopback registry. To
 * know which bytes are a blob it watches the request side of each connection: after a request line
 * `GET /v2/…/blobs/…` the response bytes on that connection are blob bytes until the next request (Go's
 * HTTP client, the engine's, does not pipeline). Manifests, tokens and pings always flow, so a stall looks
 * exactly like a registry whose blob storage stopped answering.
 *
 * Once armed (`stallBlobsAfter(n)` or the start option) it forwards `n` bytes of blob responses in total,
 * counted from the first byte of a blob response (headers included), then holds every further blob byte on
 * every connection until `resume()`.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface StallingProxyOptions {
  /** Arm at once: stall after this many bytes of blob responses. */
  stallBlobsAfterBytes?: number;
}

export interface StallingProxy {
  /** `127.0.0.1:PORT`: use as the registry host of an image reference. */
  readonly host: string;
  readonly port: number;
  /** Blob response bytes forwarded so far (all connections). */
  readonly blobBytesForwarded: number;
  /** Whether blob bytes are being held now. */
  readonly isStalled: boolean;
  /** Arms the stall: after `afterBytes` more bytes of blob responses, hold the rest. */
  stallBlobsAfter(afterBytes: number): void;
  /** Resolves once the proxy has started holding blob bytes. */
  stalled(): Promise<void>;
  /** Forwards what was held and everything after it; disarms the stall. */
  resume(): void;
  /** Closes the listener and destroys every open connection. */
  stop(): Promise<void>;
}

type Mode = { kind: 'forwarding' } | { kind: 'armed'; budgetBytes: number } | { kind: 'stalled' };

const BLOB_REQUEST = /(?:^|\r\n)GET \/v2\/\S+\/blobs\/\S+ HTTP\/1\.[01]\r\n/;
/** Any request line: a new request on a keep-alive connection ends the previous response. */
const REQUEST_LINE = /(?:^|\r\n)[A-Z]+ \/\S* HTTP\/1\.[01]\r\n/g;

interface Pipe {
  client: Socket;
  upstream: Socket;
  /** The latest request on this connection was a blob GET, so response bytes now are blob bytes. */
  inBlobResponse: boolean;
  /** Blob bytes held while stalled, in order. */
  held: Buffer[];
}

export async function startStallingProxy(
  target: { host?: string; port: number },
  options: StallingProxyOptions = {},
): Promise<StallingProxy> {
  const targetHost = target.host ?? '127.0.0.1';
  let mode: Mode =
    options.stallBlobsAfterBytes === undefined
      ? { kind: 'forwarding' }
      : { kind: 'armed', budgetBytes: options.stallBlobsAfterBytes };
  let blobBytesForwarded = 0;
  const pipes = new Set<Pipe>();
  let stallWaiters: Array<() => void> = [];

  const enterStall = (): void => {
    mode = { kind: 'stalled' };
    for (const waiter of stallWaiters) waiter();
    stallWaiters = [];
  };

  /** Forwards as much of a blob chunk as the mode allows; the rest is held and the upstream paused. */
  const forwardBlob = (pipe: Pipe, chunk: Buffer): void => {
    if (mode.kind === 'stalled' || pipe.held.length > 0) {
      pipe.held.push(chunk);
      pipe.upstream.pause();
      return;
    }
    if (mode.kind === 'armed' && chunk.length >= mode.budgetBytes) {
      const sent = chunk.subarray(0, mode.budgetBytes);
      if (sent.length > 0) pipe.client.write(sent);
      blobBytesForwarded += sent.length;
      pipe.held.push(chunk.subarray(sent.length));
      pipe.upstream.pause();
      enterStall();
      return;
    }
    if (mode.kind === 'armed') mode = { kind: 'armed', budgetBytes: mode.budgetBytes - chunk.length };
    pipe.client.write(chunk);
    blobBytesForwarded += chunk.length;
  };

  const onConnection = (client: Socket): void => {
    const upstream = connect({ host: targetHost, port: target.port });
    const pipe: Pipe = { client, upstream, inBlobResponse: false, held: [] };
    pipes.add(pipe);
    let requestTail = '';
    client.on('data', (chunk: Buffer) => {
      // Keep a little of the previous chunk so a request line split across reads is still seen.
      const text = requestTail + chunk.toString('latin1');
      requestTail = text.slice(-512);
      const lines = [...text.matchAll(REQUEST_LINE)];
      const last = lines.at(-1);
      if (last !== undefined) pipe.inBlobResponse = BLOB_REQUEST.test(last[0]);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (pipe.inBlobResponse) forwardBlob(pipe, chunk);
      else client.write(chunk);
    });
    const close = (): void => {
      pipes.delete(pipe);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  };

  const server: Server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('stalling proxy: no TCP address');
  const port = address.port;

  return {
    host: `127.0.0.1:${port}`,
    port,
    get blobBytesForwarded() {
      return blobBytesForwarded;
    },
    get isStalled() {
      return mode.kind === 'stalled';
    },
    stallBlobsAfter(afterBytes: number) {
      if (afterBytes <= 0) enterStall();
      else mode = { kind: 'armed', budgetBytes: afterBytes };
    },
    stalled() {
      if (mode.kind === 'stalled') return Promise.resolve();
      return new Promise<void>((resolve) => stallWaiters.push(resolve));
    },
    resume() {
      mode = { kind: 'forwarding' };
      for (const pipe of pipes) {
        for (const chunk of pipe.held) {
          pipe.client.write(chunk);
          blobBytesForwarded += chunk.length;
        }
        pipe.held = [];
        pipe.upstream.resume();
      }
    },
    async stop() {
      for (const pipe of pipes) {
        pipe.client.destroy();
        pipe.upstream.destroy();
      }
      pipes.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
