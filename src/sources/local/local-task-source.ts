/**
 * The local desired-state source (`--tasks-dir`): every `*.json` file in the directory is one task,
 * described in the RegisterTaskDefinition request shape. Adding a file starts a task, removing it stops
 * the task, changing it replaces the task (new ARN). An invalid file is reported with its file name and
 * fields, and nothing else stops: the task an earlier valid version of that file started keeps running.
 *
 * Each sync is level-triggered, like the loops (design.md): it reads the whole directory, compares it
 * with the store, and writes the difference in one transaction (local-task-plan.ts). `fs.watch` events
 * only nudge a sync (they are hints: editors rename, some file systems drop events); a poll every
 * `pollIntervalMs` is the safety net. While the watch works, most polls only list the names (one `readdir`),
 * and every `fullScanEveryPolls`-th one also stats each file: a stat per file per poll cost more CPU than
 * the rest of the source at 200 tasks, to catch an in-place edit the watch already reports. Without a watch
 * every poll stats every file. Syncs run one at a time; all file system access is asynchronous and refuses
 * what is not a safe regular file (task-files.ts).
 *
 * A sync whose store write fails (a full disk) marks nothing handled; `start()` and the timers retry it
 * with backoff (store-write-retry.ts), counting `ecs_agent_store_write_errors_total{reason}` and logging
 * once per episode.
 */
import { type FSWatcher, watch } from 'node:fs';
import type { Clock } from '../../clock.js';
import { ConfigError } from '../../config/errors.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../logging/types.js';
import type { StoreWriteErrorReason } from '../../metrics/registry.js';
import { checkTaskPolicy, DEFAULT_TASK_POLICY, type TaskPolicy } from '../../model/task-policy.js';
import type { DesiredStateStore } from '../../store/records.js';
import { canonicalJson, contentDigest, fileIdPrefix, localRevision } from './local-task-identity.js';
import { type FileRead, planSync, type SyncPlan, type TrackedFile } from './local-task-plan.js';
import { formatIssues, parseTaskDefinitionFile } from './parse-task-definition.js';
import { storeRetryDelayMs, storeWriteErrorReason } from './store-write-retry.js';
import { defaultTaskDefinitionValidator, type TaskDefinitionValidator } from './task-definition-schema.js';
import { taskDefinitionToTaskSpec } from './task-definition-to-spec.js';
import { directoryProblem, listTaskFileNames, readTaskFile, scanTaskFiles } from './task-files.js';

export { isTaskFileName } from './task-files.js';

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
  /**
   * While fs.watch works, one poll in this many stats every file (the others compare names only).
   * Default 12: once a minute at the agent's 5 s poll.
   */
  fullScanEveryPolls?: number;
  /** Quiet time after a watch event before syncing, so an editor's write+rename is read once. Default 50 ms. */
  watchDebounceMs?: number;
  validator?: TaskDefinitionValidator;
  /** The host's task policy (task-policy.ts). Default: privileged allowed, no sensitive mounts, no data dir. */
  policy?: TaskPolicy;
  /** The uid that must own the directory and its files (root is accepted too). Default: this process's. */
  agentUid?: number;
  /** `ecs_agent_store_write_errors_total` (MetricsRegistry.storeWriteErrors). */
  storeWriteErrors?: { inc(labels: { reason: StoreWriteErrorReason }): void };
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

const DEFAULT_WATCH_DEBOUNCE_MS = 50;
const READ_CONCURRENCY = 8;

const emptyReport = (): SyncReport => ({ started: [], stopped: [], invalid: [], unchanged: 0 });

