/**
 * TaskManifestMessage and the stop-verification handshake (fact sheet 2.6, 2.8).
 *
 * A manifest whose `timeline` is not above the latest sequence number is stale and silently dropped (no ack).
 * Otherwise its timeline is persisted as the latest sequence number, its messageId remembered, and the
 * candidates — ACS tasks this agent wants RUNNING that the manifest does not list as RUNNING — are sent in a
 * TaskStopVerificationMessage next to the AckRequest. Nothing is stopped yet: only a TaskStopVerificationAck
 * carrying the same messageId stops the tasks it lists (desired status raised to STOPPED, never lowered).
 * Local-source tasks are never candidates: ACS does not own them.
 */
import { errorMessage } from '../../../errors.js';
import type { TaskManifestMessage, TaskStopVerificationAck } from '../model.js';
import type { HandlerContext } from './context.js';

export function handleTaskManifest(ctx: HandlerContext, message: TaskManifestMessage): void {
  const log = ctx.logger.child({ messageId: message.messageId, timeline: message.timeline });
  const latest = ctx.store.getSequenceNumber();
  if (message.timeline <= latest) {
    log.debug('stale ACS task manifest dropped', { latestSequenceNumber: latest });
    return;
  }
  try {
    ctx.store.setSequenceNumber(message.timeline);
  } catch (error) {
    log.error('cannot persist the task manifest sequence number; not acknowledging it', { error: errorMessage(error) });
    return;
  }
  ctx.manifest.pendingMessageId = message.messageId;
  const wanted = new Set((message.tasks ?? []).filter((t) => t.desiredStatus === 'RUNNING').map((t) => t.taskArn));
  const candidates = ctx.store
    .listTasks()
    .filter((task) => task.source === 'acs' && task.desiredStatus === 'RUNNING' && !wanted.has(task.arn))
    .map((task) => ({ taskArn: task.arn, taskClusterArn: message.clusterArn, desiredStatus: 'STOPPED' as const }));
  ctx.markReady();
  ctx.send('AckRequest', {
    cluster: message.clusterArn,
    containerInstance: message.containerInstanceArn,
    messageId: message.messageId,
  });
  if (candidates.length > 0) {
    log.info('ACS task manifest omits running tasks; asking the backend to verify their stop', {
      candidates: candidates.map((c) => c.taskArn),
    });
    ctx.send('TaskStopVerificationMessage', { messageId: message.messageId, stopCandidates: candidates });
  }
}

export function handleStopVerificationAck(ctx: HandlerContext, message: TaskStopVerificationAck): void {
  const log = ctx.logger.child({ messageId: message.messageId });
  if (message.messageId !== ctx.manifest.pendingMessageId) {
    log.info('TaskStopVerificationAck for another manifest ignored', {
      pendingMessageId: ctx.manifest.pendingMessageId,
    });
    return;
  }
  const arns = (message.stopTasks ?? []).map((t) => t.taskArn);
  try {
    ctx.store.transaction(() => {
      for (const arn of arns) ctx.store.raiseTaskDesiredStatus(arn, 'STOPPED');
    });
  } catch (error) {
    // The pending id is kept: the backend re-sends an ack that was not acted upon.
    log.error('cannot stop the verified tasks', { tasks: arns, error: errorMessage(error) });
    return;
  }
  ctx.manifest.pendingMessageId = undefined;
  if (arns.length > 0) log.info('stopping tasks the backend verified as stopped', { tasks: arns });
}
