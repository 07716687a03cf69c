/**
 * Desired status only ever moves up the ladder (fact sheet 2.6 step 5: a known ARN's new desired status is
 * applied only if it is higher; `version` is not compared). These pure rules are what the store enforces on
 * every path that can set a desired status: putDesiredTask, raiseTaskDesiredStatus and observation patches.
 */

import type { ContainerStatus, TaskStatus } from '../model/status.js';
import { containerStatusRank, taskStatusRank } from '../model/status.js';

/** The desired status a task's containers take from the task: RUNNING→RUNNING, STOPPED (or ZOMBIE)→STOPPED. */
export function containerDesiredForTask(status: TaskStatus): ContainerStatus {
  return status === 'ZOMBIE' ? 'STOPPED' : status;
}

/** `next` if it is strictly higher than `current`, else `current`. */
export function raisedTaskStatus(current: TaskStatus, next: TaskStatus | undefined): TaskStatus {
  return next !== undefined && taskStatusRank(next) > taskStatusRank(current) ? next : current;
}

/** `next` if it is strictly higher than `current`, else `current`. */
export function raisedContainerStatus(current: ContainerStatus, next: ContainerStatus | undefined): ContainerStatus {
  return next !== undefined && containerStatusRank(next) > containerStatusRank(current) ? next : current;
}