export class LocalTaskSource {
  private readonly options: LocalTaskSourceOptions;
  private readonly logger: Logger;
  private readonly validator: TaskDefinitionValidator;
  private readonly policy: TaskPolicy;
  private readonly agentUid: number;
  private tracked = new Map<string, TrackedFile>();
  /** Highest run handed out per `fileprefix+content` in this process (the store may have cleaned tasks up). */
  private readonly runs = new Map<string, number>();
  private readonly loggedErrors = new Map<string, string>();
  /**
   * The last read of each file, keyed by name and valid while its identity (task-files.ts) is unchanged: a
   * sync re-reads and re-validates only files that changed. A valid entry holds the parsed definition
   * (at most 64 KiB of file); a rejected one holds only its error, never the file's text.
   */
  private readonly readCache = new Map<string, { identity: string; read: FileRead }>();
  private lastInvalid: InvalidTaskFile[] = [];
  private lastFingerprint: string | undefined;
  /** The names of the last synced scan, for the polls that only list names. */
  private lastNames: string | undefined;
  private pollsSinceFullScan = 0;
  private lastDirectoryProblem: string | undefined;
  private synced = false;
  private markReady: () => void = () => undefined;
  private readonly readyPromise = new Promise<void>((resolve) => {
    this.markReady = resolve;
  });
  private chain: Promise<unknown> = Promise.resolve();
  private failedAttempts = 0;
  private watcher: FSWatcher | undefined;
  private pollTimer: { cancel(): void } | undefined;
  private debounceTimer: { cancel(): void } | undefined;
  private retryTimer: { cancel(): void } | undefined;
  private lifecycle: LocalTaskSourceState = 'idle';

  constructor(options: LocalTaskSourceOptions) {
    this.options = options;
    this.logger = options.logger.child({ module: 'local-source', dir: options.dir });
    this.validator = options.validator ?? defaultTaskDefinitionValidator();
    this.policy = options.policy ?? DEFAULT_TASK_POLICY;
    this.agentUid = options.agentUid ?? process.getuid?.() ?? 0;
  }

  get state(): LocalTaskSourceState {
    return this.lifecycle;
  }

  /**
   * Whether a sync has been written: until then the store does not yet say what the directory wants, so
   * nothing may be stopped as "belonging to no desired task" (the kubelet's sourcesReady).
   */
  get ready(): boolean {
    return this.synced;
  }

  /** Resolves once `ready` (after start(), possibly later than it when the first store write failed). */
  whenReady(): Promise<void> {
    return this.readyPromise;
  }

  /** Files rejected by the last sync, with the reason (for metrics and the CLI). */
  invalidFiles(): readonly InvalidTaskFile[] {
    return this.lastInvalid;
  }

  /**
   * Checks the directory (a ConfigError when it is missing, not a directory, owned by another user or
   * writable by group or others), syncs once, then watches. A failed store write does not fail the start:
   * it is retried with backoff, and the returned report is then empty.
   */
  async start(): Promise<SyncReport> {
    if (this.lifecycle !== 'idle') throw new Error(`local task source cannot start from state ${this.lifecycle}`);
    const problem = await directoryProblem(this.options.dir, this.agentUid);
    if (problem !== undefined) {
      throw new ConfigError(`tasks directory ${this.options.dir} ${problem}`, {
        issues: [{ variable: 'ECSD_TASKS_DIR', value: this.options.dir, expected: `a safe directory: it ${problem}` }],
        context: { dir: this.options.dir },
      });
    }
    this.lifecycle = 'running';
    const report = (await this.safeSync()) ?? emptyReport();
    this.startWatching();
    this.schedulePoll();
    return report;
  }

  stop(): void {
    this.lifecycle = 'stopped';
    this.watcher?.close();
    this.watcher = undefined;
    for (const timer of [this.pollTimer, this.debounceTimer, this.retryTimer]) timer?.cancel();
    this.pollTimer = undefined;
    this.debounceTimer = undefined;
    this.retryTimer = undefined;
  }

