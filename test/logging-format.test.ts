/**
 * Line shapes, level filtering and flushing of the agent logger (fact sheet section 11).
 * Every test writes into an in-memory stream or a temp directory and parses the lines back.
 */

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { CannotPullContainerError, EcsdError } from '../src/errors.js';
import { createCapturingLogger, createLogger, type LoggerOptions, type LogOutputFormat } from '../src/logging/index.js';

const FIXED_NOW = new Date('2024-06-01T12:00:00.789Z');

/** Collects written lines; `delayMs` makes each write complete later, to prove flush() waits. */
class MemoryStream extends Writable {
  readonly chunks: string[] = [];
  completed = 0;

  constructor(private readonly delayMs = 0) {
    super({ decodeStrings: false });
  }

  override _write(chunk: string | Buffer, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    const finish = (): void => {
      this.chunks.push(chunk.toString());
      this.completed += 1;
      done();
    };
    if (this.delayMs > 0) setTimeout(finish, this.delayMs);
    else finish();
  }

  get lines(): string[] {
    return this.chunks
      .join('')
      .split('\n')
      .filter((line) => line !== '');
  }
}

/** A strict logfmt reader: bare words or JSON-quoted strings, single spaces between pairs, nothing else. */
function parseLogfmt(line: string): Array<[string, string | { quoted: string }]> {
  const pairs: Array<[string, string | { quoted: string }]> = [];
  const pair = /([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]+)(?: |$)/y;
  while (pair.lastIndex < line.length) {
    const start = pair.lastIndex;
    const match = pair.exec(line);
    if (!match) throw new Error(`not logfmt at ${start}: ${line}`);
    const raw = match[2]!;
    pairs.push([match[1]!, raw.startsWith('"') ? { quoted: JSON.parse(raw) as string } : raw]);
  }
  return pairs;
}

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ecsd-logging-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function options(stdout: MemoryStream, overrides: Partial<LoggerOptions> = {}): LoggerOptions {
  return {
    level: 'info',
    levelOnInstance: 'info',
    format: 'logfmt',
    rolloverType: 'none',
    maxFileSizeMB: 5,
    maxRollCount: 24,
    stdout,
    clock: () => FIXED_NOW,
    ...overrides,
  };
}

test('logfmt: the upstream example line, byte for byte', async (t) => {
  const out = new MemoryStream();
  const logger = createLogger(options(out));
  logger.info('Registered container instance with cluster!', { module: 'ecs_client.go' });
  await logger.close();
  t.deepEqual(out.chunks, [
    'level=info time=2024-06-01T12:00:00Z msg="Registered container instance with cluster!" module=ecs_client.go\n',
  ]);
});

test('logfmt: structured fields follow msg; strings quoted, other values plain; parses back', async (t) => {
  const out = new MemoryStream();
  const logger = createLogger(options(out));
  logger.info('Sending state change to ECS', {
    taskArn: 'arn:aws:ecs:us-west-2:123456789012:task/default/abc',
    taskStatus: 'RUNNING',
    exitCode: 137,
    essential: true,
    reason: null,
    note: 'say "hi"\nbye',
    ports: [{ containerPort: 80 }],
    skipped: undefined,
  });
  await logger.flush();
  t.is(
    out.chunks[0],
    'level=info time=2024-06-01T12:00:00Z msg="Sending state change to ECS"' +
      ' taskArn="arn:aws:ecs:us-west-2:123456789012:task/default/abc" taskStatus="RUNNING" exitCode=137' +
      ' essential=true reason=null note="say \\"hi\\"\\nbye" ports="[{\\"containerPort\\":80}]"\n',
  );
  const pairs = parseLogfmt(out.lines[0]!);
  t.deepEqual(
    pairs.map(([key]) => key),
    ['level', 'time', 'msg', 'taskArn', 'taskStatus', 'exitCode', 'essential', 'reason', 'note', 'ports'],
  );
  t.deepEqual(Object.fromEntries(pairs).note, { quoted: 'say "hi"\nbye' });
  t.deepEqual(JSON.parse((Object.fromEntries(pairs).ports as { quoted: string }).quoted), [{ containerPort: 80 }]);
  await logger.close();
});

