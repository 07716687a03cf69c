/**
 * Log file rotation (fact sheet section 11): size rollover with the roll count honoured, hourly rollover
 * named `YYYY-MM-DD-HH`, and pruning of rolls left on disk by an earlier run. Real files in temp dirs.
 */

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import { createLogger, hourlyRollName, type LoggerOptions, selectRolls } from '../src/logging/index.js';

const FIXED_NOW = new Date('2024-06-01T12:00:00Z');

class MemoryStream extends Writable {
  readonly chunks: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk.toString());
    done();
  }
}

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ecsd-logrotate-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function fileOptions(file: string, overrides: Partial<LoggerOptions>): LoggerOptions {
  return {
    level: 'off',
    levelOnInstance: 'info',
    format: 'logfmt',
    file,
    rolloverType: 'size',
    maxFileSizeMB: 5,
    maxRollCount: 24,
    stdout: new MemoryStream(),
    clock: () => FIXED_NOW,
    ...overrides,
  };
}

const lineFor = (seq: number): string =>
  `level=info time=2024-06-01T12:00:00Z msg="filler line" seq="${String(seq).padStart(5, '0')}"\n`;

async function linesOf(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => `${line}\n`);
}

test('size rollover: rolls at the byte threshold, keeps maxRollCount rolls, newest lines in the active file', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'ecs-agent.log');
  const thresholdBytes = 2000;
  const lineBytes = lineFor(0).length;
  // rotating-file-stream rolls after the write that brings the file to the threshold.
  const linesPerFile = Math.ceil(thresholdBytes / lineBytes);
  const total = linesPerFile * 6 + 3;

  const logger = createLogger(fileOptions(file, { maxFileSizeMB: thresholdBytes / 1_000_000, maxRollCount: 2 }));
  for (let seq = 0; seq < total; seq += 1) logger.info('filler line', { seq: String(seq).padStart(5, '0') });
  await logger.flush();

  t.deepEqual((await readdir(dir)).sort(), ['ecs-agent.log', 'ecs-agent.log.5', 'ecs-agent.log.6']);
  const expected = (from: number, count: number) => Array.from({ length: count }, (_, i) => lineFor(from + i));
  t.deepEqual(await linesOf(file), expected(linesPerFile * 6, 3), 'newest lines are in the active file');
  t.deepEqual(await linesOf(`${file}.6`), expected(linesPerFile * 5, linesPerFile));
  t.deepEqual(await linesOf(`${file}.5`), expected(linesPerFile * 4, linesPerFile));
  await logger.close();

  // A restarted agent continues the numbering and prunes what the earlier run left.
  const again = createLogger(fileOptions(file, { maxFileSizeMB: thresholdBytes / 1_000_000, maxRollCount: 2 }));
  for (let seq = 0; seq < linesPerFile; seq += 1) again.info('filler line', { seq: String(seq).padStart(5, '0') });
  await again.close();
  t.deepEqual((await readdir(dir)).sort(), ['ecs-agent.log', 'ecs-agent.log.6', 'ecs-agent.log.7']);
  t.deepEqual(await linesOf(`${file}.7`), [...expected(linesPerFile * 6, 3), ...expected(0, linesPerFile - 3)]);
});

test('size rollover with maxRollCount 0 keeps every roll', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'nested', 'agent.log');
  const logger = createLogger(fileOptions(file, { maxFileSizeMB: 0.0005, maxRollCount: 0 }));
  for (let seq = 0; seq < 40; seq += 1) logger.info('filler line', { seq: String(seq).padStart(5, '0') });
  await logger.close();
  const rolls = selectRolls(await readdir(join(dir, 'nested')), 'agent.log', 'size');
  t.true(rolls.length >= 5, `expected many rolls, got ${rolls.join(',')}`);
  t.is(rolls[0], 'agent.log.1');
});

test('rollover none never rotates', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'agent.log');
  const logger = createLogger(fileOptions(file, { rolloverType: 'none', maxFileSizeMB: 0.0001, maxRollCount: 1 }));
  for (let seq = 0; seq < 50; seq += 1) logger.info('filler line', { seq: String(seq).padStart(5, '0') });
  await logger.close();
  t.deepEqual(await readdir(dir), ['agent.log']);
  t.is((await linesOf(file)).length, 50);
});

