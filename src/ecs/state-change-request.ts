/**
 * Outbox payloads → ECS API requests (fact sheet 1.6, 1.8). The payload was built by the containers plan
 * (reconcilers/containers/plan-report.ts) as the wire JSON minus `cluster`; here it is checked, truncated
 * to the backend's limits, stripped of empty optionals and given the SDK's types — timestamps as Date, which
 * the AWS JSON 1.1 serializer writes as epoch seconds. A payload that is not of that shape throws
 * InternalError: it can never be sent, and the caller drops it.
 */
import type {
  AttachmentStateChange,
  ContainerStateChange,
  NetworkBinding,
  SubmitAttachmentStateChangesCommandInput,
  SubmitTaskStateChangeCommandInput,
} from '@aws-sdk/client-ecs';
import { InternalError } from '../errors.js';

/** Backend limits (fact sheet 1.6; container reason 1024 since v1.105.1, 255 before). */
export const TASK_REASON_MAX_CHARS = 1024;
export const CONTAINER_REASON_MAX_CHARS = 1024;
export const RUNTIME_ID_MAX_CHARS = 255;
export const IMAGE_DIGEST_MAX_CHARS = 255;

/**
 * The attachment entry payload (`kind: 'attachment'`): an instance ENI or resource attachment's new status,
 * sent with SubmitAttachmentStateChanges; with `task`, a task ENI's ack, sent as the attachment-only
 * SubmitTaskStateChange variant (1.6).
 */
export interface AttachmentChangePayload {
  task?: string;
  attachments: Array<{ attachmentArn: string; status: string }>;
}

type Json = Record<string, unknown>;

function fail(what: string, payload: unknown): never {
  throw new InternalError(`outbox payload cannot be sent: ${what}`, {
    errorClass: 'terminal',
    context: { payload: JSON.stringify(payload).slice(0, 512) },
  });
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const truncate = (s: string | undefined, max: number): string | undefined => (s === undefined ? s : s.slice(0, max));

/** Epoch seconds (fractional) → Date, which the SDK serialises back to epoch seconds. */
function date(v: unknown): Date | undefined {
  const seconds = num(v);
  return seconds === undefined ? undefined : new Date(seconds * 1000);
}

/** Copies only the defined values, so an absent optional is absent on the wire, not `null`. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function networkBinding(b: unknown, payload: unknown): NetworkBinding {
  if (!isObject(b)) fail('a networkBindings entry is not an object', payload);
  return defined({
    bindIP: str(b['bindIP']),
    containerPort: num(b['containerPort']),
    hostPort: num(b['hostPort']),
    protocol: str(b['protocol']) as NetworkBinding['protocol'],
    containerPortRange: str(b['containerPortRange']),
    hostPortRange: str(b['hostPortRange']),
  });
}

function containerChange(c: unknown, payload: unknown): ContainerStateChange {
  if (!isObject(c)) fail('a containers entry is not an object', payload);
  const containerName = str(c['containerName']) ?? fail('a container has no containerName', payload);
  const status = str(c['status']) ?? fail(`container ${containerName} has no status`, payload);
  const bindings = Array.isArray(c['networkBindings']) ? c['networkBindings'] : [];
  return defined({
    containerName,
    runtimeId: truncate(str(c['runtimeId']), RUNTIME_ID_MAX_CHARS),
    imageDigest: truncate(str(c['imageDigest']), IMAGE_DIGEST_MAX_CHARS),
    status,
    exitCode: num(c['exitCode']),
    reason: truncate(str(c['reason']), CONTAINER_REASON_MAX_CHARS),
    networkBindings: bindings.length === 0 ? undefined : bindings.map((b) => networkBinding(b, payload)),
  });
}

export function taskStateChangeRequest(cluster: string, payload: Json): SubmitTaskStateChangeCommandInput {
  const task = str(payload['task']) ?? fail('no task ARN', payload);
  const status = str(payload['status']) ?? fail('no status', payload);
  const containers = Array.isArray(payload['containers']) ? payload['containers'] : [];
  return defined({
    cluster,
    task,
    status,
    reason: truncate(str(payload['reason']), TASK_REASON_MAX_CHARS),
    containers: containers.length === 0 ? undefined : containers.map((c) => containerChange(c, payload)),
    pullStartedAt: date(payload['pullStartedAt']),
    pullStoppedAt: date(payload['pullStoppedAt']),
    executionStoppedAt: date(payload['executionStoppedAt']),
  });
}

function attachments(payload: Json): AttachmentStateChange[] {
  const list = Array.isArray(payload['attachments']) ? payload['attachments'] : [];
  if (list.length === 0) fail('no attachments', payload);
  return list.map((a) => {
    if (!isObject(a)) fail('an attachments entry is not an object', payload);
    return {
      attachmentArn: str(a['attachmentArn']) ?? fail('an attachment has no attachmentArn', payload),
      status: str(a['status']) ?? fail('an attachment has no status', payload),
    };
  });
}

export type AttachmentRequest =
  | { operation: 'SubmitTaskStateChange'; input: SubmitTaskStateChangeCommandInput }
  | { operation: 'SubmitAttachmentStateChanges'; input: SubmitAttachmentStateChangesCommandInput };

export function attachmentChangeRequest(cluster: string, payload: Json): AttachmentRequest {
  const task = str(payload['task']);
  return task === undefined
    ? { operation: 'SubmitAttachmentStateChanges', input: { cluster, attachments: attachments(payload) } }
    : { operation: 'SubmitTaskStateChange', input: { cluster, task, attachments: attachments(payload) } };
}