test('json: level, time, msg, then fields, in that order', async (t) => {
  const out = new MemoryStream();
  const logger = createLogger(options(out, { format: 'json' }));
  logger.info('Registered container instance with cluster!', { module: 'ecs_client.go' });
  logger.warn('Sending state change to ECS', { taskArn: 'arn:x', taskStatus: 'RUNNING', attempt: 2, ok: false });
  await logger.close();
  t.is(
    out.lines[0],
    '{"level":"info","time":"2024-06-01T12:00:00Z","msg":"Registered container instance with cluster!","module":"ecs_client.go"}',
  );
  const second = JSON.parse(out.lines[1]!) as Record<string, unknown>;
  t.deepEqual(Object.keys(second), ['level', 'time', 'msg', 'taskArn', 'taskStatus', 'attempt', 'ok']);
  t.deepEqual(second, {
    level: 'warn',
    time: '2024-06-01T12:00:00Z',
    msg: 'Sending state change to ECS',
    taskArn: 'arn:x',
    taskStatus: 'RUNNING',
    attempt: 2,
    ok: false,
  });
});

for (const format of ['logfmt', 'json'] as const satisfies readonly LogOutputFormat[]) {
  test(`${format}: every level word, crit printed as critical`, async (t) => {
    const out = new MemoryStream();
    const logger = createLogger(options(out, { format, level: 'debug' }));
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    logger.crit('c');
    await logger.close();
    const levels = out.lines.map((line) =>
      format === 'json' ? (JSON.parse(line) as { level: string }).level : (parseLogfmt(line)[0]![1] as string),
    );
    t.deepEqual(levels, ['debug', 'info', 'warn', 'error', 'critical']);
  });

  test(`${format}: Errors print as their message, an EcsdError adds its code`, async (t) => {
    const out = new MemoryStream();
    const logger = createLogger(options(out, { format }));
    logger.error('Pull failed', {
      error: new CannotPullContainerError('pull access denied for busybox'),
      cause: new Error('socket hang up'),
    });
    await logger.close();
    const fields =
      format === 'json'
        ? (JSON.parse(out.lines[0]!) as Record<string, unknown>)
        : Object.fromEntries(parseLogfmt(out.lines[0]!).map(([k, v]) => [k, typeof v === 'string' ? v : v.quoted]));
    t.is(fields.error, 'pull access denied for busybox');
    t.is(fields.errorCode, 'CannotPullContainerError');
    t.is(fields.cause, 'socket hang up');
    t.false('causeCode' in fields);
  });
}

test('child bindings are merged into every line, later bindings and call fields win', async (t) => {
  const out = new MemoryStream();
  const logger = createLogger(options(out, { format: 'json' }));
  const containers = logger.child({ module: 'containers', loop: 'a' });
  const task = containers.child({ taskArn: 'arn:t', loop: 'b' });
  containers.info('one');
  task.info('two', { loop: 'c', extra: 1 });
  logger.info('three');
  await logger.close();
  const [one, two, three] = out.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  t.deepEqual(one, { level: 'info', time: '2024-06-01T12:00:00Z', msg: 'one', module: 'containers', loop: 'a' });
  t.deepEqual(two, {
    level: 'info',
    time: '2024-06-01T12:00:00Z',
    msg: 'two',
    module: 'containers',
    loop: 'c',
    taskArn: 'arn:t',
    extra: 1,
  });
  t.deepEqual(three, { level: 'info', time: '2024-06-01T12:00:00Z', msg: 'three' });
});

test('fields named level, time or msg cannot forge the line’s own keys', async (t) => {
  const out = new MemoryStream();
  const logger = createLogger(options(out));
  logger.info('real', { level: 'debug', time: 'yesterday', msg: 'fake' });
  await logger.close();
  t.is(
    out.chunks[0],
    'level=info time=2024-06-01T12:00:00Z msg="real" fields.level="debug" fields.time="yesterday" fields.msg="fake"\n',
  );
});

test('timestamps are RFC 3339 UTC at second precision, from the injected clock', async (t) => {
  const out = new MemoryStream();
  let now = new Date('2024-12-31T23:59:59.999Z');
  const logger = createLogger(options(out, { format: 'json', clock: () => now }));
  logger.info('a');
  now = new Date('2025-01-01T00:00:00.001Z');
  logger.info('b');
  await logger.close();
  t.deepEqual(
    out.lines.map((line) => (JSON.parse(line) as { time: string }).time),
    ['2024-12-31T23:59:59Z', '2025-01-01T00:00:00Z'],
  );
});

