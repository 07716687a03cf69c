/**
 * The log file output: rotating-file-stream does the writing, the size/hourly rotation and the renames;
 * this file chooses upstream's rolled-file names and prunes old rolls (fact sheet section 11).
 *
 * Rolled names follow seelog's `rollingfile` (what upstream configures):
 * - size:   `<file>.<n>`, n counting up from the largest number already on disk (newest = largest);
 * - hourly: `<file>.YYYY-MM-DD-HH`, the hour whose lines the file holds, in local time like Go's
 *           `time.Format` (`.2`, `.3`… appended if that name is taken, e.g. after a clock step back).
 *
 * Pruning is ours rather than rotating-file-stream's `maxFiles`: that option keeps a history file
 * (`<file>.txt`) beside the log and only knows the rolls it made itself, while seelog (and this code)
 * scan the directory, so rolls left by an earlier run or by the upstream agent are counted too.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createStream, type Options as RfsOptions } from 'rotating-file-stream';
import type { LogRolloverType } from './options.js';
import { TrackedSink } from './sink.js';
import type { LogFields } from './types.js';

/** Upstream: `maxsize = MaxFileSizeMB * 1000000` bytes (decimal megabytes). */
export const BYTES_PER_LOG_MB = 1_000_000;

/**
 * The log holds task details (names, images, stop reasons, errors): owner-only. Rolls are renames of the
 * active file, so they keep its mode.
 */
export const LOG_FILE_MODE = 0o600;

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

/** `<file>.YYYY-MM-DD-HH` for the hour starting at `hourStart` (local time), `.index` appended from 2 on. */
export function hourlyRollName(file: string, hourStart: Date, index = 1): string {
  const stamp = `${hourStart.getFullYear()}-${pad2(hourStart.getMonth() + 1)}-${pad2(hourStart.getDate())}-${pad2(hourStart.getHours())}`;
  return `${file}.${stamp}${index > 1 ? `.${index}` : ''}`;
}

