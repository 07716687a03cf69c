/**
 * Identity of a task started from a file. The task ID is 32 hex characters, like a real ECS task ID, and
 * made of two halves so the store alone can answer both questions the source asks after a restart:
 *   - first 16: digest of the file name → which file a stored task came from (so the task of a file that
 *     is now invalid is recognised and left running, and tasks of removed files are found);
 *   - last 16: digest of the canonical content and the revision → whether the file still says the same.
 * The revision is part of the digest so content that returns to an earlier text (A → B → A) gets a fresh
 * ARN: an ARN whose desired status reached STOPPED can never run again (desired status only rises).
 */
import { createHash } from 'node:crypto';
import { taskIdFromArn } from '../../model/task.js';

export const LOCAL_TASK_REGION = 'local';
export const LOCAL_TASK_ACCOUNT = '000000000000';

const HALF_ID_HEX = 16;

/** JSON with object keys sorted at every level: formatting and key order do not change the digest. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((key) => [key, sortKeys(record[key])]),
    );
  }
  return value;
}

function digestHex(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, HALF_ID_HEX);
}

/** The ID half that names the file (base name inside the tasks directory). */
export function fileIdPrefix(fileName: string): string {
  return digestHex(`file\u0000${fileName}`);
}

export function localTaskId(fileName: string, canonicalContent: string, version: string): string {
  return fileIdPrefix(fileName) + digestHex(`content\u0000${version}\u0000${canonicalContent}`);
}

/** `arn:aws:ecs:local:000000000000:task/<cluster>/<id>`; a cluster given as an ARN contributes its name. */
export function localTaskArn(cluster: string, taskId: string): string {
  const clusterName = cluster.slice(cluster.lastIndexOf('/') + 1);
  return `arn:aws:ecs:${LOCAL_TASK_REGION}:${LOCAL_TASK_ACCOUNT}:task/${clusterName}/${taskId}`;
}

/** The file half of a stored task's ID. */
export function fileIdPrefixOfArn(arn: string): string {
  return taskIdFromArn(arn).slice(0, HALF_ID_HEX);
}
