/** HeartbeatMessage → HeartbeatAckRequest{messageId} (fact sheet 2.4). Any inbound frame already reset the inactivity timer. */
import type { HeartbeatMessage } from '../model.js';
import type { HandlerContext } from './context.js';

export function handleHeartbeat(ctx: HandlerContext, message: HeartbeatMessage): void {
  ctx.send('HeartbeatAckRequest', { messageId: message.messageId });
}