  /** Read the directory and bring the store in line with it; syncs never overlap. Rejects when the store does. */
  syncOnce(): Promise<SyncReport> {
    const run = this.chain.then(() => this.sync());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async sync(): Promise<SyncReport> {
    const report = emptyReport();
    const problem = await directoryProblem(this.options.dir, this.agentUid);
    if (problem !== undefined) {
      // Unmounted, unreadable or unsafe must not look like "every file was removed": keep every task.
      if (problem !== this.lastDirectoryProblem) {
        this.logger.error('cannot read tasks directory; keeping current tasks', { problem });
      }
      this.lastDirectoryProblem = problem;
      return report;
    }
    let scan: Map<string, string | undefined>;
    try {
      scan = await scanTaskFiles(this.options.dir);
    } catch (error) {
      this.logger.error('cannot read tasks directory; keeping current tasks', { error: errorMessage(error) });
      return report;
    }
    this.lastDirectoryProblem = undefined;
    const reads = new Map<string, FileRead>();
    const entries = [...scan];
    // A few reads at a time: the thread pool works in parallel, and a directory of thousands of files
    // cannot exhaust file descriptors.
    for (let i = 0; i < entries.length; i += READ_CONCURRENCY) {
      const batch = entries.slice(i, i + READ_CONCURRENCY);
      const results = await Promise.all(batch.map(([name, identity]) => this.readFileCached(name, identity)));
      batch.forEach(([name], k) => {
        const read = results[k];
        if (read) reads.set(name, read);
      });
    }
    for (const name of this.readCache.keys()) if (!reads.has(name)) this.readCache.delete(name);

    const plan = planSync({
      cluster: this.options.cluster,
      reads,
      tracked: this.tracked,
      localTasks: this.options.store.listTasks().filter((task) => task.source === 'local'),
      firstSync: !this.synced,
      runs: this.runs,
    });
    const stopped = this.write(plan);
    // Committed: only now is anything remembered as done (a failed write above left all of this untouched).
    this.commit(plan, stopped, report);
    this.lastFingerprint = fingerprintOf(scan);
    this.lastNames = namesOf(scan.keys());
    return report;
  }

  /** One transaction; returns the stops that changed something. Throws when the store refuses the write. */
  private write(plan: SyncPlan): Set<string> {
    const stopped = new Set<string>();
    // Removals before additions (issue 13): a file added in the same scan as another's removal is stored
    // after it, so it queues behind the removed task's hold on host resources and its log lines follow.
    this.options.store.transaction(() => {
      for (const stop of plan.stops) {
        if (this.options.store.raiseTaskDesiredStatus(stop.arn, 'STOPPED', stop.reason)) stopped.add(stop.arn);
      }
      for (const start of plan.starts) this.options.store.putDesiredTask(start.spec);
    });
    return stopped;
  }

  private commit(plan: SyncPlan, stopped: Set<string>, report: SyncReport): void {
    for (const stop of plan.stops) {
      if (!stopped.has(stop.arn)) continue;
      report.stopped.push(stop.arn);
      this.logger.info('stopping task', { taskArn: stop.arn, file: stop.file, reason: stop.reason });
    }
    for (const start of plan.starts) {
      const { arn, family, version } = start.spec;
      const key = fileIdPrefix(start.file) + start.content;
      this.runs.set(key, Math.max(this.runs.get(key) ?? -1, Number.parseInt(arn.slice(-4), 16)));
      report.started.push(arn);
      this.logger.info('starting task from file', { file: start.file, taskArn: arn, family, version });
    }
    // Files that are invalid now keep what they followed (their earlier task keeps running).
    const tracked = new Map(plan.tracked);
    for (const { file } of plan.invalid) {
      const earlier = this.tracked.get(file);
      if (earlier) tracked.set(file, earlier);
    }
    this.tracked = tracked;
    report.invalid = plan.invalid;
    report.unchanged = plan.unchanged;
    this.logInvalid(report.invalid);
    this.lastInvalid = report.invalid;
    if (!this.synced) {
      this.synced = true;
      this.markReady();
    }
  }

  private async readFileCached(name: string, identity: string | undefined): Promise<FileRead | undefined> {
    // Vanished or unreadable: let readFile report it exactly.
    if (identity === undefined) return this.readFile(name);
    const cached = this.readCache.get(name);
    if (cached?.identity === identity) return cached.read;
    const read = await this.readFile(name);
    if (read) this.readCache.set(name, { identity, read });
    else this.readCache.delete(name);
    return read;
  }

  /** undefined when the file vanished between listing and reading (it is then simply absent). */
  private async readFile(name: string): Promise<FileRead | undefined> {
    const file = await readTaskFile(this.options.dir, name, this.agentUid);
    if (file.kind === 'gone') return undefined;
    if (file.kind === 'refused') return { kind: 'invalid', error: file.error };
    try {
      const definition = parseTaskDefinitionFile(name, file.text, this.validator);
      const canonical = canonicalJson(definition);
      // The policy does not depend on the task's identity: check the spec with placeholder ids.
      const issues = checkTaskPolicy(taskDefinitionToTaskSpec(definition, { arn: '', version: '' }), this.policy);
      if (issues.length > 0) return { kind: 'invalid', error: `${name}: ${formatIssues(issues)}` };
      return { kind: 'valid', definition, content: contentDigest(canonical), revision: localRevision(canonical) };
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
      void this.safeSync();
    }, this.options.watchDebounceMs ?? DEFAULT_WATCH_DEBOUNCE_MS);
  }

