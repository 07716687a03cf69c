/** Shared fixtures of the local-source tests: a capturing logger, temp dirs, an in-memory store, files. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { LogFields, Logger } from '../src/logging/types.js';
import { LocalTaskSource, type LocalTaskSourceOptions } from '../src/sources/local/index.js';
import { openStore } from '../src/store/index.js';
import type { DesiredStateStore, TaskRecord } from '../src/store/records.js';
import { FakeClock } from './helpers/fake-clock.js';

export const CLUSTER = 'local-test';

export type SourceUnderTest = LocalTaskSource & { log: ReturnType<typeof capturingLogger> };

/** A local source over `dir` with a fake clock and a capturing logger (`.log`); `overrides` win. */
export function source(
  dir: string,
  store: LocalTaskSourceOptions['store'],
  overrides: Partial<LocalTaskSourceOptions> = {},
): SourceUnderTest {
  const logger = capturingLogger();
  const created = new LocalTaskSource({
    dir,
    store,
    logger,
    clock: new FakeClock(),
    cluster: CLUSTER,
    pollIntervalMs: 1000,
    ...overrides,
  });
  return Object.assign(created, { log: logger });
}

export interface Captured {
  level: string;
  msg: string;
  fields: LogFields;
}

export function capturingLogger(lines: Captured[] = []): Logger & { lines: Captured[] } {
  const make = (bindings: LogFields): Logger => {
    const log =
      (level: string) =>
      (msg: string, fields: LogFields = {}): void => {
        lines.push({ level, msg, fields: { ...bindings, ...fields } });
      };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      crit: log('crit'),
      child: (more) => make({ ...bindings, ...more }),
      flush: async () => {},
    };
  };
  return Object.assign(make({}), { lines });
}

/** A fresh directory (mkdtemp: mode 0700, owned by this process's user), removed after the test. */
export function tempDir(t: ExecutionContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ecsd-${prefix}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function memoryStore(t: ExecutionContext): DesiredStateStore {
  const { store } = openStore({ dataDir: '', checkpoint: false, logger: capturingLogger() });
  t.teardown(() => store.close());
  return store;
}

export function definition(
  family: string,
  command: string[] = ['sleep', '3600'],
  extra: Record<string, unknown> = {},
  task: Record<string, unknown> = {},
): string {
  return `${JSON.stringify(
    {
      family,
      containerDefinitions: [{ name: 'main', image: 'ecsd-test/busybox:latest', memory: 32, command, ...extra }],
      ...task,
    },
    null,
    2,
  )}\n`;
}

export function task(store: DesiredStateStore, arn: string): TaskRecord {
  const record = store.getTask(arn);
  if (!record) throw new Error(`no task ${arn}`);
  return record;
}
