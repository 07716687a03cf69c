/**
 * IAMRoleCredentialsMessage (fact sheet 2.4, 2.6): refreshed credentials of a task's role. The task must be
 * known (an unknown task is an error and the message is not acked, as upstream); the credentials go to the
 * in-memory manager, which points the task at the new ID, then IAMRoleCredentialsAckRequest is sent.
 */
import { errorMessage } from '../../../errors.js';
import type { IamRoleCredentialsMessage } from '../model.js';
import type { HandlerContext } from './context.js';
import { toTaskCredentials } from './payload.js';

export function handleCredentials(ctx: HandlerContext, message: IamRoleCredentialsMessage): void {
  const fields = {
    messageId: message.messageId,
    taskArn: message.taskArn,
    roleType: message.roleType,
    credentialsId: message.roleCredentials.credentialsId,
  };
  if (ctx.store.getTask(message.taskArn) === undefined) {
    ctx.logger.warn('ACS credentials for a task this agent does not know; not acknowledging them', fields);
    return;
  }
  const entry = toTaskCredentials(message.taskArn, message.roleType, message.roleCredentials);
  try {
    ctx.credentials.set(entry);
  } catch (error) {
    ctx.logger.error('cannot keep the refreshed task credentials; not acknowledging them', {
      ...fields,
      error: errorMessage(error),
    });
    return;
  }
  ctx.logger.info('ACS task credentials refreshed', fields);
  ctx.send('IAMRoleCredentialsAckRequest', {
    messageId: message.messageId,
    expiration: entry.expiration,
    credentialsId: entry.credentialsId,
  });
}
