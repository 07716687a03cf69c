/**
 * ConfirmAttachmentMessage (fact sheet 2.4, 2.6): ACS hands the agent a resource attachment — an EBS volume
 * (`amazonebs`) or an S3 Files mount (`s3files`) — for a task's volume. ecsd cannot provide either, and it
 * never advertises the capabilities that invite one (`ecs.capability.storage.ebs-task-volume-attach`,
 * `ecs.capability.storage.s3-files`; capabilities.ts), so a backend should not send one; when it does, the
 * operator sees a warning naming the attachment and the capability that was not advertised.
 *
 * Not acked, on purpose. Upstream registers its ConfirmAttachment responder only when it has a resource
 * handler (EBS support); without one the message finds no handler and is dropped unacked — this is what a
 * backend driving an agent without the capability already meets. An ack would say the agent took the
 * attachment on and leave the backend waiting for an attachment state change that never comes. The task
 * itself fails on its own terms: the volume the attachment was to provide is `unsupported`
 * (payload-to-task.ts), and the task is stopped with that reason.
 */
import type { ConfirmAttachmentMessage } from '../model.js';
import type { HandlerContext } from './context.js';

/** The capability an upstream agent advertises before a backend sends each attachment type (fact sheet 1.5). */
export const ATTACHMENT_CAPABILITIES: Readonly<Record<string, string>> = Object.freeze({
  amazonebs: 'ecs.capability.storage.ebs-task-volume-attach',
  s3files: 'ecs.capability.storage.s3-files',
});

export function handleConfirmAttachment(ctx: HandlerContext, message: ConfirmAttachmentMessage): void {
  const attachmentType = message.attachment.attachmentType ?? '';
  const capability = ATTACHMENT_CAPABILITIES[attachmentType];
  const volumeName = message.attachment.attachmentProperties?.find((p) => p.name === 'volumeName')?.value;
  ctx.logger.warn(
    capability === undefined
      ? `ACS sent a resource attachment of type "${attachmentType}", which this agent does not support; not acknowledging it`
      : `ACS sent a resource attachment of type "${attachmentType}" although this agent does not advertise ${capability}; not acknowledging it`,
    {
      messageId: message.messageId,
      attachmentArn: message.attachment.attachmentArn ?? '',
      attachmentType,
      ...(capability === undefined ? {} : { capability }),
      ...(message.taskArn === undefined ? {} : { taskArn: message.taskArn }),
      ...(volumeName === undefined ? {} : { volumeName }),
    },
  );
}
