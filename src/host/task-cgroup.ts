/**
 * Task-level cpu/memory limits through a per-task cgroup (fact sheet 9). On cgroup v1 the agent creates
 * `/ecs/<taskId>` under each controller it limits and Docker places every container of the task below it
 * through `HostConfig.CgroupParent`; the limits on the parent bound the whole task.
 */
import { accessSync, constants, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TaskStateError } from '../errors.js';
import { isDirectory } from '../util/fs.js';

/** The controllers a task cgroup limits; `cpuacct` and `pids` follow for accounting and ECS_TASK_PIDS_LIMIT. */
const CONTROLLERS = ['cpu', 'memory', 'pids'] as const;
const MAX_CPU_SHARES = 262144;
const MIN_CPU_SHARES = 2;

export interface TaskCgroupLimits {
  taskId: string;
  /** Task cpu in vCPUs; 0 → cpu.shares from the containers (fact sheet 9). */
  cpuVcpu: number;
  containerCpuUnits: number[];
  /** 0 = unlimited. */
  memoryMiB: number;
  pidsLimit?: number;
}

export interface TaskCgroupManager {
  /** The CgroupParent Docker should use for a task's containers. */
  parentFor(taskId: string): string;
  exists(taskId: string): boolean;
  ensure(limits: TaskCgroupLimits): void;
  remove(taskId: string): void;
}

export interface TaskCgroupOptions {
  /** ECS_CGROUP_PATH (default /sys/fs/cgroup). */
  cgroupRoot: string;
  /** ECS_CGROUP_CPU_PERIOD in ms (default 100). */
  cpuPeriodMs: number;
}

export function createCgroupV1Manager(options: TaskCgroupOptions): TaskCgroupManager {
  const dirFor = (controller: string, taskId: string): string => join(options.cgroupRoot, controller, 'ecs', taskId);
  // Task cgroups this manager set up and has not removed: the loop asks on every reconcile, and three
  // stat calls per task per reconcile add up; only the agent creates and removes /ecs/<taskId>.
  const ready = new Set<string>();
  return {
    parentFor: (taskId) => `/ecs/${taskId}`,
    exists(taskId) {
      if (ready.has(taskId)) return true;
      const found = CONTROLLERS.every((controller) => isDirectory(dirFor(controller, taskId)));
      if (found) ready.add(taskId);
      return found;
    },
    ensure(limits) {
      try {
        for (const controller of CONTROLLERS) mkdirSync(dirFor(controller, limits.taskId), { recursive: true });
        const cpuDir = dirFor('cpu', limits.taskId);
        if (limits.cpuVcpu > 0) {
          const periodUs = Math.round(options.cpuPeriodMs * 1000);
          writeFileSync(join(cpuDir, 'cpu.cfs_period_us'), String(periodUs));
          writeFileSync(join(cpuDir, 'cpu.cfs_quota_us'), String(Math.round(limits.cpuVcpu * periodUs)));
        } else {
          const shares = limits.containerCpuUnits.reduce((sum, units) => sum + Math.max(units, MIN_CPU_SHARES), 0);
          writeFileSync(join(cpuDir, 'cpu.shares'), String(Math.min(Math.max(shares, MIN_CPU_SHARES), MAX_CPU_SHARES)));
        }
        if (limits.memoryMiB > 0) {
          writeFileSync(
            join(dirFor('memory', limits.taskId), 'memory.limit_in_bytes'),
            String(limits.memoryMiB * 1024 * 1024),
          );
        }
        if (limits.pidsLimit !== undefined && limits.pidsLimit > 0) {
          writeFileSync(join(dirFor('pids', limits.taskId), 'pids.max'), String(limits.pidsLimit));
        }
        ready.add(limits.taskId);
      } catch (error) {
        throw new TaskStateError(`could not set up task cgroup /ecs/${limits.taskId}: ${(error as Error).message}`, {
          cause: error,
          context: { taskId: limits.taskId },
        });
      }
    },
    remove(taskId) {
      ready.delete(taskId);
      for (const controller of CONTROLLERS) {
        try {
          rmdirSync(dirFor(controller, taskId));
        } catch {
          // Already gone, or a container is still inside: cleanup retries later.
        }
      }
    },
  };
}

/** Whether the `/ecs` root can be created: the capability probe upstream makes at start-up (fact sheet 9). */
export function canCreateCgroupRoot(cgroupRoot: string): boolean {
  try {
    for (const controller of CONTROLLERS) mkdirSync(join(cgroupRoot, controller, 'ecs'), { recursive: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * canCreateCgroupRoot without creating anything, for commands that only report (`-ecs-attributes`): every
 * controller has its `/ecs` directory already, or a directory this process may create it in.
 */
export function cgroupRootUsable(cgroupRoot: string): boolean {
  return CONTROLLERS.every((controller) => {
    const dir = join(cgroupRoot, controller);
    if (isDirectory(join(dir, 'ecs'))) return true;
    try {
      accessSync(dir, constants.W_OK);
      return isDirectory(dir);
    } catch {
      return false;
    }
  });
}
