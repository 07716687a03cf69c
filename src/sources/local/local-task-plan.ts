/**
 * One sync of the task directory as a plan: which tasks to put, which to stop and which stored tasks the
 * files now stand for, computed from the files read, the source's memory and the store, without writing
 * anything. The source writes the plan in one transaction and only then remembers what it did, so a write
 * that fails (a full disk) leaves nothing marked handled: the next attempt plans the same work again.
 *
 * Which stored task a file stands for:
 *   - a file this process already follows with the same content: its task, whatever its status;
 *   - a file not followed yet (first sync after a start, or a file that appeared): the newest stored task
 *     of this file when it has this content (local-task-identity.ts) — adopted after a restart even when it
 *     stopped on its own, so a restart never re-runs a finished task. Not adopted: a task stopped because
 *     its file was removed (the file was restored: adding a file is a start), and, after the first sync,
 *     any stopped task (a file that appears again after its task stopped starts a new task).
 *   - otherwise a new task: the next run of this content.
 */
import { taskStatusRank } from '../../model/status.js';
import { type TaskSpec, taskIdFromArn } from '../../model/task.js';
import type { TaskRecord } from '../../store/records.js';
import { fileIdPrefix, fileIdPrefixOfArn, localTaskArn, localTaskId, localTaskIdParts } from './local-task-identity.js';
import { taskDefinitionToTaskSpec } from './task-definition-to-spec.js';
import type { TaskDefinition } from './task-definition-types.js';

export type FileRead =
  | { kind: 'valid'; definition: TaskDefinition; content: string; revision: string }
  | { kind: 'invalid'; error: string };

/** What the source follows for a file: the task it stands for and the content digest that task came from. */
export interface TrackedFile {
  arn: string;
  content: string;
}

export interface PlannedStart {
  file: string;
  spec: TaskSpec;
  content: string;
}

export interface PlannedStop {
  arn: string;
  file: string | undefined;
  reason: string;
}

export interface SyncPlan {
  starts: PlannedStart[];
  stops: PlannedStop[];
  /** Every present valid file → what it follows once the plan is written. */
  tracked: Map<string, TrackedFile>;
  invalid: Array<{ file: string; error: string }>;
  unchanged: number;
}

export interface PlanInput {
  cluster: string;
  reads: ReadonlyMap<string, FileRead>;
  tracked: ReadonlyMap<string, TrackedFile>;
  /** The local tasks in the store. */
  localTasks: readonly TaskRecord[];
  /** No sync of this process has been written yet. */
  firstSync: boolean;
  /** Highest run per `fileprefix+content` this process handed out (the store may have cleaned tasks up). */
  runs: ReadonlyMap<string, number>;
}

const STOPPED_RANK = taskStatusRank('STOPPED');
const REMOVED_REASON = /^Task definition file (.+ )?removed$/;

export function removedReason(file: string | undefined): string {
  return file === undefined ? 'Task definition file removed' : `Task definition file ${file} removed`;
}

export function planSync(input: PlanInput): SyncPlan {
  const plan: SyncPlan = { starts: [], stops: [], tracked: new Map(), invalid: [], unchanged: 0 };
  const byFile = new Map<string, TaskRecord[]>();
  for (const task of input.localTasks) {
    const prefix = fileIdPrefixOfArn(task.arn);
    const list = byFile.get(prefix);
    if (list) list.push(task);
    else byFile.set(prefix, [task]);
  }
  const prefixOfFile = new Map<string, string>();
  for (const [file, read] of input.reads) {
    const prefix = fileIdPrefix(file);
    prefixOfFile.set(file, prefix);
    if (read.kind === 'invalid') {
      plan.invalid.push({ file, error: read.error });
      continue;
    }
    const tracked = input.tracked.get(file);
    if (tracked?.content === read.content) {
      plan.tracked.set(file, tracked);
      plan.unchanged += 1;
      continue;
    }
    const stored = byFile.get(prefix) ?? [];
    if (!tracked) {
      const adopted = adoptable(read.content, stored, input.firstSync);
      if (adopted) {
        plan.tracked.set(file, { arn: adopted.arn, content: read.content });
        plan.unchanged += 1;
        continue;
      }
    }
    const run = nextRun(prefix, read.content, stored, input.runs);
    const arn = localTaskArn(input.cluster, localTaskId(file, read.content, run));
    plan.starts.push({
      file,
      content: read.content,
      spec: taskDefinitionToTaskSpec(read.definition, { arn, version: read.revision }),
    });
    plan.tracked.set(file, { arn, content: read.content });
  }
  planStops(input, plan, prefixOfFile);
  return plan;
}

/** Every active local task must be the followed task of a present file, or belong to an invalid file. */
function planStops(input: PlanInput, plan: SyncPlan, prefixOfFile: Map<string, string>): void {
  const fileByPrefix = new Map<string, string>();
  for (const [file, prefix] of prefixOfFile) fileByPrefix.set(prefix, file);
  const followedByPrefix = new Map<string, string>();
  for (const file of input.tracked.keys()) followedByPrefix.set(fileIdPrefix(file), file);
  for (const task of input.localTasks) {
    if (taskStatusRank(task.desiredStatus) >= STOPPED_RANK) continue;
    const prefix = fileIdPrefixOfArn(task.arn);
    const file = fileByPrefix.get(prefix);
    if (file === undefined) {
      plan.stops.push({ arn: task.arn, file: undefined, reason: removedReason(followedByPrefix.get(prefix)) });
      continue;
    }
    if (input.reads.get(file)?.kind === 'invalid') continue;
    const wanted = plan.tracked.get(file)?.arn;
    if (wanted === task.arn) continue;
    plan.stops.push({
      arn: task.arn,
      file,
      reason: `Task definition file ${file} changed; replaced by task ${wanted ? taskIdFromArn(wanted) : 'none'}`,
    });
  }
}

function adoptable(content: string, stored: TaskRecord[], firstSync: boolean): TaskRecord | undefined {
  let newest: TaskRecord | undefined;
  for (const task of stored) if (!newest || task.createdAtMs > newest.createdAtMs) newest = task;
  if (!newest || localTaskIdParts(newest.arn)?.content !== content) return undefined;
  if (taskStatusRank(newest.desiredStatus) < STOPPED_RANK) return newest;
  if (!firstSync) return undefined;
  return REMOVED_REASON.test(newest.reason ?? '') ? undefined : newest;
}

function nextRun(prefix: string, content: string, stored: TaskRecord[], runs: ReadonlyMap<string, number>): number {
  let highest = runs.get(prefix + content) ?? -1;
  for (const task of stored) {
    const parts = localTaskIdParts(task.arn);
    if (parts?.content === content && parts.run > highest) highest = parts.run;
  }
  return highest + 1;
}
