/**
 * One ACS WebSocket connection, from the signed upgrade to the close (fact sheet 2.2, 2.7). It resolves —
 * never rejects — with how the connection ended, and the source decides how long to wait before the next.
 *
 *  - TLS 1.2 or newer, upstream's cipher list for TLS 1.2, certificate checks off only with `-k`;
 *    handshake timeout 30 s.
 *  - Inactivity: 1 min + up to 1 min of jitter without any inbound frame and the socket is dropped (a healthy
 *    backend sends heartbeats well inside that).
 *  - Maximum age: 30 min + up to 5 min of jitter, then a close frame 1000 `ConnectionExpired: Reconnect to
 *    continue`, so the backend can rebalance agents (v1.105.1).
 *  - A failed upgrade's body is read as a backend exception (`{"InactiveInstanceException":"…"}`), which the
 *    source needs to tell deregistration apart from an outage.
 * Frames are handed to `onFrame` one at a time, in order, synchronously.
 */
import WebSocket from 'ws';
import type { Clock } from '../../clock.js';
import { AcsConnectionError, errorMessage } from '../../errors.js';
import type { Logger } from '../../logging/types.js';
import { withJitter } from './backoff.js';
import { decodeErrorBody } from './envelope.js';

export interface SessionTimers {
  inactivityMs: number;
  inactivityJitterMs: number;
  maxAgeMs: number;
  maxAgeJitterMs: number;
}

export const ACS_SESSION_TIMERS: Readonly<SessionTimers> = Object.freeze({
  inactivityMs: 60_000,
  inactivityJitterMs: 60_000,
  maxAgeMs: 30 * 60_000,
  maxAgeJitterMs: 5 * 60_000,
});

export const HANDSHAKE_TIMEOUT_MS = 30_000;
export const CONNECTION_EXPIRED_REASON = 'ConnectionExpired: Reconnect to continue';
/** A failed upgrade's body is read up to this many bytes: enough for any exception text. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** Upstream's TLS 1.2 suites (ECDHE-RSA / RSA with AES-GCM or AES-CBC); TLS 1.3 keeps its standard suites. */
export const ACS_TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-RSA-AES256-SHA',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128-SHA',
  'AES256-SHA',
].join(':');

export type SessionEnd =
  /** The socket closed with this code (no error before it). */
  | { kind: 'closed'; code: number; reason: string; connected: boolean }
  /** The upgrade failed, the socket errored, or the session was dropped for inactivity. */
  | { kind: 'failed'; error: InstanceType<typeof AcsConnectionError>; connected: boolean };

export interface SessionOptions {
  url: string;
  /** The signed upgrade headers (sign.ts). */
  headers: Record<string, string>;
  acceptInsecureCert: boolean;
  maxFrameBytes: number;
  clock: Clock;
  random: () => number;
  logger: Logger;
  timers?: SessionTimers;
  /** Aborting closes the connection (1000) and ends the session. */
  signal: AbortSignal;
  onOpen(): void;
  /** One inbound frame; `send` writes one text frame on this connection. */
  onFrame(data: Buffer, send: (frame: string) => void): void;
}

export function runSession(options: SessionOptions): Promise<SessionEnd> {
  const timers = options.timers ?? ACS_SESSION_TIMERS;
  const { clock, logger } = options;
  return new Promise<SessionEnd>((resolve) => {
    let connected = false;
    let settled = false;
    let failure: InstanceType<typeof AcsConnectionError> | undefined;
    let inactivity: { cancel(): void } | undefined;
    let maxAge: { cancel(): void } | undefined;

    const ws = new WebSocket(options.url, {
      headers: options.headers,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      maxPayload: options.maxFrameBytes,
      perMessageDeflate: false,
      followRedirects: false,
      minVersion: 'TLSv1.2',
      ciphers: ACS_TLS_CIPHERS,
      rejectUnauthorized: !options.acceptInsecureCert,
    });

    const finish = (end: SessionEnd): void => {
      if (settled) return;
      settled = true;
      inactivity?.cancel();
      maxAge?.cancel();
      options.signal.removeEventListener('abort', onAbort);
      resolve(end);
    };
    const fail = (error: InstanceType<typeof AcsConnectionError>): void => {
      failure ??= error;
    };
    const send = (frame: string): void => {
      if (ws.readyState !== WebSocket.OPEN) {
        logger.warn('ACS frame not sent: the connection is closed', { bytes: frame.length });
        return;
      }
      ws.send(frame, (error) => {
        if (error) logger.warn('ACS frame not sent', { error: errorMessage(error) });
      });
    };
    const armInactivity = (): void => {
      inactivity?.cancel();
      const ms = withJitter(timers.inactivityMs, timers.inactivityJitterMs, options.random);
      inactivity = clock.setTimeout(() => {
        fail(new AcsConnectionError(`no ACS frame for ${Math.round(ms)} ms; dropping the connection`));
        ws.terminate();
      }, ms);
    };
    function onAbort(): void {
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'agent stopping');
      else ws.terminate();
    }

    ws.on('unexpected-response', (request, response) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      const done = (): void => {
        const body = Buffer.concat(chunks).toString('utf8');
        const exception = decodeErrorBody(body);
        const status = response.statusCode ?? 0;
        const message =
          exception === undefined
            ? `ACS refused the WebSocket upgrade with HTTP ${status}`
            : `ACS refused the WebSocket upgrade with HTTP ${status}: ${exception.type}: ${exception.text}`;
        request.destroy();
        finish({
          kind: 'failed',
          connected: false,
          error: new AcsConnectionError(message, {
            context: { status, ...(exception === undefined ? {} : { exception: exception.type }) },
          }),
        });
      };
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes <= MAX_ERROR_BODY_BYTES) chunks.push(chunk);
      });
      response.on('end', done);
      response.on('error', done);
    });
    ws.on('open', () => {
      connected = true;
      armInactivity();
      const ageMs = withJitter(timers.maxAgeMs, timers.maxAgeJitterMs, options.random);
      maxAge = clock.setTimeout(() => {
        logger.info('ACS connection reached its maximum age; closing it to reconnect', { ageMs: Math.round(ageMs) });
        ws.close(1000, CONNECTION_EXPIRED_REASON);
      }, ageMs);
      options.onOpen();
    });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      armInactivity();
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      options.onFrame(buffer, send);
    });
    ws.on('error', (error) => {
      fail(new AcsConnectionError(`ACS WebSocket error: ${error.message}`, { cause: error }));
    });
    ws.on('close', (code, reason) => {
      finish(
        failure === undefined
          ? { kind: 'closed', code, reason: reason.toString('utf8'), connected }
          : { kind: 'failed', error: failure, connected },
      );
    });
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });
  });
}
