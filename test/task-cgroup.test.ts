/**
 * Task cgroups on cgroup v1 (fact sheet 9). Plain directories under a temp dir stand in for cgroupfs; one test
 * uses the host's real hierarchy when it is writable, to prove the kernel accepts what is written.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { isEcsdError } from '../src/errors.js';
import { canCreateCgroupRoot, createCgroupV1Manager } from '../src/host/task-cgroup.js';

const TASK_ID = '0123456789abcdef0123456789abcdef';

function fakeRoot(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecsd-cgroup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function read(root: string, controller: string, file: string, taskId = TASK_ID): string {
  return readFileSync(join(root, controller, 'ecs', taskId, file), 'utf8');
}

function has(root: string, controller: string, file: string, taskId = TASK_ID): boolean {
  return existsSync(join(root, controller, 'ecs', taskId, file));
}

test('parentFor names /ecs/<taskId>', (t) => {
  const cgroups = createCgroupV1Manager({ cgroupRoot: '/unused', cpuPeriodMs: 100 });
  t.is(cgroups.parentFor(TASK_ID), `/ecs/${TASK_ID}`);
});

test('task cpu > 0 sets a CFS period and quota = cpu × period, and no shares', (t) => {
  const root = fakeRoot(t);
  const cgroups = createCgroupV1Manager({ cgroupRoot: root, cpuPeriodMs: 100 });
  cgroups.ensure({ taskId: TASK_ID, cpuVcpu: 0.5, containerCpuUnits: [256, 256], memoryMiB: 0 });
  t.is(read(root, 'cpu', 'cpu.cfs_period_us'), '100000');
  t.is(read(root, 'cpu', 'cpu.cfs_quota_us'), '50000');
  t.false(has(root, 'cpu', 'cpu.shares'));
  t.false(has(root, 'memory', 'memory.limit_in_bytes'), 'memory 0: no limit written');
  t.false(has(root, 'pids', 'pids.max'), 'no pids limit: nothing written');
});

test('the CFS period follows ECS_CGROUP_CPU_PERIOD', (t) => {
  const root = fakeRoot(t);
  createCgroupV1Manager({ cgroupRoot: root, cpuPeriodMs: 8 }).ensure({
    taskId: TASK_ID,
    cpuVcpu: 2,
    containerCpuUnits: [],
    memoryMiB: 0,
  });
  t.is(read(root, 'cpu', 'cpu.cfs_period_us'), '8000');
  t.is(read(root, 'cpu', 'cpu.cfs_quota_us'), '16000');
});

test('task cpu 0 sets cpu.shares = Σ max(container units, 2), capped at 262144', (t) => {
  const cases: Array<[number[], string]> = [
    [[0, 1, 512], '516'],
    [[0], '2'],
    [[200_000, 100_000], '262144'],
  ];
  for (const [units, shares] of cases) {
    const root = fakeRoot(t);
    createCgroupV1Manager({ cgroupRoot: root, cpuPeriodMs: 100 }).ensure({
      taskId: TASK_ID,
      cpuVcpu: 0,
      containerCpuUnits: units,
      memoryMiB: 0,
    });
    t.is(read(root, 'cpu', 'cpu.shares'), shares, units.join('+'));
    t.false(has(root, 'cpu', 'cpu.cfs_quota_us'));
  }
});

test('memory and pids limits are written to their controllers', (t) => {
  const root = fakeRoot(t);
  createCgroupV1Manager({ cgroupRoot: root, cpuPeriodMs: 100 }).ensure({
    taskId: TASK_ID,
    cpuVcpu: 1,
    containerCpuUnits: [],
    memoryMiB: 512,
    pidsLimit: 100,
  });
  t.is(read(root, 'memory', 'memory.limit_in_bytes'), String(512 * 1024 * 1024));
  t.is(read(root, 'pids', 'pids.max'), '100');
});

test('exists() needs the task cgroup under every controller; remove() deletes them', (t) => {
  const root = fakeRoot(t);
  const cgroups = createCgroupV1Manager({ cgroupRoot: root, cpuPeriodMs: 100 });
  t.false(cgroups.exists(TASK_ID));
  cgroups.ensure({ taskId: TASK_ID, cpuVcpu: 0, containerCpuUnits: [], memoryMiB: 0 });
  t.true(cgroups.exists(TASK_ID));
  t.false(cgroups.exists('another-task'));
  // cgroupfs lets rmdir drop a cgroup with its control files; plain directories need them gone first.
  rmSync(join(root, 'cpu', 'ecs', TASK_ID, 'cpu.shares'));
  cgroups.remove(TASK_ID);
  t.false(cgroups.exists(TASK_ID));
  t.false(existsSync(join(root, 'memory', 'ecs', TASK_ID)));
  t.notThrows(() => cgroups.remove(TASK_ID), 'removing a missing cgroup is not an error');
});

test('a failure to set up the cgroup is a TaskStateError naming the task', (t) => {
  const root = fakeRoot(t);
  writeFileSync(join(root, 'cpu'), 'not a directory');
  const error = t.throws(() =>
    createCgroupV1Manager({ cgroupRoot: root, cpuPeriodMs: 100 }).ensure({
      taskId: TASK_ID,
      cpuVcpu: 1,
      containerCpuUnits: [],
      memoryMiB: 0,
    }),
  );
  t.true(isEcsdError(error) && error.code === 'TaskStateError', String(error));
  t.regex(String(error?.message), new RegExp(`/ecs/${TASK_ID}`));
});

test('canCreateCgroupRoot creates /ecs under each controller, and reports when it cannot', (t) => {
  const root = fakeRoot(t);
  t.true(canCreateCgroupRoot(root));
  for (const controller of ['cpu', 'memory', 'pids']) t.true(existsSync(join(root, controller, 'ecs')), controller);
  const blocked = fakeRoot(t);
  writeFileSync(join(blocked, 'memory'), '');
  t.false(canCreateCgroupRoot(blocked));
});

const REAL_ROOT = '/sys/fs/cgroup';
const realCpuWritable = ((): boolean => {
  try {
    accessSync(join(REAL_ROOT, 'cpu'), constants.W_OK);
    return existsSync(join(REAL_ROOT, 'cpu', 'cpu.cfs_quota_us'));
  } catch {
    return false;
  }
})();

(realCpuWritable ? test.serial : test.skip)(
  `the kernel accepts the limits in a real cgroup v1 hierarchy${realCpuWritable ? '' : ' (skipped: no writable /sys/fs/cgroup/cpu)'}`,
  (t) => {
    const taskId = `ecsd-test-${randomBytes(6).toString('hex')}`;
    const cgroups = createCgroupV1Manager({ cgroupRoot: REAL_ROOT, cpuPeriodMs: 100 });
    t.teardown(() => cgroups.remove(taskId));
    cgroups.ensure({ taskId, cpuVcpu: 0.25, containerCpuUnits: [], memoryMiB: 64, pidsLimit: 50 });
    t.true(cgroups.exists(taskId));
    t.is(read(REAL_ROOT, 'cpu', 'cpu.cfs_period_us', taskId).trim(), '100000');
    t.is(read(REAL_ROOT, 'cpu', 'cpu.cfs_quota_us', taskId).trim(), '25000');
    t.is(read(REAL_ROOT, 'memory', 'memory.limit_in_bytes', taskId).trim(), String(64 * 1024 * 1024));
    t.is(read(REAL_ROOT, 'pids', 'pids.max', taskId).trim(), '50');
    cgroups.remove(taskId);
    t.false(cgroups.exists(taskId), 'rmdir removes an empty cgroup');
  },
);
