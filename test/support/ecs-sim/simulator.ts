/**
 * The loopback ECS backend: one HTTP server on 127.0.0.1 serving the AWS JSON 1.1 API (ECS and ECR) on
 * `POST /` and the ACS WebSocket on `/ws`, over one shared state that tests read and wait on.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ManifestEntry, RoleCredentials, RoleType } from './acs-messages.js';
import { AcsServer, type UpgradeRejection } from './acs-server.js';
import type { AcsTask } from './acs-task.js';
import { ApiFaults, type FaultOperation } from './api-faults.js';
import { handleApiRequest } from './api-server.js';
import { clusterArn, clusterName } from './arns.js';
import { SimUsageError } from './errors.js';
import { compileOptions, type EcsSimulatorOptions, type SimSettings } from './options.js';
import type { AcsConnection, AgentFrame, ApiCall, RegisteredInstance, SentFrame, TaskStateChange } from './records.js';
import { SimState } from './state.js';

/** Where a message goes: default the newest connection's instance, else the newest registered instance. */
export interface AddressOptions {
  clusterArn?: string;
  containerInstanceArn?: string;
}

export interface SendOptions extends AddressOptions {
  messageId?: string;
  /** false: return the messageId at once; `waitForAck` can wait later. Default true. */
  awaitAck?: boolean;
  timeoutMs?: number;
}

export interface ManifestOptions extends SendOptions {
  /** Default: every task the simulator sent, with the desired status it last sent. */
  tasks?: ManifestEntry[];
  /** Default: strictly above every timeline sent before (fact sheet 2.8 discards anything not greater). */
  timeline?: number;
}

export interface CredentialsOptions extends SendOptions {
  taskArn: string;
  roleType?: RoleType;
  credentials?: Partial<RoleCredentials>;
}

export interface SimulatorFaults {
  /** Terminates the current ACS socket (the agent sees 1006); false when none was open. */
  dropSocket(): boolean;
  /** Sends a frame that is not JSON; false when no socket was open. */
  garbage(text?: string): boolean;
  delayAcks(ms: number): void;
  throttle(operation: FaultOperation, count?: number): void;
  serverError(operation: FaultOperation, count?: number): void;
  invalidParameter(operation: FaultOperation, count?: number): void;
  clientError(operation: FaultOperation, count?: number): void;
  rejectConnections(count: number, body?: string | Record<string, string>, statusCode?: number): void;
  /**
   * Ends an outage: forgets every API fault and connection rejection still queued, so a test can make the
   * backend unreachable "for a while" (a large count) and decide when it is back rather than guess a count.
   */
  heal(): void;
}

/** Plain HTTP, or HTTPS when the simulator was started with `tls`; both serve `request` and `upgrade` alike. */
export type SimServer = HttpServer | HttpsServer;

export class EcsSimulator {
  readonly state: SimState;
  readonly faults: SimulatorFaults;
  private readonly apiFaults = new ApiFaults();
  private readonly acs: AcsServer;
  private readonly tlsFailures: string[] = [];
  private seqNum = 0;
  private lastTimeline = 0;

