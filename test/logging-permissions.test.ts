/**
 * Issue 10 §5: the log file may hold task details (names, images, reasons), so it is created 0600, rolled
 * files keep that mode, and a log file (or roll) left with a looser mode is tightened at start-up.
 */
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { createLogger, type LoggerOptions } from '../src/logging/index.js';

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

class NullStream extends Writable {
  override _write(_chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    done();
  }
}

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ecsd-logperm-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function options(file: string, overrides: Partial<LoggerOptions> = {}): LoggerOptions {
  return {
    level: 'off',
    levelOnInstance: 'info',
    format: 'logfmt',
    file,
    rolloverType: 'size',
    maxFileSizeMB: 5,
    maxRollCount: 24,
    stdout: new NullStream(),
    clock: () => new Date('2024-06-01T12:00:00Z'),
    ...overrides,
  };
}

test('a new log file is created 0600 whatever the umask, and so are its rolled files', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'ecs-agent.log');
  const previousUmask = process.umask(0o022);
  t.teardown(() => process.umask(previousUmask));
  const logger = createLogger(options(file, { maxFileSizeMB: 500 / 1_000_000, maxRollCount: 0 }));
  for (let i = 0; i < 40; i += 1) logger.info('task started', { task: `arn:task/${i}`, image: 'busybox' });
  await logger.close();
  const names = (await readdir(dir)).sort();
  t.true(names.length >= 3, `rolled: ${names.join(', ')}`);
  for (const name of names) t.is(modeOf(join(dir, name)), '600', name);
});

test('an existing log file and rolls with a loose mode are tightened to 0600 at start-up', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'ecs-agent.log');
  for (const path of [file, `${file}.1`, `${file}.2`]) {
    writeFileSync(path, 'level=info msg="from an earlier run"\n');
    chmodSync(path, 0o644);
  }
  const other = join(dir, 'someone-else.log');
  writeFileSync(other, 'not ours\n');
  chmodSync(other, 0o644);
  const logger = createLogger(options(file));
  logger.info('started');
  await logger.close();
  for (const path of [file, `${file}.1`, `${file}.2`]) t.is(modeOf(path), '600', path);
  t.is(modeOf(other), '644', 'files that are not this log are left alone');
});