export function sizeRollName(file: string, rollNumber: number): string {
  return `${file}.${rollNumber}`;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface RolledFile {
  name: string;
  /** Sort keys, oldest first. */
  primary: string | number;
  secondary: number;
}

/** Rolled files of `base` (a file name, no directory) among `names`, oldest first. */
export function selectRolls(names: readonly string[], base: string, type: LogRolloverType): string[] {
  const rolls: RolledFile[] = [];
  const prefix = escapeRegExp(base);
  if (type === 'size') {
    const pattern = new RegExp(`^${prefix}\\.(\\d+)$`);
    for (const name of names) {
      const match = pattern.exec(name);
      if (match) rolls.push({ name, primary: Number(match[1]), secondary: 0 });
    }
  } else if (type === 'hourly') {
    const pattern = new RegExp(`^${prefix}\\.(\\d{4}-\\d{2}-\\d{2}-\\d{2})(?:\\.(\\d+))?$`);
    for (const name of names) {
      const match = pattern.exec(name);
      if (match) rolls.push({ name, primary: match[1]!, secondary: Number(match[2] ?? 1) });
    }
  }
  rolls.sort((a, b) => (a.primary < b.primary ? -1 : a.primary > b.primary ? 1 : a.secondary - b.secondary));
  return rolls.map((roll) => roll.name);
}

/** Deletes the oldest rolls of `file` beyond `keep` (0 keeps all). Returns the names deleted. */
export async function pruneRolls(file: string, type: LogRolloverType, keep: number): Promise<string[]> {
  if (keep <= 0 || type === 'none') return [];
  const dir = dirname(file);
  const rolls = selectRolls(await readdir(dir), basename(file), type);
  const doomed = rolls.slice(0, Math.max(0, rolls.length - keep));
  for (const name of doomed) {
    try {
      await unlink(join(dir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return doomed;
}

function largestRollNumber(file: string): number {
  const rolls = selectRolls(readdirSync(dirname(file)), basename(file), 'size');
  const newest = rolls.at(-1);
  return newest === undefined ? 0 : Number(newest.slice(basename(file).length + 1));
}

/**
 * The active file and every roll of it (either naming) left by an earlier run, an older ecsd or the upstream
 * agent, brought to 0600 when looser. Returns the paths changed. Synchronous: once, at start-up.
 */
function tightenLogFiles(file: string): string[] {
  const dir = dirname(file);
  const names = readdirSync(dir);
  const base = basename(file);
  const ours = [base, ...selectRolls(names, base, 'size'), ...selectRolls(names, base, 'hourly')];
  const changed: string[] = [];
  for (const name of ours) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    const stat = statSync(path);
    if (!stat.isFile() || (stat.mode & 0o777 & ~LOG_FILE_MODE) === 0) continue;
    chmodSync(path, LOG_FILE_MODE);
    changed.push(path);
  }
  return changed;
}

export interface RotatingFileOptions {
  file: string;
  rolloverType: LogRolloverType;
  maxFileSizeMB: number;
  maxRollCount: number;
  clock: () => Date;
  /** Told about failures of the file output (never thrown: logging must not take the agent down). */
  onProblem: (level: 'warn' | 'error', msg: string, fields: LogFields) => void;
}

export interface RotatingFileOutput {
  sink: TrackedSink;
  /** Resolves when every line handed over is written and any pruning has finished. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export function createRotatingFileOutput(options: RotatingFileOptions): RotatingFileOutput {
  const file = resolve(options.file);
  // Synchronous on purpose: it runs once at start-up, and a missing directory is upstream's normal case
  // (ecs-init mounts /log but the agent creates the file).
  mkdirSync(dirname(file), { recursive: true });
  const tightened = tightenLogFiles(file);
  if (tightened.length > 0) {
    options.onProblem('warn', 'Log files were readable by others; tightened them to owner-only', {
      files: tightened,
      mode: LOG_FILE_MODE.toString(8),
    });
  }

  let generator: (time: number | Date | null, index?: number) => string;
  let rfsOptions: RfsOptions;
  switch (options.rolloverType) {
    case 'size': {
      let rollNumber = largestRollNumber(file);
      generator = (time) => (time === null ? file : sizeRollName(file, ++rollNumber));
      // rotating-file-stream rotates once the file has reached `size` bytes after a write.
      rfsOptions = { size: `${Math.max(1, Math.floor(options.maxFileSizeMB * BYTES_PER_LOG_MB))}B` };
      break;
    }
    case 'hourly':
      generator = (time, index) => (time === null ? file : hourlyRollName(file, new Date(time), index));
      // intervalBoundary: the generator gets the start of the hour the file holds, not the rotation time.
      // initialRotation: a file left from an earlier hour is rolled at start-up under that hour's name.
      // Not intervalUTC: 3.2.9 mixes UTC hours into a local-time Date there (boundaries go wrong off UTC).
      rfsOptions = { interval: '1h', intervalBoundary: true, initialRotation: true };
      break;
    default:
      generator = () => file;
      rfsOptions = {};
  }

  // `mode` is what rotating-file-stream opens a new active file with (after a roll too).
  rfsOptions.mode = LOG_FILE_MODE;
  const stream = createStream(generator as (time: number | Date, index?: number) => string, rfsOptions);
  // rotating-file-stream 3.2.x reads time only through its `now()` method; pointing it at our clock makes
  // the hourly boundary follow the same time as the line timestamps (and lets tests drive it).
  (stream as unknown as { now: () => Date }).now = options.clock;

  const sink = new TrackedSink(stream);
  let pruning: Promise<void> = Promise.resolve();

  stream.on('rotated', () => {
    pruning = pruning
      .then(() => pruneRolls(file, options.rolloverType, options.maxRollCount))
      .then(
        () => {},
        (error: unknown) => options.onProblem('warn', 'Could not remove old log files', { file, error }),
      );
  });
  stream.on('warning', (error: unknown) => options.onProblem('warn', 'Log file rotation warning', { file, error }));
  stream.on('error', (error: unknown) => {
    sink.stop();
    options.onProblem('error', 'Log file output failed; logging to stdout only', { file, error });
  });

  const settle = async (): Promise<void> => {
    await sink.idle();
    await pruning;
  };

  return {
    sink,
    settle,
    async close() {
      await settle();
      sink.stop();
      if (!stream.destroyed && !stream.writableEnded) {
        await new Promise<void>((done) => {
          stream.once('close', done);
          stream.once('error', () => done());
          stream.end();
        });
      }
      await pruning;
    },
  };
}
