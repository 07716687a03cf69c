/**
 * PayloadMessage (fact sheet 2.6): the tasks ACS wants on this instance.
 *
 *  1. The message was validated (its messageId, clusterArn and containerInstanceArn present) before this
 *     runs; a message without tasks is logged and not acked, as upstream.
 *  2. Each task is validated and converted on its own. An unusable task gets upstream's reason
 *     `UnrecogniedTaskError: Error loading task - <error>` (the typo is upstream's and is kept, since
 *     backends and dashboards may match it), and the message is then **not** acked. What happens to the
 *     task depends on whether this agent already runs it:
 *       - unknown ARN: nothing runs, so a STOPPED change with that reason is reported at once (upstream's
 *         handleInvalidTask);
 *       - known ARN (an update of a task already here): its desired status is raised to STOPPED with that
 *         reason, and the loops stop its containers and report STOPPED — with exit codes — once they are
 *         down. Upstream reports STOPPED at once and keeps running the task ("it brings down the containers
 *         too" says its comment, but nothing tells its engine), which leaves the backend believing a task is
 *         gone while its containers still hold the host's ports and memory; ecsd makes the report true
 *         instead of early, and sends no second, container-less STOPPED ahead of the real one.
 *  3. Everything — tasks whose desired status is STOPPED first, then the others; the STOPPED reports of
 *     unusable tasks; a raised sequence number — is written in ONE store transaction, so a crash or a failed
 *     write never leaves part of a payload. Desired status only moves forward (`putDesiredTask`), so a
 *     duplicate or reordered payload changes nothing and is acked again.
 *  4. Only after the commit: credentials go to the in-memory manager, then the AckRequest and one
 *     IAMRoleCredentialsAckRequest per credential set are sent — if and only if every task was handled.
 */

import type { RoleType, TaskCredentials } from '../../../credentials/manager.js';
import { errorMessage, TaskValidationError } from '../../../errors.js';
import type { TaskSpec } from '../../../model/task.js';
import type { NewOutboxEntry } from '../../../store/records.js';
import type { AcsIamRoleCredentials, AcsTask, PayloadMessage } from '../model.js';
import { acsTaskToSpec } from '../payload-to-task.js';
import { withoutNulls } from '../schema.js';
import type { HandlerContext } from './context.js';

/** Upstream's exact prefix, misspelling included (agent/acs/session/error.go). */
export const UNRECOGNIZED_TASK_REASON_PREFIX = 'UnrecogniedTaskError: Error loading task - ';

interface Accepted {
  spec: TaskSpec;
  credentials: TaskCredentials[];
}

