/**
 * One inbound frame, end to end: decode the envelope, count it by type, validate its message against the
 * schema of its type, hand it to its handler. Every failure is logged with the frame's type and messageId and
 * the frame is dropped — never thrown to the socket, so one bad frame cannot end a session or the agent.
 * A message that fails validation gets no ack; ACS re-sends what it does not see acked.
 */
import { AcsMessageError, errorMessage } from '../../errors.js';
import { decodeFrame } from './envelope.js';
import type { HandlerContext } from './handlers/context.js';
import { handleCredentials } from './handlers/credentials.js';
import { handleAttachInstanceEnis, handleAttachTaskEnis } from './handlers/eni.js';
import { handleHeartbeat } from './handlers/heartbeat.js';
import { handleStopVerificationAck, handleTaskManifest } from './handlers/manifest.js';
import { handleConfirmAttachment, handleException, handleNotice } from './handlers/notices.js';
import { handlePayload } from './handlers/payload.js';
import { handleUpdate } from './handlers/update.js';
import { type AcsMessageType, type AcsMessageTypeLabel, isAcsMessageType, messageTypeLabel } from './message-types.js';
import type {
  AttachInstanceNetworkInterfacesMessage,
  AttachTaskNetworkInterfacesMessage,
  ConfirmAttachmentMessage,
  HeartbeatMessage,
  IamRoleCredentialsMessage,
  PayloadMessage,
  TaskManifestMessage,
  TaskStopVerificationAck,
  TextMessage,
  UpdateMessage,
} from './model.js';
import { withoutNulls } from './schema.js';

export interface DispatchOptions {
  maxFrameBytes: number;
  /** Called once per frame with its type label (bounded vocabulary). */
  countMessage(type: AcsMessageTypeLabel): void;
}

export function dispatchFrame(ctx: HandlerContext, data: string | Buffer, options: DispatchOptions): void {
  let frame: ReturnType<typeof decodeFrame>;
  try {
    frame = decodeFrame(data, options.maxFrameBytes);
  } catch (error) {
    options.countMessage('unknown');
    const context = error instanceof AcsMessageError ? error.context : {};
    ctx.logger.warn('undecodable ACS frame dropped', { error: errorMessage(error), ...context });
    return;
  }
  options.countMessage(messageTypeLabel(frame.type));
  if (frame.kind === 'exception') {
    handleException(ctx, frame.type, frame.text);
    return;
  }
  if (!isAcsMessageType(frame.type)) {
    ctx.logger.info('ACS message of an unknown type dropped', { type: frame.type });
    return;
  }
  const message = withoutNulls(frame.message);
  const issues = ctx.validators.message(frame.type, message);
  if (issues.length > 0) {
    ctx.logger.warn('invalid ACS message dropped (not acknowledged)', {
      type: frame.type,
      messageId: messageIdOf(message),
      issues,
    });
    return;
  }
  try {
    route(ctx, frame.type, message);
  } catch (error) {
    // Handlers log their own expected failures; this is a bug, and it must still not end the session.
    ctx.logger.error('ACS message handler failed', {
      type: frame.type,
      messageId: messageIdOf(message),
      error: errorMessage(error),
    });
  }
}

function route(ctx: HandlerContext, type: AcsMessageType, message: unknown): void {
  switch (type) {
    case 'PayloadMessage':
      return handlePayload(ctx, message as PayloadMessage);
    case 'HeartbeatMessage':
      return handleHeartbeat(ctx, message as HeartbeatMessage);
    case 'IAMRoleCredentialsMessage':
      return handleCredentials(ctx, message as IamRoleCredentialsMessage);
    case 'AttachTaskNetworkInterfacesMessage':
      return handleAttachTaskEnis(ctx, message as AttachTaskNetworkInterfacesMessage);
    case 'AttachInstanceNetworkInterfacesMessage':
      return handleAttachInstanceEnis(ctx, message as AttachInstanceNetworkInterfacesMessage);
    case 'ConfirmAttachmentMessage':
      return handleConfirmAttachment(ctx, message as ConfirmAttachmentMessage);
    case 'TaskManifestMessage':
      return handleTaskManifest(ctx, message as TaskManifestMessage);
    case 'TaskStopVerificationAck':
      return handleStopVerificationAck(ctx, message as TaskStopVerificationAck);
    case 'StageUpdateMessage':
    case 'PerformUpdateMessage':
      return handleUpdate(ctx, message as UpdateMessage, type);
    case 'CloseMessage':
    case 'ErrorMessage':
      return handleNotice(ctx, message as TextMessage, type);
  }
}

function messageIdOf(message: unknown): string | undefined {
  if (message === null || typeof message !== 'object') return undefined;
  const id = (message as { messageId?: unknown }).messageId;
  return typeof id === 'string' ? id : undefined;
}
