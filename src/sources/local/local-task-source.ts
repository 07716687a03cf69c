/**
 * The local desired-state source (`--tasks-dir`): every `*.json` file in the directory is one task,
 * described in the RegisterTaskDefinition request shape. Adding a file starts a task, removing it stops
 * the task, changing it replaces the task (new ARN, next revision of the family). An invalid file is
 * reported with its file name and fields, and nothing else stops: the task an earlier valid version of
 * that file started keeps running.
 *
 * Each sync is level-triggered, like the loops (design.md): it reads the whole directory, compares it
 * with the store, and writes the difference in one transaction. `fs.watch` events only nudge a sync
 * (they are hints: editors rename, some file systems drop events); a cheap poll of names, sizes and
 * mtimes every `pollIntervalMs` is the safety net.
 *
 * What counts as "the same task": a file's task is the one this process started or adopted for it. At
 * start-up a stored task is adopted when its ID says it came from this file with this content (see
 * local-task-identity.ts), whatever its status — so an agent restart never re-runs a finished task, and
 * a task that stopped on its own is not restarted until the file changes (or is removed and re-added).
 */
import { type FSWatcher, readdirSync, readFileSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../clock.js';
import { EcsdError, errorMessage } from '../../errors.js';
import type { Logger } from '../../logging/types.js';
import { taskStatusRank } from '../../model/status.js';
import { taskIdFromArn } from '../../model/task.js';
import type { DesiredStateStore, TaskRecord } from '../../store/records.js';
import { isDirectory } from '../../util/fs.js';
import { canonicalJson, fileIdPrefix, fileIdPrefixOfArn, localTaskArn, localTaskId } from './local-task-identity.js';
import { parseTaskDefinitionFile } from './parse-task-definition.js';
import { defaultTaskDefinitionValidator, type TaskDefinitionValidator } from './task-definition-schema.js';
import { taskDefinitionToTaskSpec } from './task-definition-to-spec.js';
import type { TaskDefinition } from './task-definition-types.js';

/** The store methods this source uses (a narrow view, so tests can pass a small fake). */
export type LocalSourceStore = Pick<
  DesiredStateStore,
  'listTasks' | 'putDesiredTask' | 'raiseTaskDesiredStatus' | 'transaction'
>;

export interface LocalTaskSourceOptions {
  dir: string;
  store: LocalSourceStore;
  logger: Logger;
  clock: Clock;
  /** Cluster name (or ARN) used in task ARNs. */
  cluster: string;
  /** Safety-net poll of the directory listing; fs.watch events trigger syncs sooner. */
  pollIntervalMs: number;
  /** Quiet time after a watch event before syncing, so an editor's write+rename is read once. Default 50 ms. */
  watchDebounceMs?: number;
  validator?: TaskDefinitionValidator;
}

export interface InvalidTaskFile {
  file: string;
  error: string;
}

export interface SyncReport {
  /** ARNs put as new desired tasks. */
  started: string[];
  /** ARNs whose desired status was raised to STOPPED. */
  stopped: string[];
  invalid: InvalidTaskFile[];
  /** Valid files whose task is already the desired one. */
  unchanged: number;
}

export type LocalTaskSourceState = 'idle' | 'running' | 'stopped';

interface TrackedFile {
  arn: string;
  canonical: string;
}

type FileRead = { kind: 'valid'; definition: TaskDefinition; canonical: string } | { kind: 'invalid'; error: string };

const STOPPED_RANK = taskStatusRank('STOPPED');
const DEFAULT_WATCH_DEBOUNCE_MS = 50;

export class LocalTaskSource {
  private readonly options: LocalTaskSourceOptions;
  private readonly logger: Logger;
  private readonly validator: TaskDefinitionValidator;
  private readonly tracked = new Map<string, TrackedFile>();
  /** Highest revision handed out per family in this process (the store may have cleaned older tasks up). */
  private readonly familyVersions = new Map<string, number>();
  private readonly loggedErrors = new Map<string, string>();
  /**
   * The last read of each file, keyed by name and valid while its identity (inode, size, mtime and ctime in
   * nanoseconds) is unchanged: a sync then re-reads and re-validates only files that changed, instead of
   * every file on every fs.watch event (10 ms per sync for 50 files before this cache).
   */
  private readonly readCache = new Map<string, { identity: string; read: FileRead }>();
  /** fileIdPrefix per file name: a sha256 each, asked for every file and every task on every sync. */
  private readonly prefixes = new Map<string, string>();
  private lastInvalid: InvalidTaskFile[] = [];
  private lastFingerprint: string | undefined;
  private watcher: FSWatcher | undefined;
  private pollTimer: { cancel(): void } | undefined;
  private debounceTimer: { cancel(): void } | undefined;
  private lifecycle: LocalTaskSourceState = 'idle';

  constructor(options: LocalTaskSourceOptions) {
    this.options = options;
    this.logger = options.logger.child({ module: 'local-source', dir: options.dir });
    this.validator = options.validator ?? defaultTaskDefinitionValidator();
  }

  get state(): LocalTaskSourceState {
    return this.lifecycle;
  }

  /** Files rejected by the last sync, with the reason (for metrics and the CLI). */
  invalidFiles(): readonly InvalidTaskFile[] {
    return this.lastInvalid;
  }

  /** Initial sync, then watch. Throws a ConfigError when the directory cannot be read. */
  start(): SyncReport {
    if (this.lifecycle !== 'idle') throw new Error(`local task source cannot start from state ${this.lifecycle}`);
    if (!isDirectory(this.options.dir)) {
      throw new EcsdError(
        'ConfigError',
        `tasks directory ${this.options.dir} does not exist or is not a directory`,
        'terminal',
        {
          context: { dir: this.options.dir },
        },
      );
    }
    this.lifecycle = 'running';
    const report = this.syncOnce();
    this.startWatching();
    this.schedulePoll();
    return report;
  }

  stop(): void {
    this.lifecycle = 'stopped';
    this.watcher?.close();
    this.watcher = undefined;
    this.pollTimer?.cancel();
    this.pollTimer = undefined;
    this.debounceTimer?.cancel();
    this.debounceTimer = undefined;
  }

  /** Read the directory and bring the store in line with it. Safe to call at any time. */
  syncOnce(): SyncReport {
    const report: SyncReport = { started: [], stopped: [], invalid: [], unchanged: 0 };
    const scan = this.scanDir(true);
    if (scan === undefined) {
      // An unreadable directory (unmounted, permissions) must not look like "every file was removed".
      return report;
    }
    const fingerprint = fingerprintOf(scan);
    const reads = new Map<string, FileRead>();
    for (const [name, identity] of scan) {
      const read = this.readFileCached(name, identity);
      if (read) reads.set(name, read);
    }
    for (const name of this.readCache.keys()) if (!reads.has(name)) this.readCache.delete(name);
    const localTasks = this.options.store.listTasks().filter((task) => task.source === 'local');

    this.options.store.transaction(() => {
      for (const [name, read] of reads) {
        if (read.kind === 'invalid') {
          report.invalid.push({ file: name, error: read.error });
          continue;
        }
        const started = this.ensureTask(name, read.definition, read.canonical, localTasks);
        if (started) report.started.push(started);
        else report.unchanged += 1;
      }
      this.stopUnwanted(reads, localTasks, report);
    });

    for (const name of this.tracked.keys()) if (!reads.has(name)) this.tracked.delete(name);
    for (const name of this.prefixes.keys()) if (!reads.has(name)) this.prefixes.delete(name);
    this.logInvalid(report.invalid);
    this.lastInvalid = report.invalid;
    this.lastFingerprint = fingerprint;
    return report;
  }

  private prefixOf(name: string): string {
    let prefix = this.prefixes.get(name);
    if (prefix === undefined) {
      prefix = fileIdPrefix(name);
      this.prefixes.set(name, prefix);
    }
    return prefix;
  }

  /** Returns the ARN it started, or undefined when the file's task is already the desired one. */
  private ensureTask(
    name: string,
    definition: TaskDefinition,
    canonical: string,
    localTasks: TaskRecord[],
  ): string | undefined {
    const tracked = this.tracked.get(name);
    if (tracked?.canonical === canonical) return undefined;
    if (!tracked) {
      const adopted = adoptable(name, canonical, localTasks);
      if (adopted) {
        this.tracked.set(name, { arn: adopted.arn, canonical });
        return undefined;
      }
    }
    const version = String(this.nextVersion(definition.family, localTasks));
    const arn = localTaskArn(this.options.cluster, localTaskId(name, canonical, version));
    this.options.store.putDesiredTask(taskDefinitionToTaskSpec(definition, { arn, version }));
    this.familyVersions.set(definition.family, Number(version));
    this.tracked.set(name, { arn, canonical });
    this.logger.info('starting task from file', { file: name, taskArn: arn, family: definition.family, version });
    return arn;
  }

  /** Every active local task must be the tracked task of a present file, or belong to an invalid file. */
  private stopUnwanted(reads: Map<string, FileRead>, localTasks: TaskRecord[], report: SyncReport): void {
    const fileByPrefix = new Map<string, string>();
    for (const name of reads.keys()) fileByPrefix.set(this.prefixOf(name), name);
    const trackedByPrefix = new Map<string, string>();
    for (const name of this.tracked.keys()) trackedByPrefix.set(this.prefixOf(name), name);
    for (const task of localTasks) {
      if (taskStatusRank(task.desiredStatus) >= STOPPED_RANK) continue;
      const file = fileByPrefix.get(fileIdPrefixOfArn(task.arn));
      let reason: string;
      if (file === undefined) {
        const removed = trackedByPrefix.get(fileIdPrefixOfArn(task.arn));
        reason = removed === undefined ? 'Task definition file removed' : `Task definition file ${removed} removed`;
      } else if (reads.get(file)?.kind === 'invalid') {
        continue;
      } else {
        const wanted = this.tracked.get(file)?.arn;
        if (wanted === task.arn) continue;
        reason = `Task definition file ${file} changed; replaced by task ${wanted ? taskIdFromArn(wanted) : 'none'}`;
      }
      if (this.options.store.raiseTaskDesiredStatus(task.arn, 'STOPPED', reason)) {
        report.stopped.push(task.arn);
        this.logger.info('stopping task', { taskArn: task.arn, file, reason });
      }
    }
  }

  private nextVersion(family: string, localTasks: TaskRecord[]): number {
    let max = this.familyVersions.get(family) ?? 0;
    for (const task of localTasks) {
      const version = Number(task.version);
      if (task.family === family && Number.isInteger(version) && version > max) max = version;
    }
    return max + 1;
  }

  /**
   * The task files, each with its identity (inode, size, mtime and ctime in nanoseconds; undefined when it
   * cannot be stat'ed), sorted by name; undefined when the directory cannot be read. One stat per file
   * serves both the poll's change check and the read cache.
   */
  private scanDir(logErrors: boolean): Map<string, string | undefined> | undefined {
    let names: string[];
    try {
      names = readdirSync(this.options.dir, { withFileTypes: true })
        .filter((entry) => isTaskFileName(entry.name) && (entry.isFile() || entry.isSymbolicLink()))
        .map((entry) => entry.name)
        .sort();
    } catch (error) {
      if (logErrors) {
        this.logger.error('cannot read tasks directory; keeping current tasks', { error: errorMessage(error) });
      }
      return undefined;
    }
    const scan = new Map<string, string | undefined>();
    for (const name of names) {
      try {
        const stat = statSync(join(this.options.dir, name), { bigint: true });
        scan.set(name, `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`);
      } catch {
        scan.set(name, undefined);
      }
    }
    return scan;
  }

  private readFileCached(name: string, identity: string | undefined): FileRead | undefined {
    // Vanished or unreadable: let readFile report it exactly.
    if (identity === undefined) return this.readFile(name);
    const cached = this.readCache.get(name);
    if (cached?.identity === identity) return cached.read;
    const read = this.readFile(name);
    if (read) this.readCache.set(name, { identity, read });
    else this.readCache.delete(name);
    return read;
  }

  /** undefined when the file vanished between listing and reading (it is then simply absent). */
  private readFile(name: string): FileRead | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.options.dir, name), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return { kind: 'invalid', error: `${name}: cannot read: ${errorMessage(error)}` };
    }
    try {
      const definition = parseTaskDefinitionFile(name, text, this.validator);
      return { kind: 'valid', definition, canonical: canonicalJson(definition) };
    } catch (error) {
      return { kind: 'invalid', error: errorMessage(error) };
    }
  }

  /** Log each invalid file once per distinct error, not on every sync. */
  private logInvalid(invalid: InvalidTaskFile[]): void {
    const current = new Map(invalid.map((entry) => [entry.file, entry.error]));
    for (const [file, error] of current) {
      if (this.loggedErrors.get(file) === error) continue;
      const keeps = this.tracked.get(file);
      this.logger.error('invalid task definition file; ignored', {
        file,
        error,
        ...(keeps ? { keepsRunning: keeps.arn } : {}),
      });
    }
    this.loggedErrors.clear();
    for (const [file, error] of current) this.loggedErrors.set(file, error);
  }

  private startWatching(): void {
    if (this.watcher || this.lifecycle !== 'running') return;
    try {
      this.watcher = watch(this.options.dir, { persistent: false }, () => this.nudge());
      this.watcher.on('error', (error) => {
        this.logger.warn('watching the tasks directory failed; polling only until it can be watched again', {
          error: errorMessage(error),
        });
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (error) {
      this.logger.warn('cannot watch the tasks directory; polling only', { error: errorMessage(error) });
    }
  }

  private nudge(): void {
    if (this.lifecycle !== 'running' || this.debounceTimer) return;
    this.debounceTimer = this.options.clock.setTimeout(() => {
      this.debounceTimer = undefined;
      this.safeSync();
    }, this.options.watchDebounceMs ?? DEFAULT_WATCH_DEBOUNCE_MS);
  }

  private schedulePoll(): void {
    if (this.lifecycle !== 'running') return;
    this.pollTimer = this.options.clock.setTimeout(() => {
      this.pollTimer = undefined;
      this.startWatching();
      const scan = this.scanDir(false);
      if (scan !== undefined && fingerprintOf(scan) !== this.lastFingerprint) this.safeSync();
      this.schedulePoll();
    }, this.options.pollIntervalMs);
  }

  private safeSync(): void {
    if (this.lifecycle !== 'running') return;
    try {
      this.syncOnce();
    } catch (error) {
      // Most likely a store write failed; forget the fingerprint so the next poll tries again.
      this.lastFingerprint = undefined;
      this.logger.error('syncing the tasks directory failed; will retry', { error: errorMessage(error) });
    }
  }
}

/** `*.json`, ignoring hidden files (editor swap and lock files such as `.#web.json`). */
export function isTaskFileName(name: string): boolean {
  return name.endsWith('.json') && !name.startsWith('.');
}

/** The stored task this file's current content already produced, if its newest task is that one. */
function adoptable(name: string, canonical: string, localTasks: TaskRecord[]): TaskRecord | undefined {
  const prefix = fileIdPrefix(name);
  let newest: TaskRecord | undefined;
  for (const task of localTasks) {
    if (fileIdPrefixOfArn(task.arn) !== prefix) continue;
    if (!newest || Number(task.version) > Number(newest.version)) newest = task;
  }
  if (newest && taskIdFromArn(newest.arn) === localTaskId(name, canonical, newest.version)) return newest;
  return undefined;
}

/** The poll's cheap "did anything change": every task file's name and identity. */
function fingerprintOf(scan: ReadonlyMap<string, string | undefined>): string {
  const parts: string[] = [];
  for (const [name, identity] of scan) parts.push(`${name}:${identity ?? 'gone'}`);
  return parts.join('\n');
}