  private schedulePoll(): void {
    if (this.lifecycle !== 'running') return;
    this.pollTimer = this.options.clock.setTimeout(() => {
      this.pollTimer = undefined;
      void this.poll();
    }, this.options.pollIntervalMs);
  }

  private async poll(): Promise<void> {
    this.startWatching();
    if (await this.directoryChanged()) await this.safeSync();
    this.schedulePoll();
  }

  /** Whether the directory may differ from the last sync; a failed read says yes (the sync logs why). */
  private async directoryChanged(): Promise<boolean> {
    const { dir } = this.options;
    this.pollsSinceFullScan += 1;
    const fullScan = this.watcher === undefined || this.pollsSinceFullScan >= (this.options.fullScanEveryPolls ?? 12);
    try {
      if (!fullScan) return namesOf(await listTaskFileNames(dir)) !== this.lastNames;
      this.pollsSinceFullScan = 0;
      return fingerprintOf(await scanTaskFiles(dir)) !== this.lastFingerprint;
    } catch {
      return true;
    }
  }

  /** A sync whose failure is counted, logged once per episode and retried with backoff. */
  private async safeSync(): Promise<SyncReport | undefined> {
    if (this.lifecycle !== 'running') return undefined;
    try {
      const report = await this.syncOnce();
      if (this.failedAttempts > 0) {
        this.logger.info('store writes work again; tasks directory synced', { failedAttempts: this.failedAttempts });
        this.failedAttempts = 0;
        this.retryTimer?.cancel();
        this.retryTimer = undefined;
      }
      return report;
    } catch (error) {
      this.onSyncFailed(error);
      return undefined;
    }
  }

  private onSyncFailed(error: unknown): void {
    this.lastFingerprint = undefined;
    this.lastNames = undefined;
    const reason = storeWriteErrorReason(error);
    if (reason !== undefined) this.options.storeWriteErrors?.inc({ reason });
    this.failedAttempts += 1;
    const delayMs = storeRetryDelayMs(this.failedAttempts);
    if (this.failedAttempts === 1) {
      this.logger.error('store write failed; nothing from this sync was applied, retrying with backoff', {
        error: errorMessage(error),
        reason: reason ?? 'not_store',
        retryInMs: delayMs,
      });
    }
    if (this.lifecycle !== 'running') return;
    this.retryTimer?.cancel();
    this.retryTimer = this.options.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.safeSync();
    }, delayMs);
  }
}

/** The poll's cheap "did anything change": every task file's name and identity. */
function fingerprintOf(scan: ReadonlyMap<string, string | undefined>): string {
  const parts: string[] = [];
  for (const [name, identity] of scan) parts.push(`${name}:${identity ?? 'gone'}`);
  return parts.join('\n');
}

function namesOf(names: Iterable<string>): string {
  return [...names].join('\n');
}
