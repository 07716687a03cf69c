/**
 * The ECS-mode sink behind the outbox reporter (reporter.ts): each entry becomes one SubmitTaskStateChange
 * (or SubmitAttachmentStateChanges) call. Upstream's drop rules (fact sheet 1.10): a change the backend
 * rejects with InvalidParameterException is dropped — resending it would be rejected forever and hold back
 * every later change of the task — and so is a payload that cannot be turned into a request at all. Any
 * other failure rejects, so the reporter retries the same head with its backoff.
 */
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging/types.js';
import type { OutboxEntry } from '../store/records.js';
import { serviceCodeOf } from './api-errors.js';
import type { EcsApi } from './client.js';
import type { StateChangeSink } from './reporter.js';
import { attachmentChangeRequest, taskStateChangeRequest } from './state-change-request.js';

export interface EcsStateChangeSinkDeps {
  api: EcsApi;
  /** The cluster the instance registered in (`default` for an empty ECS_CLUSTER). */
  cluster: string;
  logger: Logger;
}

export function ecsStateChangeSink(deps: EcsStateChangeSinkDeps): StateChangeSink {
  const { api, cluster, logger } = deps;

  function send(entry: OutboxEntry): Promise<void> {
    if (entry.kind !== 'attachment') return api.submitTaskStateChange(taskStateChangeRequest(cluster, entry.payload));
    const request = attachmentChangeRequest(cluster, entry.payload);
    return request.operation === 'SubmitTaskStateChange'
      ? api.submitTaskStateChange(request.input)
      : api.submitAttachmentStateChanges(request.input);
  }

  return {
    async submit(entry) {
      let sending: Promise<void>;
      try {
        sending = send(entry);
      } catch (error) {
        logger.error('Dropping a state change that cannot be sent', {
          taskArn: entry.taskArn,
          seq: entry.seq,
          error: errorMessage(error),
        });
        return;
      }
      try {
        await sending;
      } catch (error) {
        if (serviceCodeOf(error) !== 'InvalidParameterException') throw error;
        logger.warn('State change rejected by ECS as invalid; dropping it', {
          taskArn: entry.taskArn,
          seq: entry.seq,
          status: entry.payload['status'],
          reason: errorMessage(error),
        });
      }
    },
  };
}
