/**
 * The ACS frame codec (fact sheet 2.3). Every frame is one JSON text message
 * `{"type":"<ShapeName>","message":{…}}`; a frame without `type` may be the bare error form
 * `{"<ExceptionName>":"<text>"}` (exactly one key), which is also how a failed upgrade's body reads.
 * Anything else is an AcsMessageError: the caller logs it and drops the frame, as upstream's decoder does.
 */
import { AcsMessageError } from '../../errors.js';
import { isAcsExceptionType } from './message-types.js';
import type { OutboundMessages, OutboundType } from './model.js';

/**
 * Largest frame accepted (ws `maxPayload`; a bigger one closes the socket with 1009). A PayloadMessage carries
 * at most 10 tasks of at most 10 containers, each environment capped at 64 KiB by the task policy and the
 * dockerConfig strings far smaller in practice: 8 MiB is several times the largest real payload while bounding
 * what one frame can make the agent hold.
 */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

export type InboundFrame =
  /** A typed message; `message` is not yet validated. */
  | { kind: 'message'; type: string; message: unknown }
  /** A backend exception, bare (`{"InactiveInstanceException":"…"}`) or typed (`{"type":"…Exception",…}`). */
  | { kind: 'exception'; type: string; text: string };

export function decodeFrame(data: string | Buffer, maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES): InboundFrame {
  const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (bytes > maxFrameBytes) {
    throw new AcsMessageError(`frame of ${bytes} bytes exceeds the ${maxFrameBytes}-byte limit`, {
      context: { bytes, maxFrameBytes },
    });
  }
  const text = typeof data === 'string' ? data : data.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AcsMessageError('frame is not valid JSON', {
      cause: error,
      context: { bytes, start: preview(text) },
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AcsMessageError('frame is not a JSON object', { context: { bytes, start: preview(text) } });
  }
  const record = value as Record<string, unknown>;
  const type = record['type'];
  if (typeof type === 'string' && type !== '') {
    const message = record['message'] ?? {};
    if (isAcsExceptionType(type) || type.endsWith('Exception')) {
      return { kind: 'exception', type, text: exceptionText(message) };
    }
    if (typeof message !== 'object' || Array.isArray(message)) {
      throw new AcsMessageError(`frame of type ${type} has a message that is not an object`, { context: { type } });
    }
    return { kind: 'message', type, message };
  }
  const bare = decodeBareError(record);
  if (bare !== undefined) return bare;
  throw new AcsMessageError('frame has no "type" and is not the {"<Exception>":"text"} error form', {
    context: { bytes, keys: Object.keys(record).slice(0, 5) },
  });
}

/** A failed upgrade's response body as a backend exception, if it is one (fact sheet 2.2). */
export function decodeErrorBody(body: string): { type: string; text: string } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record['type'] === 'string') return { type: record['type'], text: exceptionText(record['message']) };
  const bare = decodeBareError(record);
  return bare === undefined ? undefined : { type: bare.type, text: bare.text };
}

export function encodeFrame<T extends OutboundType>(type: T, message: OutboundMessages[T]): string {
  return JSON.stringify({ type, message });
}

function decodeBareError(
  record: Record<string, unknown>,
): { kind: 'exception'; type: string; text: string } | undefined {
  const keys = Object.keys(record);
  if (keys.length !== 1) return undefined;
  const type = keys[0]!;
  const text = record[type];
  return typeof text === 'string' ? { kind: 'exception', type, text } : undefined;
}

function exceptionText(message: unknown): string {
  if (typeof message === 'string') return message;
  if (
    message !== null &&
    typeof message === 'object' &&
    typeof (message as { message?: unknown }).message === 'string'
  ) {
    return (message as { message: string }).message;
  }
  return '';
}

/** The first characters of a bad frame, for the log: enough to recognise it, never a whole payload. */
function preview(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
