/**
 * Identity of a task started from a file, computed from the file alone, so that an agent restarted on an
 * empty or quarantined store computes the same task ARN for the same file and adopts the containers that
 * carry it (label `com.amazonaws.ecs.task-arn`) instead of starting a second copy.
 *
 * The task ID is 32 hex characters, like a real ECS task ID, in three parts:
 *   - 16: digest of the file name → which file a stored task came from (so the task of a file that is now
 *     invalid is recognised and left running, and tasks of removed files are found);
 *   - 12: digest of the canonical content → whether the file still says the same;
 *   - 4: the run, `0000` for the first task of this file with this content. A later run of the same content
 *     (the file was removed and restored, or changed A → B → A) needs a fresh ARN, because an ARN whose
 *     desired status reached STOPPED never runs again (desired status only rises): it is one more than the
 *     highest run of that content the store (or this process) knows.
 * The revision is derived from the content too: the same definition always has the same revision, as an
 * ECS revision names one immutable definition (it does not count up with each change).
 */
import { createHash } from 'node:crypto';
import { taskIdFromArn } from '../../model/task.js';

export const LOCAL_TASK_REGION = 'local';
export const LOCAL_TASK_ACCOUNT = '000000000000';

const FILE_HEX = 16;
const CONTENT_HEX = 12;
const RUN_HEX = 4;
const MAX_RUN = 16 ** RUN_HEX - 1;
/** Revisions are 1..2^24: a short number in container names and `family:revision`, stable per content. */
const REVISION_HEX = 6;

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

function digestHex(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** The ID part that names the file (base name inside the tasks directory). */
export function fileIdPrefix(fileName: string): string {
  return digestHex(`file\u0000${fileName}`, FILE_HEX);
}

/** The ID part that names the content (the canonical JSON of the definition). */
export function contentDigest(canonicalContent: string): string {
  return digestHex(`content\u0000${canonicalContent}`, CONTENT_HEX);
}

/** The revision of a definition: a positive integer derived from its canonical content. */
export function localRevision(canonicalContent: string): string {
  return String(Number.parseInt(digestHex(`revision\u0000${canonicalContent}`, REVISION_HEX), 16) + 1);
}

export function localTaskId(fileName: string, content: string, run: number): string {
  const clamped = Math.min(Math.max(0, Math.trunc(run)), MAX_RUN);
  return fileIdPrefix(fileName) + content + clamped.toString(16).padStart(RUN_HEX, '0');
}

/** `arn:aws:ecs:local:000000000000:task/<cluster>/<id>`; a cluster given as an ARN contributes its name. */
export function localTaskArn(cluster: string, taskId: string): string {
  const clusterName = cluster.slice(cluster.lastIndexOf('/') + 1);
  return `arn:aws:ecs:${LOCAL_TASK_REGION}:${LOCAL_TASK_ACCOUNT}:task/${clusterName}/${taskId}`;
}

/** The parts of a local task's ARN; undefined for an ID that is not 32 hex characters. */
export function localTaskIdParts(arn: string): { file: string; content: string; run: number } | undefined {
  const id = taskIdFromArn(arn);
  if (!/^[0-9a-f]{32}$/.test(id)) return undefined;
  return {
    file: id.slice(0, FILE_HEX),
    content: id.slice(FILE_HEX, FILE_HEX + CONTENT_HEX),
    run: Number.parseInt(id.slice(FILE_HEX + CONTENT_HEX), 16),
  };
}

/** The file half of a stored task's ID. */
export function fileIdPrefixOfArn(arn: string): string {
  return taskIdFromArn(arn).slice(0, FILE_HEX);
}
