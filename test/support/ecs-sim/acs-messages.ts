/**
 * ACS frames (fact sheet 2.3–2.5): every frame is one JSON text message `{"type", "message"}`. The
 * builders produce what the backend sends; `parseAgentFrame` reads what the agent sends without trusting it.
 */
import { isObject } from './body-checks.js';

export interface Envelope {
  type: string;
  message: Record<string, unknown>;
}

export function encodeEnvelope(type: string, message: Record<string, unknown>): string {
  return JSON.stringify({ type, message });
}

export type ParsedFrame = { ok: true; envelope: Envelope } | { ok: false; error: string };

export function parseAgentFrame(text: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `not JSON: ${(error as Error).message}` };
  }
  if (!isObject(value)) return { ok: false, error: 'not a JSON object' };
  const { type, message } = value;
  if (typeof type !== 'string' || type === '') return { ok: false, error: 'no "type"' };
  if (!isObject(message)) return { ok: false, error: `${type}: "message" is not an object` };
  return { ok: true, envelope: { type, message } };
}

/** Agent → backend types of fact sheet 2.5 that name a message being acknowledged. */
export const ACK_TYPES = ['AckRequest', 'IAMRoleCredentialsAckRequest'] as const;

export interface ManifestEntry {
  taskArn: string;
  taskClusterArn: string;
  desiredStatus: string;
}

export interface RoleCredentials {
  credentialsId: string;
  roleArn: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** RFC 3339, as ACS sends it. */
  expiration: string;
  credentialScope?: string;
}

export type RoleType = 'TaskApplication' | 'TaskExecution';
