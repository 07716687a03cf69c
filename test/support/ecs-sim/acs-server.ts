/**
 * The ACS WebSocket at `/ws` (fact sheet 2): checks each upgrade (signature, then query), holds the
 * connections, sends heartbeats, delivers backend messages with at-least-once redelivery, records every
 * frame the agent sends and answers the ones a backend answers (TaskStopVerificationMessage).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { encodeEnvelope, parseAgentFrame } from './acs-messages.js';
import { type AcsRejectionType, checkAcsQuery } from './acs-query.js';
import { SimNackError } from './errors.js';
import { headerRecord, splitUrl } from './http-util.js';
import type { SimSettings } from './options.js';
import type { AcsConnection } from './records.js';
import { verifySigV4 } from './sigv4-verify.js';
import type { SimState } from './state.js';

export interface UpgradeRejection {
  atMs: number;
  query: Record<string, string | string[]>;
  statusCode: number;
  body: string;
}

interface LiveConnection {
  record: AcsConnection;
  socket: WebSocket;
  heartbeat: NodeJS.Timeout;
}

interface Outgoing {
  messageId: string;
  type: string;
  text: string;
}

export interface AcsServerDeps {
  state: SimState;
  settings: SimSettings;
  nowMs: () => number;
}

export class AcsServer {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly live = new Map<number, LiveConnection>();
  /** Messages sent (or waiting for a connection) and not yet acknowledged, in send order. */
  private readonly unacked = new Map<string, Outgoing>();
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly rejections: UpgradeRejection[] = [];
  private pendingRejections: Array<{ body: string; statusCode: number }> = [];
  private ackDelayMs = 0;

  constructor(private readonly deps: AcsServerDeps) {}

  // ---- faults -------------------------------------------------------------------------------------------

  /** The next `count` upgrades are refused with `body` (default a ServerException) and `statusCode` (403). */
  rejectConnections(count: number, body?: string | Record<string, string>, statusCode = 403): void {
    const text =
      body === undefined
        ? JSON.stringify({ ServerException: 'simulated connection rejection' })
        : typeof body === 'string'
          ? body
          : JSON.stringify(body);
    for (let i = 0; i < count; i++) this.pendingRejections.push({ body: text, statusCode });
  }

  /** Forgets the upgrades `rejectConnections` still had queued: the next connect is checked normally. */
  clearRejections(): void {
    this.pendingRejections = [];
  }

  /**
   * Acks from the agent count only `ms` after they arrive (so `sendPayload` resolves that much later and a
   * socket dropped meanwhile makes the message redelivered), and the simulator's own TaskStopVerificationAck
   * leaves `ms` late. 0 turns it off.
   */
  delayAcks(ms: number): void {
    this.ackDelayMs = ms;
  }

  /** Terminates the newest open socket without a close frame (the agent sees 1006); false if none was open. */
  dropSocket(): boolean {
    const current = this.current();
    if (current === undefined) return false;
    current.record.closedBy = 'simulator';
    current.socket.terminate();
    return true;
  }

  // ---- sending ------------------------------------------------------------------------------------------

  /** The newest open connection's record, if any. */
  currentConnection(): AcsConnection | undefined {
    return this.current()?.record;
  }

  /** Sends a frame as is on the newest open connection; false if none was open. */
  sendRaw(text: string): boolean {
    const current = this.current();
    if (current === undefined) return false;
    this.write(current, text);
    return true;
  }

  /**
   * Sends a message that the agent acknowledges by `messageId`. It is kept until acked and, with
   * `redeliverUnacked`, sent again on every new connection; without an open connection it waits for one.
   */
  deliver(type: string, message: Record<string, unknown> & { messageId: string }): void {
    const outgoing: Outgoing = { messageId: message.messageId, type, text: encodeEnvelope(type, message) };
    this.unacked.set(outgoing.messageId, outgoing);
    const current = this.current();
    if (current !== undefined) this.write(current, outgoing.text, outgoing);
  }

  /** Stops redelivering a message (a test that wants to see an unacked message forgotten). */
  forget(messageId: string): void {
    this.unacked.delete(messageId);
  }

  // ---- upgrades -----------------------------------------------------------------------------------------

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { path, query, rawQuery } = splitUrl(req.url ?? '/');
    if (path !== '/ws') {
      this.refuse(socket, query, 404, JSON.stringify({ BadRequestException: `no WebSocket at ${path}` }));
      return;
    }
    const forced = this.pendingRejections.shift();
    if (forced !== undefined) {
      this.refuse(socket, query, forced.statusCode, forced.body);
      return;
    }
    const headers = headerRecord(req);
    const { settings } = this.deps;
    const signature = await verifySigV4({ method: 'GET', path, query, headers, body: '' }, 'ecs', {
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
      region: settings.region,
      maxSkewMs: settings.maxSignatureSkewMs,
      nowMs: this.deps.nowMs,
    });
    if (!signature.ok) {
      this.refuse(socket, query, 403, bareError('AccessDeniedException', `${signature.type}: ${signature.message}`));
      return;
    }
    const verdict = checkAcsQuery(query, this.deps.state);
    if (!verdict.ok) {
      this.refuse(socket, query, 403, bareError(verdict.type, verdict.message));
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.open(ws, verdict.query, headers, rawQuery));
  }

  private refuse(socket: Duplex, query: Record<string, string | string[]>, statusCode: number, body: string): void {
    this.rejections.push({ atMs: this.deps.nowMs(), query, statusCode, body });
    this.deps.settings.logger.info('acs connect refused', { status: statusCode, body });
    this.deps.state.changed();
    socket.end(
      `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? ''}\r\n` +
        'Content-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }

  private open(socket: WebSocket, query: Record<string, string>, headers: Record<string, string>, rawQuery: string) {
    const { state, settings } = this.deps;
    const record: AcsConnection = {
      id: state.connections.length + 1,
      query,
      rawQuery,
      headers,
      openedAtMs: this.deps.nowMs(),
      heartbeatsSent: 0,
      heartbeatAcks: 0,
    };
    const heartbeat = setInterval(() => this.sendHeartbeat(connection), settings.heartbeatIntervalMs);
    const connection: LiveConnection = { record, socket, heartbeat };
    this.live.set(record.id, connection);
    state.recordConnection(record);
    settings.logger.info('acs connected', { connection: record.id, query: rawQuery });

    socket.on('message', (data, isBinary) => this.receive(connection, data.toString(), isBinary));
    socket.on('close', (code, reason) => {
      clearInterval(heartbeat);
      this.live.delete(record.id);
      record.closedAtMs = this.deps.nowMs();
      record.closeCode = code;
      record.closeReason = reason.toString();
      record.closedBy ??= 'peer';
      settings.logger.info('acs closed', {
        connection: record.id,
        code,
        reason: record.closeReason,
        by: record.closedBy,
      });
      state.changed();
    });
    socket.on('error', (error) =>
      settings.logger.info('acs socket error', { connection: record.id, error: error.message }),
    );

    if (settings.redeliverUnacked) {
      for (const outgoing of this.unacked.values()) this.write(connection, outgoing.text, outgoing);
    }
  }

  private sendHeartbeat(connection: LiveConnection): void {
    connection.record.heartbeatsSent += 1;
    this.write(connection, encodeEnvelope('HeartbeatMessage', { healthy: true, messageId: randomUUID() }));
  }

  private write(connection: LiveConnection, text: string, outgoing?: Outgoing): void {
    if (connection.socket.readyState !== connection.socket.OPEN) return;
    connection.socket.send(text);
    const type = outgoing?.type ?? safeType(text);
    this.deps.state.recordSentFrame({
      connectionId: connection.record.id,
      atMs: this.deps.nowMs(),
      text,
      ...(type === undefined ? {} : { type }),
      ...(outgoing === undefined ? {} : { messageId: outgoing.messageId }),
    });
    this.deps.settings.logger.info('acs frame out', { connection: connection.record.id, type: type ?? '(raw)' });
  }

  // ---- receiving ----------------------------------------------------------------------------------------

  private receive(connection: LiveConnection, text: string, isBinary: boolean): void {
    const { state, settings } = this.deps;
    const parsed = parseAgentFrame(text);
    const atMs = this.deps.nowMs();
    if (!parsed.ok || isBinary) {
      const parseError = isBinary ? 'binary frame (ACS frames are text)' : parsed.ok ? '' : parsed.error;
      state.recordAgentFrame({ connectionId: connection.record.id, atMs, text, parseError });
      settings.logger.info('acs frame in', { connection: connection.record.id, error: parseError });
      return;
    }
    const { type, message } = parsed.envelope;
    state.recordAgentFrame({ connectionId: connection.record.id, atMs, text, type, message });
    settings.logger.info('acs frame in', { connection: connection.record.id, type, messageId: message['messageId'] });
    const messageId = typeof message['messageId'] === 'string' ? message['messageId'] : undefined;
    switch (type) {
      case 'HeartbeatAckRequest':
        connection.record.heartbeatAcks += 1;
        state.changed();
        return;
      case 'AckRequest':
      case 'IAMRoleCredentialsAckRequest':
        if (messageId !== undefined) this.later(() => this.acknowledge(messageId));
        return;
      case 'NackRequest':
        if (messageId !== undefined) {
          this.unacked.delete(messageId);
          state.nacked.set(messageId, String(message['reason'] ?? ''));
          state.changed();
        }
        return;
      case 'TaskStopVerificationMessage':
        if (messageId !== undefined && settings.confirmStopVerification) {
          this.later(() => this.confirmStopVerification(messageId, message['stopCandidates']));
        }
        return;
      default:
        return;
    }
  }

  private acknowledge(messageId: string): void {
    this.unacked.delete(messageId);
    this.deps.state.acked.set(messageId, this.deps.nowMs());
    this.deps.state.changed();
  }

  /** The backend confirms every candidate (it sent the manifest, so a task missing from it is one to stop). */
  private confirmStopVerification(messageId: string, candidates: unknown): void {
    const stopTasks = Array.isArray(candidates) ? candidates : [];
    for (const candidate of stopTasks) {
      const arn = (candidate as { taskArn?: unknown } | null)?.taskArn;
      const known = typeof arn === 'string' ? this.deps.state.desiredTasks.get(arn) : undefined;
      if (typeof arn === 'string') {
        this.deps.state.desiredTasks.set(arn, { clusterArn: known?.clusterArn ?? '', desiredStatus: 'STOPPED' });
      }
    }
    this.sendRaw(encodeEnvelope('TaskStopVerificationAck', { messageId, generatedAt: this.deps.nowMs(), stopTasks }));
  }

  private later(fn: () => void): void {
    if (this.ackDelayMs <= 0) {
      fn();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, this.ackDelayMs);
    this.timers.add(timer);
  }

  /** The error a wait for `messageId`'s ack ends with when the agent nacked it. */
  nackError(messageId: string): SimNackError | undefined {
    const reason = this.deps.state.nacked.get(messageId);
    return reason === undefined
      ? undefined
      : new SimNackError(`agent nacked ${messageId}: ${reason}`, { messageId, reason });
  }

  private current(): LiveConnection | undefined {
    let newest: LiveConnection | undefined;
    for (const connection of this.live.values()) {
      if (connection.socket.readyState === connection.socket.OPEN) newest = connection;
    }
    return newest;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const connection of this.live.values()) {
      clearInterval(connection.heartbeat);
      connection.record.closedBy = 'simulator';
      connection.socket.terminate();
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

function bareError(type: AcsRejectionType, message: string): string {
  return JSON.stringify({ [type]: message });
}

function safeType(text: string): string | undefined {
  const parsed = parseAgentFrame(text);
  return parsed.ok ? parsed.envelope.type : undefined;
}
