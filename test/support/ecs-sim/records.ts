/** The shapes the simulator records and tests assert on. All times are epoch milliseconds. */
import type { SimService } from './aws-json.js';

export interface ApiCall {
  /** 1, 2, 3 … in arrival order across every operation. */
  seq: number;
  atMs: number;
  service: SimService | 'unknown';
  /** The operation from `X-Amz-Target`, or '' when it named none. */
  operation: string;
  /** Parsed JSON body; undefined when it was not JSON. */
  body: unknown;
  /** Lower-case names, as received. */
  headers: Record<string, string>;
  statusCode: number;
  /** The AWS error name answered, when the call failed. */
  errorType?: string;
  /** The access key whose signature verified (the instance's, or role credentials the backend issued). */
  accessKeyId?: string;
}

export interface Attribute {
  name: string;
  value?: string;
}

export interface RegisteredInstance {
  arn: string;
  cluster: string;
  attributes: Attribute[];
  totalResources: unknown[];
  versionInfo: unknown;
  tags: unknown[];
  registeredAtMs: number;
  /** How many RegisterContainerInstance calls this ARN answered (1 + re-registrations). */
  registrations: number;
  /** False after `deactivateInstance`: ACS connects are then refused with InactiveInstanceException. */
  active: boolean;
}

/** A SubmitTaskStateChange body as the agent sent it. */
export interface TaskStateChange {
  cluster?: string;
  task: string;
  status?: string;
  reason?: string;
  containers?: Array<Record<string, unknown>>;
  managedAgents?: Array<Record<string, unknown>>;
  attachments?: Array<Record<string, unknown>>;
  pullStartedAt?: number;
  pullStoppedAt?: number;
  executionStoppedAt?: number;
  [key: string]: unknown;
}

export interface AcsConnection {
  /** 1, 2, 3 … in connect order. */
  id: number;
  /** The upgrade request's query, decoded. */
  query: Record<string, string>;
  /** The query string exactly as sent (fact sheet 2.1: keys sorted). */
  rawQuery: string;
  headers: Record<string, string>;
  openedAtMs: number;
  closedAtMs?: number;
  closeCode?: number;
  closeReason?: string;
  /** Who ended it: the simulator (`dropSocket`, close) or the agent / the network. */
  closedBy?: 'simulator' | 'peer';
  heartbeatsSent: number;
  heartbeatAcks: number;
}

/** One frame the agent sent, parsed when it was an ACS envelope. */
export interface AgentFrame {
  connectionId: number;
  atMs: number;
  text: string;
  type?: string;
  message?: Record<string, unknown>;
  /** Set when the frame was not a JSON `{type, message}` envelope. */
  parseError?: string;
}

/** One frame the simulator sent. */
export interface SentFrame {
  connectionId: number;
  atMs: number;
  text: string;
  type?: string;
  messageId?: string;
}