test('hourly roll names are YYYY-MM-DD-HH of the hour held, with an index only on collision', (t) => {
  t.is(hourlyRollName('/log/ecs-agent.log', new Date(2024, 5, 1, 9)), '/log/ecs-agent.log.2024-06-01-09');
  t.is(hourlyRollName('/log/ecs-agent.log', new Date(2024, 11, 31, 23), 1), '/log/ecs-agent.log.2024-12-31-23');
  t.is(hourlyRollName('/log/ecs-agent.log', new Date(2024, 0, 2, 0), 3), '/log/ecs-agent.log.2024-01-02-00.3');
});

test('selectRolls orders rolls oldest first and ignores other files', (t) => {
  const names = ['a.log', 'a.log.10', 'a.log.9', 'a.log.txt', 'b.log.1', 'a.log.2024-06-01-10', 'a.logx.1'];
  t.deepEqual(selectRolls(names, 'a.log', 'size'), ['a.log.9', 'a.log.10']);
  const hourly = ['a.log.2024-06-01-10.2', 'a.log.2024-06-01-09', 'a.log.2024-06-01-10', 'a.log.3'];
  t.deepEqual(selectRolls(hourly, 'a.log', 'hourly'), [
    'a.log.2024-06-01-09',
    'a.log.2024-06-01-10',
    'a.log.2024-06-01-10.2',
  ]);
  t.deepEqual(selectRolls(names, 'a.log', 'none'), []);
});

test('hourly rollover at the hour boundary of the injected clock, pruning older rolls to maxRollCount', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'ecs-agent.log');
  // Rolls left from earlier hours by a previous run.
  for (const hour of ['08', '09', '10']) await writeFile(`${file}.2024-06-01-${hour}`, `old ${hour}\n`);

  // The clock stands still until the test moves it past the hour: rotating-file-stream re-reads it when its
  // timer fires and re-arms the timer while the boundary has not been reached, so load cannot reorder this.
  let now = new Date(2024, 5, 1, 11, 59, 59, 900);
  const logger = createLogger(fileOptions(file, { rolloverType: 'hourly', maxRollCount: 2, clock: () => now }));
  logger.info('before the hour');
  await logger.flush();
  now = new Date(2024, 5, 1, 12, 0, 0, 100);
  const rolled = `${file}.2024-06-01-11`;
  for (let waitedMs = 0; !existsSync(rolled) && waitedMs < 10_000; waitedMs += 20) await sleep(20);
  logger.info('after the hour');
  await logger.close();

  t.deepEqual((await readdir(dir)).sort(), [
    'ecs-agent.log',
    'ecs-agent.log.2024-06-01-10',
    'ecs-agent.log.2024-06-01-11',
  ]);
  t.regex(await readFile(`${file}.2024-06-01-11`, 'utf8'), /^level=info time=\S+ msg="before the hour"\n$/);
  t.regex(await readFile(file, 'utf8'), /^level=info time=\S+ msg="after the hour"\n$/);
});

test('hourly rollover at start-up rolls a file left from an earlier hour under that hour', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'ecs-agent.log');
  await mkdir(dir, { recursive: true });
  await writeFile(file, 'from the previous run\n');
  const earlier = new Date(2024, 5, 1, 7, 30);
  await utimes(file, earlier, earlier);

  const logger = createLogger(fileOptions(file, { rolloverType: 'hourly', clock: () => new Date(2024, 5, 1, 12, 5) }));
  logger.info('new run');
  await logger.close();
  t.deepEqual((await readdir(dir)).sort(), ['ecs-agent.log', 'ecs-agent.log.2024-06-01-07']);
  t.is(await readFile(`${file}.2024-06-01-07`, 'utf8'), 'from the previous run\n');
  t.regex(await readFile(file, 'utf8'), /msg="new run"/);
});

test('a log file that cannot be written is reported on stdout and logging goes on there', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'is-a-directory');
  await mkdir(file);
  const out = new MemoryStream();
  const logger = createLogger(fileOptions(file, { level: 'info', stdout: out }));
  logger.info('first');
  await sleep(50);
  logger.info('second');
  await logger.close();
  const text = out.chunks.join('');
  t.regex(
    text,
    /level=error time=\S+ msg="Log file output failed; logging to stdout only" module=logging file="[^"]+" error="[^"]+"/,
  );
  t.regex(text, /msg="first"/);
  t.regex(text, /msg="second"/);
});
