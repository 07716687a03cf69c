/**
 * What every ACS message handler is given. Handlers run one at a time in frame order on the read loop
 * (fact sheet 2.3) and are synchronous: the store is, and an ack must leave only after the write it
 * acknowledges has committed.
 */
import type { Clock } from '../../../clock.js';
import type { CredentialsManager } from '../../../credentials/manager.js';
import type { Logger } from '../../../logging/types.js';
import type { TaskPolicy } from '../../../model/task-policy.js';
import type { DesiredStateStore } from '../../../store/records.js';
import type { OutboundMessages, OutboundType } from '../model.js';
import type { AcsValidators } from '../schema.js';

/** The store methods the ACS handlers use (a narrow view). */
export type AcsStore = Pick<
  DesiredStateStore,
  | 'transaction'
  | 'putDesiredTask'
  | 'raiseTaskDesiredStatus'
  | 'getTask'
  | 'listTasks'
  | 'appendOutbox'
  | 'getSequenceNumber'
  | 'setSequenceNumber'
  | 'putEniAttachment'
  | 'listEniAttachments'
>;

/** The stop-verification handshake's state; it outlives a connection (the ack may come on the next one). */
export interface ManifestState {
  /** The messageId of the last TaskManifestMessage processed; only a TaskStopVerificationAck with it counts. */
  pendingMessageId?: string;
}

export interface HandlerContext {
  readonly store: AcsStore;
  readonly credentials: CredentialsManager;
  readonly validators: AcsValidators;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly taskPolicy: TaskPolicy;
  readonly updatesEnabled: boolean;
  readonly manifest: ManifestState;
  /** Sends one frame now; a socket that is gone makes it a logged no-op (the backend re-sends what was not acked). */
  send<T extends OutboundType>(type: T, message: OutboundMessages[T]): void;
  /** The desired state from ACS has been written once in this process (the sources-ready gate). */
  markReady(): void;
}

export type Handler<M> = (ctx: HandlerContext, message: M) => void;
