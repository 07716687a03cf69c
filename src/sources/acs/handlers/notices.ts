/**
 * Messages that get no reply (fact sheet 2.4): CloseMessage and ErrorMessage are logged; a backend exception
 * arriving as a frame is logged (it normally arrives as an upgrade-failure body instead).
 */
import type { TextMessage } from '../model.js';
import type { HandlerContext } from './context.js';

export function handleNotice(ctx: HandlerContext, message: TextMessage, type: string): void {
  ctx.logger.warn(`ACS ${type} received`, { type, message: message.message ?? '' });
}

export function handleException(ctx: HandlerContext, type: string, text: string): void {
  ctx.logger.warn('ACS sent an exception', { type, message: text });
}
