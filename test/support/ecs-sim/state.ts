/**
 * Everything the simulated backend knows and has seen: clusters, container instances, API calls,
 * reported task state changes, ACS connections and frames. One object, written by the API and ACS
 * handlers, read by tests; every write wakes the waiters so `wait…` calls resolve on the record itself.
 */
import type { AcsConnection, AgentFrame, ApiCall, RegisteredInstance, SentFrame, TaskStateChange } from './records.js';
import { StateWaiters } from './waiters.js';

export class SimState {
  readonly waiters = new StateWaiters();
  readonly clusters = new Set<string>();
  readonly instances = new Map<string, RegisteredInstance>();
  readonly calls: ApiCall[] = [];
  readonly taskChanges: TaskStateChange[] = [];
  readonly connections: AcsConnection[] = [];
  readonly agentFrames: AgentFrame[] = [];
  readonly sentFrames: SentFrame[] = [];
  /** messageId → when the agent's AckRequest (or credentials ack) for it was taken into account. */
  readonly acked = new Map<string, number>();
  /** messageId → the agent's NackRequest reason. */
  readonly nacked = new Map<string, string>();
  /** taskArn → the desired status the backend last sent for it (payloads, stop verification). */
  readonly desiredTasks = new Map<string, { clusterArn: string; desiredStatus: string }>();
  /**
   * Role credentials this backend handed out (payload `roleCredentials` / `executionRoleCredentials`,
   * IAMRoleCredentialsMessage): access key → secret. ECR accepts requests signed with them, as AWS would.
   */
  readonly issuedKeys = new Map<string, string>();

  constructor(initialClusters: readonly string[]) {
    for (const name of initialClusters) this.clusters.add(name);
  }

  recordCall(call: Omit<ApiCall, 'seq'>): ApiCall {
    const recorded = { ...call, seq: this.calls.length + 1 };
    this.calls.push(recorded);
    this.changed();
    return recorded;
  }

  recordTaskChange(change: TaskStateChange): void {
    this.taskChanges.push(change);
    this.changed();
  }

  recordConnection(connection: AcsConnection): void {
    this.connections.push(connection);
    this.changed();
  }

  recordAgentFrame(frame: AgentFrame): void {
    this.agentFrames.push(frame);
    this.changed();
  }

  recordSentFrame(frame: SentFrame): void {
    this.sentFrames.push(frame);
    this.changed();
  }

  /** After an in-place update of a record (a connection closing, an instance re-registering). */
  changed(): void {
    this.waiters.notify();
  }
}
