/**
 * StageUpdateMessage / PerformUpdateMessage (fact sheet 2.6): agent self-update. Nacked with upstream's
 * "Updates are disabled" unless ECS_UPDATES_ENABLED. When enabled, ecsd still Nacks, with a reason saying
 * why: the download-and-verify of the update tarball and the exit-42 hand-over to ecs-init are not built, and
 * acknowledging an update that will never happen would leave the backend waiting for it.
 */
import type { UpdateMessage } from '../model.js';
import type { HandlerContext } from './context.js';

export const UPDATES_DISABLED_REASON = 'Updates are disabled';
export const UPDATES_UNSUPPORTED_REASON = 'Updates are not supported by this agent (ecsd); update the package instead';

export function handleUpdate(ctx: HandlerContext, message: UpdateMessage, type: string): void {
  const reason = ctx.updatesEnabled ? UPDATES_UNSUPPORTED_REASON : UPDATES_DISABLED_REASON;
  ctx.logger.info('ACS update request refused', { type, messageId: message.messageId, reason });
  ctx.send('NackRequest', {
    cluster: message.clusterArn,
    containerInstance: message.containerInstanceArn,
    messageId: message.messageId,
    reason,
  });
}
