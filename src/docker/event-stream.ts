/**
 * The `/events` subscription: a long-lived HTTP stream of JSON objects, reconnected with backoff when it
 * ends or fails. Events are hints (design.md §3); a gap while reconnecting is narrowed by asking for
 * events `since` the last one seen, and closed for good by the container view's periodic relist.
 */
import { StringDecoder } from 'node:string_decoder';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging/types.js';
import { connectionError, isConnectionError, timeoutError } from './docker-errors.js';
import { type RawDockerEvent, toEventHint } from './inspect-map.js';
import type { DockerEventHint } from './types.js';

/** A stream that has stayed up this long resets the backoff: it was a real connection, not a flap. */
const HEALTHY_CONNECTION_MS = 5_000;
/** One JSON event is a few KiB at most; a buffer this large without a complete object is garbage. */
const MAX_PENDING_CHARS = 1 << 20;

/**
 * Splits a byte stream into top-level JSON objects. Docker writes one object per line, so a complete line
 * is handed to JSON.parse whole (native code: the common path costs two calls per event). A chunk may still
 * end mid-object (or mid-UTF-8 character), and proxies have been seen to drop the newlines, so whatever is
 * not a whole-object line is scanned for brace depth outside strings, and the fast path resumes at the
 * next object boundary. (A character-by-character scan of every event cost ~0.5 ms per event while cold.)
 */
export class JsonObjectSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Where the object being scanned starts in `pending` (0 between pushes). */
  private start = 0;
  /** How far the scan of an incomplete object got. */
  private scanned = 0;

  /** Returns the objects completed by this chunk; `invalid` counts segments that were not valid JSON. */
  push(chunk: Buffer | string): { values: unknown[]; invalid: number } {
    const text = this.pending + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const values: unknown[] = [];
    let invalid = 0;
    /** Everything before `pos` is consumed. */
    let pos = 0;
    let i = this.scanned;
    while (pos < text.length) {
      if (this.depth === 0) {
        const newline = text.indexOf('\n', pos);
        if (newline >= 0) {
          const line = text.slice(pos, newline);
          if (line.trim() === '') {
            pos = newline + 1;
            continue;
          }
          const value = parseOrUndefined(line);
          if (value !== undefined) {
            if (typeof value === 'object' && value !== null) values.push(value);
            pos = newline + 1;
            continue;
          }
        }
        // Not a whole-object line: skip junk up to the next object and scan that object's extent.
        const open = text.indexOf('{', pos);
        if (open < 0) {
          pos = text.length;
          break;
        }
        this.depth = 1;
        this.start = open;
        i = open + 1;
      }
      i = this.scanObject(text, i);
      if (this.depth > 0) break;
      const segment = text.slice(this.start, i + 1);
      const value = parseOrUndefined(segment);
      if (value === undefined) invalid++;
      else values.push(value);
      pos = i + 1;
      i = pos;
    }
    if (this.depth > 0) {
      this.pending = text.slice(this.start);
      this.scanned = text.length - this.start;
      this.start = 0;
    } else {
      this.pending = text.slice(pos);
      this.scanned = 0;
    }
    if (this.pending.length > MAX_PENDING_CHARS) {
      invalid++;
      this.reset();
    }
    return { values, invalid };
  }

  /** Advances through an object from `from`; returns the index of its closing brace, or text.length if open. */
  private scanObject(text: string, from: number): number {
    for (let i = from; i < text.length; i++) {
      const ch = text[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
        continue;
      }
      if (ch === '"') this.inString = true;
      else if (ch === '{' || ch === '[') this.depth++;
      else if (ch === '}' || ch === ']') {
        this.depth--;
        if (this.depth === 0) return i;
      }
    }
    return text.length;
  }

  reset(): void {
    this.pending = '';
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.start = 0;
    this.scanned = 0;
  }
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

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

  const pump = (stream: NodeJS.ReadableStream): Promise<void> =>
    new Promise((resolve, reject) => {
      const splitter = new JsonObjectSplitter();
      let settled = false;
      const finish = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        stream.removeListener('data', onData);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onData = (chunk: Buffer | string): void => {
        const { values, invalid } = splitter.push(chunk);
        if (invalid > 0) logger.warn('skipped unparseable docker event data', { segments: invalid });
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
      if (stopped) return;
      const mapped = abort.signal.aborted
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