test('stdout and file filter by their own levels; off disables an output', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'ecs-agent.log');
  const out = new MemoryStream();
  const logger = createLogger(options(out, { level: 'warn', levelOnInstance: 'debug', file }));
  logger.debug('d');
  logger.info('i');
  logger.warn('w');
  logger.crit('c');
  await logger.close();
  const msgs = (lines: string[]) => lines.map((line) => (parseLogfmt(line)[2]![1] as { quoted: string }).quoted);
  t.deepEqual(msgs(out.lines), ['w', 'c']);
  const fileLines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  t.deepEqual(msgs(fileLines), ['d', 'i', 'w', 'c']);

  const quietOut = new MemoryStream();
  const quietFile = join(dir, 'quiet.log');
  const quiet = createLogger(options(quietOut, { level: 'off', levelOnInstance: 'error', file: quietFile }));
  quiet.warn('dropped everywhere');
  quiet.error('file only');
  await quiet.close();
  t.deepEqual(quietOut.chunks, []);
  t.deepEqual(msgs((await readFile(quietFile, 'utf8')).split('\n').filter(Boolean)), ['file only']);

  const noFile = join(dir, 'never.log');
  const stdoutOnly = createLogger(options(new MemoryStream(), { levelOnInstance: 'off', file: noFile }));
  stdoutOnly.crit('stdout only');
  await stdoutOnly.close();
  t.false(existsSync(noFile));
});

test('flush() resolves only after slow writes have completed', async (t) => {
  const out = new MemoryStream(15);
  const logger = createLogger(options(out));
  for (let i = 0; i < 5; i += 1) logger.info('slow', { i });
  t.is(out.completed, 0);
  await logger.flush();
  t.is(out.lines.length, 5);
  t.deepEqual(
    out.lines.map((line) => parseLogfmt(line).at(-1)![1]),
    ['0', '1', '2', '3', '4'],
  );
  await logger.close();
});

test('lines logged in one event-loop turn reach the stream in one write, in order', async (t) => {
  const out = new MemoryStream();
  const logger = createLogger(options(out));
  for (let i = 0; i < 3; i += 1) logger.info('burst', { i });
  t.is(out.chunks.length, 0, 'nothing is written synchronously');
  await new Promise((resolve) => setImmediate(resolve));
  logger.info('next turn');
  await logger.flush();
  t.is(out.chunks.length, 2);
  t.deepEqual(
    out.lines.map((line) => parseLogfmt(line)[2]![1]),
    [{ quoted: 'burst' }, { quoted: 'burst' }, { quoted: 'burst' }, { quoted: 'next turn' }],
  );
  await logger.close();
});

for (const format of ['logfmt', 'json'] as const satisfies readonly LogOutputFormat[]) {
  test(`${format}: values without a JSON form are left out; dates, NaN, BigInt and cycles still give a line`, async (t) => {
    const out = new MemoryStream();
    const logger = createLogger(options(out, { format }));
    const cyclic: Record<string, unknown> = { name: 'a', shared: { n: 1 } };
    cyclic.self = cyclic;
    cyclic.again = cyclic.shared;
    logger.info('odd values', {
      gone: undefined,
      fn: () => 1,
      at: new Date('2024-06-01T12:00:00.000Z'),
      ratio: Number.NaN,
      big: 12345678901234567890n,
      cyclic,
    });
    await logger.close();
    const fields =
      format === 'json'
        ? (JSON.parse(out.lines[0]!) as Record<string, unknown>)
        : Object.fromEntries(parseLogfmt(out.lines[0]!).map(([k, v]) => [k, typeof v === 'string' ? v : v.quoted]));
    t.deepEqual(Object.keys(fields), ['level', 'time', 'msg', 'at', 'ratio', 'big', 'cyclic']);
    t.is(fields.at, '2024-06-01T12:00:00.000Z');
    t.is(fields.ratio, format === 'json' ? null : 'null');
    t.is(fields.big, '12345678901234567890');
    const cyclicText = format === 'json' ? fields.cyclic : JSON.parse(fields.cyclic as string);
    t.deepEqual(cyclicText, { name: 'a', shared: { n: 1 }, self: '[Circular]', again: { n: 1 } });
  });
}

test('invalid options fail loudly with a ConfigError', (t) => {
  const error = t.throws(() =>
    createLogger(options(new MemoryStream(), { maxRollCount: -1, maxFileSizeMB: 0, rolloverType: 'size' })),
  );
  t.true(error instanceof EcsdError);
  t.is((error as EcsdError).code, 'ConfigError');
  t.regex(error!.message, /maxFileSizeMB 0/);
  t.regex(error!.message, /maxRollCount -1/);
});

test('the capturing logger records every level with merged bindings and raw field values', async (t) => {
  const { logger, lines } = createCapturingLogger();
  const cause = new Error('boom');
  logger.debug('a');
  logger.child({ module: 'images' }).child({ image: 'busybox' }).crit('b', { cause });
  await logger.flush();
  t.deepEqual(lines, [
    { level: 'debug', msg: 'a', fields: {} },
    { level: 'crit', msg: 'b', fields: { module: 'images', image: 'busybox', cause } },
  ]);
});
