/**
 * AttachTaskNetworkInterfacesMessage / AttachInstanceNetworkInterfacesMessage (fact sheet 2.4, 2.6, 12): each
 * ENI is recorded as an expected attachment, by MAC, expiring `waitTimeoutMs` from now, then the message is
 * acked at once. An ENI already recorded under that MAC only has its expiry re-armed (its status and sent
 * flag are kept). Watching for the MAC on the host and reporting ATTACHED is the ENIs loop's job.
 */
import { errorMessage } from '../../../errors.js';
import type { EniAttachmentRecord } from '../../../store/records.js';
import type { AttachInstanceNetworkInterfacesMessage, AttachTaskNetworkInterfacesMessage } from '../model.js';
import type { HandlerContext } from './context.js';

export function handleAttachTaskEnis(ctx: HandlerContext, message: AttachTaskNetworkInterfacesMessage): void {
  recordEnis(ctx, message, 'task-eni', message.taskArn);
}

export function handleAttachInstanceEnis(ctx: HandlerContext, message: AttachInstanceNetworkInterfacesMessage): void {
  recordEnis(ctx, message, 'instance-eni', undefined);
}

function recordEnis(
  ctx: HandlerContext,
  message: AttachInstanceNetworkInterfacesMessage,
  kind: EniAttachmentRecord['kind'],
  taskArn: string | undefined,
): void {
  const expiresAtMs = ctx.clock.nowMs() + message.waitTimeoutMs;
  const log = ctx.logger.child({ messageId: message.messageId, kind, ...(taskArn ? { taskArn } : {}) });
  try {
    ctx.store.transaction(() => {
      const byMac = new Map(ctx.store.listEniAttachments().map((a) => [a.macAddress.toLowerCase(), a]));
      for (const eni of message.elasticNetworkInterfaces) {
        const known = byMac.get(eni.macAddress.toLowerCase());
        if (known !== undefined) {
          ctx.store.putEniAttachment({ ...known, expiresAtMs });
          continue;
        }
        const record: EniAttachmentRecord = {
          attachmentArn: eni.attachmentArn,
          macAddress: eni.macAddress,
          kind,
          status: 'NONE',
          expiresAtMs,
          sent: false,
          eni: { ...eni },
        };
        if (taskArn !== undefined) record.taskArn = taskArn;
        ctx.store.putEniAttachment(record);
      }
    });
  } catch (error) {
    log.error('cannot record the ENI attachments; not acknowledging them', { error: errorMessage(error) });
    return;
  }
  log.info('ENI attachments expected', {
    macAddresses: message.elasticNetworkInterfaces.map((e) => e.macAddress),
    waitTimeoutMs: message.waitTimeoutMs,
  });
  ctx.send('AckRequest', {
    cluster: message.clusterArn,
    containerInstance: message.containerInstanceArn,
    messageId: message.messageId,
  });
}
