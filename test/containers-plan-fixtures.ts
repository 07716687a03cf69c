/**
 * Builders for containers-planner tests: task and container specs with sensible defaults, Docker
 * observations, and `applyRecord`, which writes a plan's record action onto the inputs the way the store
 * would, so tests can walk the state machine and check that a re-plan is a fixed point.
 */

import type { ExecutionContext } from 'ava';
import { planContainers } from '../reconcilers/containers/plan.js';
import type {
  ContainerAction,
  ContainersActual,
  ContainersDesired,
  ContainersPlan,
  ContainersPlanSettings,
} from '../reconcilers/containers/types.js';
import type { DockerContainerState, ObservedContainer } from '../src/docker/types.js';
import type { ContainerSpec, TaskSpec } from '../src/model/task.js';
import type { ContainerRecord, NewOutboxEntry, TaskRecord } from '../src/store/records.js';
import { containerSpec, taskSpecWith } from './helpers/specs.js';

export const TASK_ARN = 'arn:aws:ecs:us-east-1:111122223333:task/demo/4f1e';
export const T0 = 1_717_000_000_000;

export const SETTINGS: ContainersPlanSettings = { defaultStopTimeoutSec: 30, taskCgroupEnabled: false };

export function container(name: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return containerSpec(name, overrides);
}

export function taskSpec(containers: ContainerSpec[], overrides: Partial<TaskSpec> = {}): TaskSpec {
  return taskSpecWith(TASK_ARN, containers, overrides);
}

/** A freshly stored task: every container NONE, desired RUNNING, nothing sent. */
export function desiredFor(
  spec: TaskSpec,
  task: Partial<TaskRecord> = {},
  records: Record<string, Partial<ContainerRecord>> = {},
): ContainersDesired {
  return {
    task: {
      arn: spec.arn,
      family: spec.family,
      version: spec.version,
      source: spec.source,
      spec,
      desiredStatus: 'RUNNING',
      knownStatus: 'NONE',
      sentStatus: 'NONE',
      createdAtMs: T0,
      knownAtMs: T0,
      ...task,
    },
    containers: spec.containers.map((c) => ({
      taskArn: spec.arn,
      name: c.name,
      desiredStatus: 'RUNNING',
      knownStatus: 'NONE',
      sentStatus: 'NONE',
      health: 'UNKNOWN',
      portBindings: [],
      ...records[c.name],
    })),
    volumes: [],
  };
}

export function observed(
  name: string,
  state: DockerContainerState,
  overrides: Partial<ObservedContainer> = {},
): ObservedContainer {
  const running = state === 'running';
  const ran = state === 'running' || state === 'exited' || state === 'dead';
  return {
    id: `${name}-docker-id-0123456789abcdef`,
    name: `ecs-web-3-${name}-aaaa`,
    labels: {},
    taskArn: TASK_ARN,
    containerName: name,
    state,
    running,
    exitCode: 0,
    oomKilled: false,
    health: 'none',
    imageId: `sha256:${name}`,
    image: `img-${name}:1`,
    createdAtMs: T0 + 1_000,
    ...(ran ? { startedAtMs: T0 + 2_000 } : {}),
    ...(state === 'exited' || state === 'dead' ? { finishedAtMs: T0 + 3_000 } : {}),
    portBindings: [],
    observedAtMs: T0,
    ...overrides,
  };
}

export function actualWith(
  desired: ContainersDesired,
  containers: ObservedContainer[] = [],
  overrides: Partial<ContainersActual> = {},
): ContainersActual {
  return {
    containers: new Map(containers.map((c) => [c.containerName!, c] as const)),
    viewSynced: true,
    imagesPresent: new Set(desired.task.spec.containers.map((c) => c.image)),
    volumesPresent: new Set(),
    taskCgroupReady: true,
    nowMs: T0 + 10_000,
    ...overrides,
  };
}

export function recordAction(plan: ContainersPlan): Extract<ContainerAction, { kind: 'record' }> | undefined {
  return plan.actions.find((a): a is Extract<ContainerAction, { kind: 'record' }> => a.kind === 'record');
}

/** The Docker actions of a plan as short strings (`create web`, `stop db 30s`), for readable assertions. */
export function dockerActions(plan: ContainersPlan): string[] {
  return plan.actions.flatMap((a) => {
    switch (a.kind) {
      case 'record':
        return [];
      case 'setup-task-cgroup':
        return ['setup-task-cgroup'];
      case 'create-volume':
        return [`create-volume ${a.volume}`];
      case 'stop':
        return [`stop ${a.container} ${a.graceSec}s`];
      default:
        return [`${a.kind} ${a.container}`];
    }
  });
}

export function outboxOf(plan: ContainersPlan): NewOutboxEntry[] {
  return recordAction(plan)?.observation.outbox ?? [];
}

/** Writes the plan's record action onto the inputs, as the store's recordObservation would. */
export function applyRecord(desired: ContainersDesired, plan: ContainersPlan): ContainersDesired {
  const record = recordAction(plan);
  if (!record) return desired;
  const { observation } = record;
  const patches = new Map((observation.containers ?? []).map((c) => [c.name, c.patch] as const));
  return {
    ...desired,
    task: { ...desired.task, ...observation.task },
    containers: desired.containers.map((c) => ({ ...c, ...patches.get(c.name) })),
    volumes: desired.volumes,
  };
}

/** Marks every reported status as acknowledged, as the reporter does after a successful submit. */
export function acknowledge(desired: ContainersDesired): ContainersDesired {
  const sent = <S extends string>(known: S): S => (known === 'RUNNING' || known === 'STOPPED' ? known : ('NONE' as S));
  return {
    ...desired,
    task: { ...desired.task, sentStatus: sent(desired.task.knownStatus) },
    containers: desired.containers.map((c) => ({ ...c, sentStatus: sent(c.knownStatus) })),
  };
}

/**
 * Plans, asserts that applying the record action and planning again with the same observations is a fixed
 * point (no second record action, same Docker actions), and returns the first plan and the applied inputs.
 */
export function planChecked(
  t: ExecutionContext,
  desired: ContainersDesired,
  actual: ContainersActual,
  settings: ContainersPlanSettings = SETTINGS,
): { plan: ContainersPlan; next: ContainersDesired } {
  const plan = planContainers(desired, actual, settings);
  const next = applyRecord(desired, plan);
  const again = planContainers(next, actual, settings);
  t.is(
    recordAction(again),
    undefined,
    `re-plan after applying the record must not record again: ${recordAction(again)?.reason}`,
  );
  t.deepEqual(dockerActions(again), dockerActions(plan), 're-plan must ask for the same Docker actions');
  return { plan, next };
}

export function containerRecord(desired: ContainersDesired, name: string): ContainerRecord {
  const found = desired.containers.find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name} in fixture`);
  return found;
}
