/** Shared fixtures for the store tests (test/store-*.test.ts): temp data dirs, a capturing logger, task specs. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { LogFields, Logger } from '../src/logging/types.js';
import type { TaskStatus } from '../src/model/status.js';
import type { ContainerSpec, TaskSpec } from '../src/model/task.js';
import { type OpenedStore, openStore } from '../src/store/index.js';
import { containerSpec as baseContainerSpec } from './helpers/specs.js';

/** A fresh directory under the OS temp dir, removed when the test ends. */
export function tempDataDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecsd-store-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error' | 'crit';
  msg: string;
  fields: LogFields;
}

export function capturingLogger(lines: LogLine[] = [], bindings: LogFields = {}): Logger & { lines: LogLine[] } {
  const at =
    (level: LogLine['level']) =>
    (msg: string, fields: LogFields = {}): void => {
      lines.push({ level, msg, fields: { ...bindings, ...fields } });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    crit: at('crit'),
    child: (more) => capturingLogger(lines, { ...bindings, ...more }),
    flush: async () => {},
  };
}

/** A controllable clock; `nowMs` starts at 2024-03-05T06:07:08Z. */
export function fakeClock(startMs = Date.UTC(2024, 2, 5, 6, 7, 8)): { nowMs(): number; advance(ms: number): void } {
  let now = startMs;
  return {
    nowMs: () => now,
    advance: (ms) => {
      now += ms;
    },
  };
}

/** Opens a store and closes it when the test ends. */
export function openForTest(
  t: ExecutionContext,
  options: {
    dataDir?: string;
    checkpoint?: boolean;
    logger?: Logger;
    clock?: { nowMs(): number };
    soleWriter?: boolean;
  } = {},
): OpenedStore {
  const opened = openStore({
    dataDir: options.dataDir ?? tempDataDir(t),
    checkpoint: options.checkpoint ?? true,
    logger: options.logger ?? capturingLogger(),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.soleWriter === undefined ? {} : { soleWriter: options.soleWriter }),
  });
  t.teardown(() => opened.store.close());
  return opened;
}

export function containerSpec(name: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return baseContainerSpec(name, {
    image: 'busybox:latest',
    command: ['sleep', '3600'],
    environment: { GREETING: 'hello' },
    cpuUnits: 128,
    memoryMiB: 64,
    portMappings: [{ containerPort: 80, hostPort: 0, protocol: 'tcp' }],
    ...overrides,
  });
}

export function taskSpec(
  arn: string,
  desiredStatus: TaskStatus = 'RUNNING',
  containerNames: string[] = ['app', 'sidecar'],
): TaskSpec {
  return {
    arn,
    family: 'web',
    version: '3',
    source: 'local',
    desiredStatus,
    networkMode: 'bridge',
    cpuVcpu: 0.5,
    memoryMiB: 512,
    containers: containerNames.map((name) => containerSpec(name)),
    volumes: [
      {
        name: 'scratch',
        type: 'docker',
        scope: 'task',
        autoprovision: false,
        driver: 'local',
        driverOpts: {},
        labels: {},
      },
      { name: 'logs', type: 'host', sourcePath: '/var/log/web' },
    ],
  };
}

export const TASK_ARN = 'arn:aws:ecs:us-west-2:123456789012:task/default/0123456789abcdef0123456789abcdef';
export const OTHER_TASK_ARN = 'arn:aws:ecs:us-west-2:123456789012:task/default/fedcba9876543210fedcba9876543210';