  constructor(
    readonly settings: SimSettings,
    private readonly server: SimServer,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.state = new SimState(settings.clusters);
    this.acs = new AcsServer({ state: this.state, settings, nowMs });
    const api = this.apiFaults;
    const acs = this.acs;
    this.faults = {
      dropSocket: () => acs.dropSocket(),
      garbage: (text = 'this is not JSON {') => acs.sendRaw(text),
      delayAcks: (ms) => acs.delayAcks(ms),
      throttle: (op, count) => api.throttle(op, count),
      serverError: (op, count) => api.serverError(op, count),
      invalidParameter: (op, count) => api.invalidParameter(op, count),
      clientError: (op, count) => api.clientError(op, count),
      rejectConnections: (count, body, statusCode) => acs.rejectConnections(count, body, statusCode),
      heal: () => {
        api.clear();
        acs.clearRejections();
      },
    };
    server.on('request', (req, res) => {
      void handleApiRequest(req, res, {
        state: this.state,
        settings,
        faults: this.apiFaults,
        baseUrl: () => this.url,
        nowMs,
      });
    });
    server.on('upgrade', (req, socket, head) => {
      void this.acs.handleUpgrade(req, socket, head);
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:<port>` (`https://` with `tls`): the ECS (and ECR) endpoint, and `ECS_BACKEND_HOST`. */
  get url(): string {
    return `${this.settings.tls === undefined ? 'http' : 'https'}://127.0.0.1:${this.port}`;
  }

  /** The ACS URL an agent builds from DiscoverPollEndpoint's answer (fact sheet 2.1), without the query. */
  get acsUrl(): string {
    return `${this.settings.tls === undefined ? 'ws' : 'wss'}://127.0.0.1:${this.port}/ws`;
  }

  get credentials(): { accessKeyId: string; secretAccessKey: string } {
    return { accessKeyId: this.settings.accessKeyId, secretAccessKey: this.settings.secretAccessKey };
  }

  // ---- recorded state -----------------------------------------------------------------------------------

  calls(operation?: string): ApiCall[] {
    return this.state.calls.filter((c) => operation === undefined || c.operation === operation);
  }

  taskStateChanges(taskArn?: string): TaskStateChange[] {
    return this.state.taskChanges.filter((c) => taskArn === undefined || c.task === taskArn);
  }

  connections(): AcsConnection[] {
    return [...this.state.connections];
  }

  /** TLS handshakes that failed on this server (with `tls`), as the server saw them: `<code>: <message>`. */
  tlsHandshakeFailures(): string[] {
    return [...this.tlsFailures];
  }

  /** Called by the HTTPS server when a client's handshake fails (a refused certificate, no common protocol). */
  recordTlsFailure(error: Error & { code?: string }): void {
    this.tlsFailures.push(`${error.code ?? 'ERR'}: ${error.message.trim()}`);
    this.settings.logger.info('tls handshake failed', { error: error.message.trim() });
    this.state.changed();
  }

  upgradeRejections(): UpgradeRejection[] {
    return [...this.acs.rejections];
  }

  instances(): RegisteredInstance[] {
    return [...this.state.instances.values()];
  }

  clusters(): string[] {
    return [...this.state.clusters];
  }

  agentFrames(type?: string): AgentFrame[] {
    return this.state.agentFrames.filter((f) => type === undefined || f.type === type);
  }

  sentFrames(type?: string): SentFrame[] {
    return this.state.sentFrames.filter((f) => type === undefined || f.type === type);
  }

  /** The desired status the backend last sent per task ARN. */
  desiredTasks(): Map<string, { clusterArn: string; desiredStatus: string }> {
    return new Map(this.state.desiredTasks);
  }

  // ---- waits --------------------------------------------------------------------------------------------

  /** Resolves with the first SubmitTaskStateChange of `taskArn` reporting `status`. */
  waitForTaskStatus(taskArn: string, status: string, timeoutMs = this.settings.ackTimeoutMs): Promise<TaskStateChange> {
    return this.state.waiters.waitUntil(
      `task ${taskArn} reported ${status}`,
      () => this.taskStateChanges(taskArn).find((c) => c.status === status),
      timeoutMs,
      () => `reported so far: ${JSON.stringify(this.taskStateChanges(taskArn).map((c) => c.status))}`,
    );
  }

  /** Resolves with the `n`th ACS connection (1-based, counting every connect ever accepted). */
  waitForConnection(n = 1, timeoutMs = this.settings.ackTimeoutMs): Promise<AcsConnection> {
    return this.state.waiters.waitUntil(
      `ACS connection #${n}`,
      () => this.state.connections[n - 1],
      timeoutMs,
      () => `${this.state.connections.length} connections, ${this.acs.rejections.length} refused`,
    );
  }

  /** Resolves with the first call of `operation` (after `afterSeq`) matching `predicate`. */
  waitForCall(
    operation: string,
    options: { afterSeq?: number; predicate?: (call: ApiCall) => boolean; timeoutMs?: number } = {},
  ): Promise<ApiCall> {
    const after = options.afterSeq ?? 0;
    return this.state.waiters.waitUntil(
      `a ${operation} call`,
      () => this.calls(operation).find((c) => c.seq > after && (options.predicate?.(c) ?? true)),
      options.timeoutMs ?? this.settings.ackTimeoutMs,
    );
  }

  /** Resolves with the first agent frame of `type` (from index `from` of agentFrames()) matching `predicate`. */
  waitForAgentFrame(
    type: string,
    options: { from?: number; predicate?: (frame: AgentFrame) => boolean; timeoutMs?: number } = {},
  ): Promise<AgentFrame> {
    return this.state.waiters.waitUntil(
      `an agent ${type} frame`,
      () =>
        this.state.agentFrames
          .slice(options.from ?? 0)
          .find((f) => f.type === type && (options.predicate?.(f) ?? true)),
      options.timeoutMs ?? this.settings.ackTimeoutMs,
    );
  }

  /** Resolves when the agent acked `messageId`; rejects with SimNackError if it nacked it. */
  waitForAck(messageId: string, timeoutMs = this.settings.ackTimeoutMs): Promise<void> {
    return this.state.waiters
      .waitUntil(
        `the agent's ack of ${messageId}`,
        () => {
          const nack = this.acs.nackError(messageId);
          if (nack !== undefined) throw nack;
          return this.state.acked.has(messageId) ? true : undefined;
        },
        timeoutMs,
      )
      .then(() => undefined);
  }

  /** Resolves when a condition over the simulator holds; for waits the helpers above do not cover. */
  waitUntil<T>(what: string, probe: () => T | undefined, timeoutMs = this.settings.ackTimeoutMs): Promise<T> {
    return this.state.waiters.waitUntil(what, probe, timeoutMs);
  }

  // ---- ACS messages -------------------------------------------------------------------------------------

  /** PayloadMessage (fact sheet 3.1) with `tasks`; resolves with its messageId once the agent acked it. */
  async sendPayload(tasks: readonly AcsTask[], opts: SendOptions = {}): Promise<string> {
    const address = this.address(opts);
    const messageId = opts.messageId ?? randomUUID();
    this.seqNum += 1;
    const withCluster = tasks.map((t) => ({ ...t, taskClusterArn: t.taskClusterArn ?? address.clusterArn }));
    for (const task of withCluster) {
      this.state.desiredTasks.set(task.arn, { clusterArn: task.taskClusterArn, desiredStatus: task.desiredStatus });
      for (const field of ['roleCredentials', 'executionRoleCredentials'] as const) {
        const issued = (task as Record<string, unknown>)[field] as Partial<RoleCredentials> | undefined;
        if (issued?.accessKeyId && issued.secretAccessKey) this.issueKey(issued.accessKeyId, issued.secretAccessKey);
      }
    }
    this.acs.deliver('PayloadMessage', {
      ...address,
      messageId,
      seqNum: this.seqNum,
      generatedAt: this.nowMs(),
      tasks: withCluster,
    });
    return this.settle(messageId, opts);
  }

  /** TaskManifestMessage (fact sheet 2.4, 2.6); a stop verification it triggers is confirmed automatically. */
  async sendManifest(opts: ManifestOptions = {}): Promise<string> {
    const address = this.address(opts);
    const messageId = opts.messageId ?? randomUUID();
    const timeline = opts.timeline ?? Math.max(this.lastTimeline + 1, this.nowMs());
    this.lastTimeline = Math.max(this.lastTimeline, timeline);
    const tasks =
      opts.tasks ??
      [...this.state.desiredTasks].map(([taskArn, t]) => ({
        taskArn,
        taskClusterArn: t.clusterArn,
        desiredStatus: t.desiredStatus,
      }));
    this.acs.deliver('TaskManifestMessage', {
      ...address,
      messageId,
      generatedAt: this.nowMs(),
      timeline,
      tasks,
    });
    return this.settle(messageId, opts);
  }

  /**
   * A fresh set of role credentials for a task's `roleCredentials` / `executionRoleCredentials` (a unique
   * access key, so a test can tell which set signed a request). ECR accepts them once they are sent to the
   * agent (sendPayload, sendCredentials), as AWS accepts credentials STS issued.
   */
  roleCredentials(overrides: Partial<RoleCredentials> = {}): RoleCredentials {
    const id = randomUUID();
    return {
      credentialsId: id,
      roleArn: `arn:aws:iam::${this.settings.accountId}:role/sim-task-role`,
      accessKeyId: `ASIASIM${id.replaceAll('-', '').slice(0, 13).toUpperCase()}`,
      secretAccessKey: `simulated-secret-${randomUUID()}`,
      sessionToken: 'simulated-session-token',
      expiration: new Date(this.nowMs() + 3_600_000).toISOString(),
      ...overrides,
    };
  }

  /** Stops accepting signatures of `accessKeyId` (credentials expired or revoked). */
  revokeKey(accessKeyId: string): void {
    this.state.issuedKeys.delete(accessKeyId);
  }

  private issueKey(accessKeyId: string, secretAccessKey: string): void {
    // The instance's own key is not a role credential: never replace its secret.
    if (accessKeyId !== this.settings.accessKeyId) this.state.issuedKeys.set(accessKeyId, secretAccessKey);
  }

  /** IAMRoleCredentialsMessage; resolves once the IAMRoleCredentialsAckRequest arrived. */
  async sendCredentials(opts: CredentialsOptions): Promise<string> {
    const messageId = opts.messageId ?? randomUUID();
    const address = this.address(opts);
    const roleCredentials: RoleCredentials = {
      credentialsId: randomUUID(),
      roleArn: `arn:aws:iam::${this.settings.accountId}:role/sim-task-role`,
      accessKeyId: 'ASIASIMULATORTASK',
      secretAccessKey: 'simulated-task-secret',
      sessionToken: 'simulated-session-token',
      expiration: new Date(this.nowMs() + 3_600_000).toISOString(),
      ...opts.credentials,
    };
    this.issueKey(roleCredentials.accessKeyId, roleCredentials.secretAccessKey);
    this.acs.deliver('IAMRoleCredentialsMessage', {
      messageId,
      taskArn: opts.taskArn,
      taskClusterArn: this.state.desiredTasks.get(opts.taskArn)?.clusterArn ?? address.clusterArn,
      roleType: opts.roleType ?? 'TaskApplication',
      roleCredentials,
    });
    return this.settle(messageId, opts);
  }

  /** Any other backend message the agent acks by messageId (ENI attachments, updates); returns the messageId. */
  sendMessage(type: string, message: Record<string, unknown> & { messageId: string }): string {
    this.acs.deliver(type, message);
    return message.messageId;
  }

  /** A frame exactly as given, on the current socket; false when none was open. */
  sendRaw(text: string): boolean {
    return this.acs.sendRaw(text);
  }

  /** Later connects of `arn` are refused with InactiveInstanceException (a deregistered instance, fact sheet 2.7). */
  deactivateInstance(arn: string): void {
    const instance = this.state.instances.get(arn);
    if (instance === undefined) throw new SimUsageError(`no registered instance ${arn}`, { arn });
    instance.active = false;
    this.state.changed();
  }

  async close(): Promise<void> {
    this.state.waiters.close();
    await this.acs.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private address(opts: AddressOptions): { clusterArn: string; containerInstanceArn: string } {
    const scope = { region: this.settings.region, accountId: this.settings.accountId };
    const connected = this.acs.currentConnection()?.query['containerInstanceArn'];
    const instances = this.instances();
    const instanceArn = opts.containerInstanceArn ?? connected ?? instances[instances.length - 1]?.arn;
    if (instanceArn === undefined) {
      throw new SimUsageError('no container instance registered yet: pass containerInstanceArn or register first');
    }
    const cluster = this.state.instances.get(instanceArn)?.cluster ?? this.settings.clusters[0] ?? 'default';
    return {
      clusterArn: opts.clusterArn ?? clusterArn(scope, clusterName(cluster)),
      containerInstanceArn: instanceArn,
    };
  }

  private async settle(messageId: string, opts: SendOptions): Promise<string> {
    if (opts.awaitAck === false) return messageId;
    await this.waitForAck(messageId, opts.timeoutMs ?? this.settings.ackTimeoutMs);
    return messageId;
  }
}

export async function startEcsSimulator(options: EcsSimulatorOptions = {}): Promise<EcsSimulator> {
  const settings = compileOptions(options);
  const server: SimServer = settings.tls === undefined ? createHttpServer() : createHttpsServer({ ...settings.tls });
  const simulator = new EcsSimulator(settings, server);
  if (settings.tls !== undefined) {
    (server as HttpsServer).on('tlsClientError', (error: Error & { code?: string }) =>
      simulator.recordTlsFailure(error),
    );
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  settings.logger.info('ecs simulator listening', { url: simulator.url });
  return simulator;
}
