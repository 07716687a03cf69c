/**
 * Messages that get no reply (fact sheet 2.4): CloseMessage and ErrorMessage are logged; a backend exception
 * arriving as a frame is logged (it normally arrives as an upgrade-failure body instead); a
 * ConfirmAttachmentMessage (EBS / S3 Files resource attachments) is logged and not acked, since this agent
 * advertises no resource-attachment capability and cannot provide the volume.
 */
import type { ConfirmAttachmentMessage, TextMessage } from '../model.js';
import type { HandlerContext } from './context.js';

export function handleNotice(ctx: HandlerContext, message: TextMessage, type: string): void {
  ctx.logger.warn(`ACS ${type} received`, { type, message: message.message ?? '' });
}

export function handleException(ctx: HandlerContext, type: string, text: string): void {
  ctx.logger.warn('ACS sent an exception', { type, message: text });
}

export function handleConfirmAttachment(ctx: HandlerContext, message: ConfirmAttachmentMessage): void {
  ctx.logger.warn('ACS resource attachment is not supported on this agent; not acknowledging it', {
    messageId: message.messageId,
    attachmentType: message.attachment.attachmentType,
    attachmentArn: message.attachment.attachmentArn,
    taskArn: message.taskArn,
  });
}
