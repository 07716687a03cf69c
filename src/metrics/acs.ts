/**
 * The ACS session's metrics: `ecs_agent_acs_connected` (0/1), `ecs_agent_acs_reconnects_total`,
 * `ecs_agent_acs_messages_total{type}` (the known inbound types and exceptions, everything else `unknown`,
 * so the label is bounded) and `ecs_agent_acs_seconds_since_last_message`, computed at scrape time so it keeps
 * growing while ACS is unreachable (the loops meanwhile keep converging to the stored desired state).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { ACS_MESSAGE_TYPE_LABELS, type AcsMessageTypeLabel } from '../sources/acs/message-types.js';

/** What the ACS source reports (AcsSourceDeps.metrics). */
export interface AcsMetrics {
  setConnected(connected: boolean): void;
  reconnected(): void;
  /** A frame of this type arrived at `atMs` (the source's clock). */
  messageReceived(type: AcsMessageTypeLabel, atMs: number): void;
  /** The source started at `atMs`: until a frame arrives, "since last message" counts from here. */
  started(atMs: number): void;
}

export type AcsFamilies = AcsMetrics;

/** `nowMs` must be the clock the source passes times from (Date.now for the system clock). */
export function createAcsFamilies(registry: Registry, nowMs: () => number = Date.now): AcsFamilies {
  let sinceMs: number | undefined;
  const connected = new Gauge({
    name: 'ecs_agent_acs_connected',
    help: 'Whether the ACS WebSocket session is connected (1) or not (0).',
    registers: [registry],
  });
  const reconnects = new Counter({
    name: 'ecs_agent_acs_reconnects_total',
    help: 'ACS connection attempts after the first one (each lost or failed session leads to one).',
    registers: [registry],
  });
  const messages = new Counter({
    name: 'ecs_agent_acs_messages_total',
    help: 'ACS frames received, by message type (unknown types and undecodable frames as "unknown").',
    labelNames: ['type'],
    registers: [registry],
  });
  new Gauge({
    name: 'ecs_agent_acs_seconds_since_last_message',
    help: 'Seconds since the last ACS frame arrived (since the ACS source started if none has; 0 before it starts).',
    registers: [registry],
    collect() {
      this.set(sinceMs === undefined ? 0 : Math.max(0, (nowMs() - sinceMs) / 1000));
    },
  });
  connected.set(0);
  for (const type of ACS_MESSAGE_TYPE_LABELS) messages.inc({ type }, 0);
  return {
    setConnected: (value) => connected.set(value ? 1 : 0),
    reconnected: () => reconnects.inc(),
    messageReceived(type, atMs) {
      messages.inc({ type });
      sinceMs = atMs;
    },
    started(atMs) {
      sinceMs ??= atMs;
    },
  };
}
