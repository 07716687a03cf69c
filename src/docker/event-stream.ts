/**
 * The `/events` subscription: a long-lived HTTP stream of newline-delimited JSON (ndjson.ts), reconnected
 * with backoff when it ends or fails. Events are hints (design.md §3); a gap while reconnecting is narrowed by asking for
 * events `since` the last one seen, and closed for good by the container view's periodic relist.
 */
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging/types.js';
import { connectionError, isConnectionError, timeoutError } from './docker-errors.js';
import { type RawDockerEvent, toEventHint } from './inspect-map.js';
import { NdjsonLineSplitter } from './ndjson.js';
import type { DockerEventHint } from './types.js';

/** A stream that has stayed up this long resets the backoff: it was a real connection, not a flap. */
const HEALTHY_CONNECTION_MS = 5_000;

export interface EventStreamOptions {
  /** Opens `GET /events`; `sinceSec` replays events from that second on after a reconnect. */
  openStream(sinceSec: number | undefined, signal: AbortSignal): Promise<NodeJS.ReadableStream>;
  /** Deadline for the stream's response headers; the stream itself has no deadline. */
  connectTimeoutMs: number;
  /** First reconnect delay and cap: 250 ms doubling to 30 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  logger: Logger;
  onEvent(event: DockerEventHint): void;
  onError?(error: unknown): void;
  /** Every successful connect; `reconnect` after the first, when events of the gap may have been missed. */
  onConnected?(info: { reconnect: boolean }): void;
  /** A line that was not a JSON object, skipped. */
  onMalformedLine?(): void;
}

/** Starts the subscription; the returned function stops it and releases the socket and every timer. */
export function runEventStream(options: EventStreamOptions): () => void {
  const minBackoffMs = options.minBackoffMs ?? 250;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const { logger } = options;
  let stopped = false;
  let attempt = 0;
  let sinceSec: number | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let controller: AbortController | undefined;
  let current: NodeJS.ReadableStream | undefined;
  let everConnected = false;

  const reportError = (error: unknown): void => {
    try {
      options.onError?.(error);
    } catch (listenerError) {
      logger.warn('docker event error listener threw', { error: errorMessage(listenerError) });
    }
  };

  const deliver = (raw: unknown): void => {
    if (raw === null || typeof raw !== 'object') return;
    const event = raw as RawDockerEvent;
    if (typeof event.time === 'number') sinceSec = event.time;
    try {
      options.onEvent(toEventHint(event));
    } catch (listenerError) {
      logger.warn('docker event listener threw', { error: errorMessage(listenerError) });
    }
  };

  let malformedTotal = 0;
  const skipMalformed = (lines: number): void => {
    malformedTotal += lines;
    logger.warn('skipped malformed docker event lines', { lines, total: malformedTotal });
    for (let i = 0; i < lines; i++) options.onMalformedLine?.();
  };

  const pump = (stream: NodeJS.ReadableStream): Promise<void> =>
    new Promise((resolve, reject) => {
      const splitter = new NdjsonLineSplitter();
      let settled = false;
      const finish = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        stream.removeListener('data', onData);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onData = (chunk: Buffer | string): void => {
        const { values, malformed } = splitter.push(chunk);
        if (malformed > 0) skipMalformed(malformed);
        for (const value of values) {
          if (stopped) return;
          deliver(value);
        }
      };
      stream.on('data', onData);
      // A destroyed socket may still emit 'error' after we stopped listening; never let that crash.
      stream.on('error', () => {});
      stream.once('end', () => finish());
      stream.once('close', () => finish());
      stream.once('error', (error: unknown) => finish(error));
    });

  const connect = async (): Promise<void> => {
    reconnectTimer = undefined;
    if (stopped) return;
    const abort = new AbortController();
    controller = abort;
    const connectTimer = setTimeout(() => abort.abort(), options.connectTimeoutMs);
    let connectedAtMs: number | undefined;
    try {
      const stream = await options.openStream(sinceSec, abort.signal).finally(() => clearTimeout(connectTimer));
      if (stopped) {
        destroy(stream);
        return;
      }
      current = stream;
      connectedAtMs = Date.now();
      // The first connection defines "now"; later reconnects ask for what happened since then.
      sinceSec ??= Math.floor(connectedAtMs / 1000);
      try {
        options.onConnected?.({ reconnect: everConnected });
      } catch (listenerError) {
        logger.warn('docker event connect listener threw', { error: errorMessage(listenerError) });
      }
      everConnected = true;
      logger.debug('docker event stream connected', { attempt });
      await pump(stream);
      if (!stopped) logger.info('docker event stream ended; reconnecting');
    } catch (error) {
      const connectTimedOut = abort.signal.aborted;
      // Whatever failed (the opener's own deadline too), the request must not outlive the attempt.
      abort.abort();
      if (stopped) return;
      const mapped = connectTimedOut
        ? timeoutError('events', {}, options.connectTimeoutMs)
        : isConnectionError(error)
          ? connectionError('events', {}, error)
          : error;
      logger.warn('docker event stream failed; reconnecting', { error: errorMessage(mapped), attempt });
      reportError(mapped);
    } finally {
      if (current !== undefined) destroy(current);
      current = undefined;
      controller = undefined;
    }
    if (stopped) return;
    if (connectedAtMs !== undefined && Date.now() - connectedAtMs >= HEALTHY_CONNECTION_MS) attempt = 0;
    const delayMs = Math.min(maxBackoffMs, minBackoffMs * 2 ** attempt);
    attempt++;
    reconnectTimer = setTimeout(() => void connect(), delayMs);
  };

  void connect();

  return () => {
    if (stopped) return;
    stopped = true;
    if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
    reconnectTimer = undefined;
    controller?.abort();
    if (current !== undefined) destroy(current);
  };
}

function destroy(stream: NodeJS.ReadableStream): void {
  const destroyable = stream as NodeJS.ReadableStream & { destroy?: () => void };
  destroyable.destroy?.();
}
