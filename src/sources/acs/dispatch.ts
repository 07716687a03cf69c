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
import { handleException, handleNotice } from './handlers/notices.js';
import { handlePayload } from './handlers/payload.js';
import { handleConfirmAttachment } from './handlers/resource-attachment.js';
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
    HANDLERS[frame.type](ctx, message);
  } catch (error) {
    // Handlers log their own expected failures; this is a bug, and it must still not end the session.
    ctx.logger.error('ACS message handler failed', {
      type: frame.type,
      messageId: messageIdOf(message),
      error: errorMessage(error),
    });
  }
}

/** One handler per inbound type: a record over the closed vocabulary, so a new type cannot go unhandled. */
const HANDLERS: { readonly [T in AcsMessageType]: (ctx: HandlerContext, message: unknown) => void } = {
  PayloadMessage: (ctx, m) => handlePayload(ctx, m as PayloadMessage),
  HeartbeatMessage: (ctx, m) => handleHeartbeat(ctx, m as HeartbeatMessage),
  IAMRoleCredentialsMessage: (ctx, m) => handleCredentials(ctx, m as IamRoleCredentialsMessage),
  AttachTaskNetworkInterfacesMessage: (ctx, m) => handleAttachTaskEnis(ctx, m as AttachTaskNetworkInterfacesMessage),
  AttachInstanceNetworkInterfacesMessage: (ctx, m) =>
    handleAttachInstanceEnis(ctx, m as AttachInstanceNetworkInterfacesMessage),
  ConfirmAttachmentMessage: (ctx, m) => handleConfirmAttachment(ctx, m as ConfirmAttachmentMessage),
  TaskManifestMessage: (ctx, m) => handleTaskManifest(ctx, m as TaskManifestMessage),
  TaskStopVerificationAck: (ctx, m) => handleStopVerificationAck(ctx, m as TaskStopVerificationAck),
  StageUpdateMessage: (ctx, m) => handleUpdate(ctx, m as UpdateMessage, 'StageUpdateMessage'),
  PerformUpdateMessage: (ctx, m) => handleUpdate(ctx, m as UpdateMessage, 'PerformUpdateMessage'),
  CloseMessage: (ctx, m) => handleNotice(ctx, m as TextMessage, 'CloseMessage'),
  ErrorMessage: (ctx, m) => handleNotice(ctx, m as TextMessage, 'ErrorMessage'),
};

function messageIdOf(message: unknown): string | undefined {
  if (message === null || typeof message !== 'object') return undefined;
  const id = (message as { messageId?: unknown }).messageId;
  return typeof id === 'string' ? id : undefined;
}
