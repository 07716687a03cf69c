/** Shared fixtures of the ACS tests: a handler context over an in-memory store that records what it sends. */
import type { ExecutionContext } from 'ava';
import { CredentialsManager } from '../src/credentials/manager.js';
import { DEFAULT_TASK_POLICY, type TaskPolicy } from '../src/model/task-policy.js';
import { dispatchFrame } from '../src/sources/acs/dispatch.js';
import type { AcsStore, HandlerContext } from '../src/sources/acs/handlers/context.js';
import type { AcsMessageTypeLabel } from '../src/sources/acs/message-types.js';
import { defaultAcsValidators } from '../src/sources/acs/schema.js';
import type { DesiredStateStore } from '../src/store/records.js';
import { FakeClock } from './helpers/fake-clock.js';
import { capturingLogger, memoryStore } from './local-source-helpers.js';

export const CLUSTER_ARN = 'arn:aws:ecs:us-east-1:111122223333:cluster/demo';
export const INSTANCE_ARN = 'arn:aws:ecs:us-east-1:111122223333:container-instance/demo/abc';
export const taskArn = (id: string): string => `arn:aws:ecs:us-east-1:111122223333:task/demo/${id}`;

export interface Harness {
  ctx: HandlerContext;
  store: DesiredStateStore;
  sent: Array<{ type: string; message: Record<string, unknown> }>;
  log: ReturnType<typeof capturingLogger>;
  credentials: CredentialsManager;
  clock: FakeClock;
  counted: AcsMessageTypeLabel[];
  ready: () => boolean;
  /** Feed one raw frame through the dispatcher, as the session does. */
  frame(value: unknown): void;
}

export function harness(
  t: ExecutionContext,
  options: { policy?: TaskPolicy; updatesEnabled?: boolean; store?: AcsStore } = {},
): Harness {
  const store = memoryStore(t);
  const sent: Harness['sent'] = [];
  const log = capturingLogger();
  const credentials = new CredentialsManager();
  const clock = new FakeClock();
  const counted: AcsMessageTypeLabel[] = [];
  let ready = false;
  const ctx: HandlerContext = {
    store: options.store ?? store,
    credentials,
    validators: defaultAcsValidators(),
    logger: log,
    clock,
    taskPolicy: options.policy ?? DEFAULT_TASK_POLICY,
    updatesEnabled: options.updatesEnabled ?? false,
    manifest: {},
    send: (type, message) => {
      sent.push({ type, message: message as unknown as Record<string, unknown> });
    },
    markReady: () => {
      ready = true;
    },
  };
  return {
    ctx,
    store,
    sent,
    log,
    credentials,
    clock,
    counted,
    ready: () => ready,
    frame: (value) =>
      dispatchFrame(ctx, typeof value === 'string' ? value : JSON.stringify(value), {
        maxFrameBytes: 1024 * 1024,
        countMessage: (type) => counted.push(type),
      }),
  };
}

export function acsTask(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    arn: taskArn(id),
    family: 'web',
    version: '3',
    desiredStatus: 'RUNNING',
    containers: [{ name: 'app', image: 'busybox:1.36', essential: true, command: ['sleep', '3600'] }],
    ...overrides,
  };
}

export function payload(tasks: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'PayloadMessage',
    message: {
      messageId: 'm-1',
      clusterArn: CLUSTER_ARN,
      containerInstanceArn: INSTANCE_ARN,
      seqNum: 7,
      tasks,
      ...extra,
    },
  };
}

export const roleCredentials = (id: string): Record<string, unknown> => ({
  credentialsId: id,
  roleArn: 'arn:aws:iam::111122223333:role/app',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'secret',
  sessionToken: 'token',
  expiration: '2030-01-01T00:00:00Z',
});