export function handlePayload(ctx: HandlerContext, message: PayloadMessage): void {
  const log = ctx.logger.child({ messageId: message.messageId });
  const tasks = message.tasks ?? [];
  if (tasks.length === 0) {
    log.crit('ACS payload has no tasks; not acknowledging it');
    return;
  }
  const accepted: Accepted[] = [];
  const rejected: Rejected[] = [];
  tasks.forEach((raw, index) => {
    const outcome = acceptTask(ctx, raw, index);
    if ('spec' in outcome) {
      accepted.push(outcome);
      return;
    }
    log.warn('ACS payload task is unusable; stopping it and not acknowledging the message', {
      index,
      taskArn: outcome.taskArn,
      error: outcome.error,
    });
    if (outcome.taskArn === undefined) {
      // Without an ARN there is nothing to report the task as (upstream logs it as critical).
      log.crit('ACS payload task has no ARN', { index });
      return;
    }
    rejected.push({ taskArn: outcome.taskArn, reason: `${UNRECOGNIZED_TASK_REASON_PREFIX}${outcome.error}` });
  });

  // Stops first: a start must never be applied ahead of a stop of the same sequence (upstream's ordering).
  const ordered = [
    ...accepted.filter((a) => a.spec.desiredStatus === 'STOPPED'),
    ...accepted.filter((a) => a.spec.desiredStatus !== 'STOPPED'),
  ];
  let changed = 0;
  let stoppedKnown = 0;
  try {
    ctx.store.transaction(() => {
      for (const { spec } of ordered) if (ctx.store.putDesiredTask(spec)) changed++;
      // Decided inside the transaction, so the task cannot appear or go between the look-up and the write.
      const reports: NewOutboxEntry[] = [];
      for (const { taskArn, reason } of rejected) {
        if (ctx.store.getTask(taskArn) === undefined) reports.push(stoppedReport(taskArn, reason));
        else if (ctx.store.raiseTaskDesiredStatus(taskArn, 'STOPPED', reason)) stoppedKnown++;
      }
      if (reports.length > 0) ctx.store.appendOutbox(reports);
      if (message.seqNum !== undefined && message.seqNum > ctx.store.getSequenceNumber()) {
        ctx.store.setSequenceNumber(message.seqNum);
      }
    });
  } catch (error) {
    log.error('cannot write the ACS payload to the store; not acknowledging it (ACS will send it again)', {
      tasks: tasks.length,
      error: errorMessage(error),
    });
    return;
  }
  ctx.markReady();

  // Kept in the same synchronous run as the write above: the images loop reacts to that write only after this
  // handler returns, so an ECR pull with the execution role never looks before the credentials are here.
  const credentialAcks: Array<{ credentialsId: string; expiration: string }> = [];
  let allHandled = rejected.length === 0 && accepted.length === tasks.length;
  for (const { spec, credentials } of ordered) {
    for (const entry of credentials) {
      try {
        ctx.credentials.set(entry);
        credentialAcks.push({ credentialsId: entry.credentialsId, expiration: entry.expiration });
      } catch (error) {
        allHandled = false;
        log.error('cannot keep the task credentials; not acknowledging the message', {
          taskArn: spec.arn,
          roleType: entry.roleType,
          credentialsId: entry.credentialsId,
          error: errorMessage(error),
        });
      }
    }
  }
  log.info('ACS payload written', {
    tasks: tasks.length,
    changed,
    rejected: rejected.length,
    stoppedKnown,
    seqNum: message.seqNum,
    acked: allHandled,
  });
  if (!allHandled) return;
  ctx.send('AckRequest', {
    cluster: message.clusterArn,
    containerInstance: message.containerInstanceArn,
    messageId: message.messageId,
  });
  for (const ack of credentialAcks) {
    ctx.send('IAMRoleCredentialsAckRequest', { messageId: message.messageId, ...ack });
  }
}

/** An unusable task with an ARN: what it is stopped or reported STOPPED with. */
interface Rejected {
  taskArn: string;
  reason: string;
}

type TaskOutcome = Accepted | { taskArn?: string; error: string };

/** The immediate STOPPED of a task this agent never ran: no containers to report (upstream sends an empty task). */
function stoppedReport(taskArn: string, reason: string): NewOutboxEntry {
  return { taskArn, kind: 'task', payload: { task: taskArn, status: 'STOPPED', reason, containers: [] } };
}

function acceptTask(ctx: HandlerContext, raw: unknown, index: number): TaskOutcome {
  const value = withoutNulls(raw);
  const taskArn = arnOf(value);
  if (value === undefined || value === null) return { error: `tasks[${index}] is null` };
  const issues = ctx.validators.task(value);
  if (issues.length > 0) return { taskArn, error: issues.join('; ') };
  const task = value as AcsTask;
  try {
    const spec = acsTaskToSpec(task, ctx.taskPolicy);
    const credentials: TaskCredentials[] = [];
    if (task.roleCredentials) credentials.push(toTaskCredentials(task.arn, 'TaskApplication', task.roleCredentials));
    if (task.executionRoleCredentials) {
      credentials.push(toTaskCredentials(task.arn, 'TaskExecution', task.executionRoleCredentials));
    }
    return { spec, credentials };
  } catch (error) {
    if (error instanceof TaskValidationError) return { taskArn, error: error.message };
    return { taskArn, error: errorMessage(error) };
  }
}

export function toTaskCredentials(taskArn: string, roleType: RoleType, creds: AcsIamRoleCredentials): TaskCredentials {
  return {
    taskArn,
    roleType,
    credentialsId: creds.credentialsId,
    roleArn: creds.roleArn ?? '',
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    sessionToken: creds.sessionToken ?? '',
    expiration: creds.expiration ?? '',
  };
}

function arnOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const arn = (value as { arn?: unknown }).arn;
  return typeof arn === 'string' && arn !== '' ? arn : undefined;
}
