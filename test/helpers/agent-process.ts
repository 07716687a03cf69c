/**
 * Runs the real `ecsd` binary (compiled JS) as a child process against the real Docker engine, in a temp
 * directory of its own with a unique cluster name, so integration tests can start, SIGKILL and restart it
 * and read its store the way `ecsd tasks` does. Every container the agent creates carries the cluster label;
 * cleanup removes exactly those.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readTaskResponses } from '../../src/cli/tasks-command.js';
import type { TaskResponse } from '../../src/http/task-response.js';
import { openStoreReadOnly } from '../../src/store/index.js';
import { waitFor } from './wait-for.js';

const execFileAsync = promisify(execFile);
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const MAIN_JS = join(REPO_ROOT, 'dist/src/cli/main.js');
export const TEST_IMAGE = 'ecsd-test/busybox:latest';

/** The node flags of `ecsd`'s shebang (`#!/usr/bin/env -S node <flags>`), so tests run the agent as installed. */
export function agentNodeFlags(mainJs = MAIN_JS): string[] {
  const firstLine = readFileSync(mainJs, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S node(?<flags>( +\S+)*) *$/.exec(firstLine);
  if (match === null) throw new Error(`${mainJs}: unexpected shebang ${JSON.stringify(firstLine)}`);
  return (match.groups?.['flags'] ?? '').split(' ').filter(Boolean);
}

export interface AgentProcessOptions {
  env?: Record<string, string>;
  /** Extra arguments for node itself (e.g. --cpu-prof for profiling). */
  nodeArgs?: string[];
  /**
   * The engine the agent (as DOCKER_HOST) and this helper's Docker calls use, e.g. a private engine's
   * `unix://…/docker.sock`; the shared engine when unset.
   */
  dockerHost?: string;
  /**
   * ECS mode: no `--tasks-dir`, so the agent registers with the ECS endpoint in `env` (ECS_BACKEND_HOST) and
   * takes its tasks over ACS. Default false (local mode with the helper's own task directory).
   */
  ecsMode?: boolean;
  /** ECS_CLUSTER and the cluster label cleanup selects by; default a fresh `it-<hex>` (a simulator must know it first). */
  cluster?: string;
}

export class AgentProcess {
  readonly dir = mkdtempSync(join(tmpdir(), 'ecsd-it-'));
  readonly dataDir = join(this.dir, 'data');
  readonly tasksDir = join(this.dir, 'tasks');
  readonly cluster: string;
  private child: ChildProcess | undefined;
  private output = '';
  /** Output of earlier runs of this agent (before a restart). */
  private earlierOutput = '';
  private exited: Promise<number | null> | undefined;

  constructor(private readonly options: AgentProcessOptions = {}) {
    this.cluster = options.cluster ?? `it-${randomBytes(4).toString('hex')}`;
    mkdirSync(this.tasksDir, { recursive: true });
  }

  /** Starts the agent and resolves once it logged readiness. */
  async start(): Promise<void> {
    this.earlierOutput += this.output;
    this.output = '';
    const nodeArgs = [...agentNodeFlags(), ...(this.options.nodeArgs ?? [])];
    const source = this.options.ecsMode === true ? [] : ['--tasks-dir', this.tasksDir];
    const child = spawn(process.execPath, [...nodeArgs, MAIN_JS, ...source], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        ECS_DATADIR: this.dataDir,
        ECS_CLUSTER: this.cluster,
        ECSD_CONFIG_FILE: '/dev/null',
        ECSD_METRICS_ADDRESS: '127.0.0.1:0',
        ECS_LOG_OUTPUT_FORMAT: 'json',
        ECS_LOGLEVEL: 'debug',
        ECSD_POLL_INTERVAL: '200ms',
        // The test image exists only in the local engine; under the default behaviour every task start would
        // send dockerd to Docker Hub for it (a DNS lookup at least). Tests of pulls set their own behaviour and
        // pull from a registry on 127.0.0.1.
        ECS_IMAGE_PULL_BEHAVIOR: 'prefer-cached',
        ...(this.options.dockerHost === undefined ? {} : { DOCKER_HOST: this.options.dockerHost }),
        ...this.options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    child.stdout?.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
    });
    try {
      // Generous: on 2 cores with other engine tests running beside it, a start (relisting every test's
      // containers, registering with the simulator) has been seen to take over 30 s; it is not what is tested.
      await this.waitFor(() => this.output.includes('ecsd ready') || child.exitCode !== null, 90_000, 'agent ready');
    } catch (error) {
      // Never leave an agent behind when its start is given up on.
      child.kill('SIGKILL');
      throw error;
    }
    if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}:\n${this.output}`);
  }

  pid(): number | undefined {
    return this.child?.pid;
  }

  /** What the current run of the agent has printed so far (stdout and stderr) from `offset` on. */
  outputSince(offset = 0): string {
    return this.output.slice(offset);
  }

  /** The metrics port the agent bound (it is started with port 0), read from its readiness line. */
  metricsPort(): number {
    // json (`"metrics":"http://…"`) or logfmt (`metrics="http://…"`)
    const match = /metrics"?[:=]"http:\/\/127\.0\.0\.1:(\d+)\/metrics"/.exec(this.output);
    if (!match) throw new Error('agent did not log its metrics address');
    return Number(match[1]);
  }

  /** Per task: when the source stored it and when its containers all started (Docker's StartedAt). */
  taskTimings(): Array<{ arn: string; createdAtMs: number; runningAtMs: number }> {
    const store = openStoreReadOnly({ dataDir: this.dataDir });
    if (!store) return [];
    try {
      return store.listTasks().flatMap((task) => {
        const started = store.listContainers(task.arn).map((c) => c.startedAtMs);
        if (started.some((ms) => ms === undefined)) return [];
        return [{ arn: task.arn, createdAtMs: task.createdAtMs, runningAtMs: Math.max(...(started as number[])) }];
      });
    } finally {
      store.close();
    }
  }

  logs(): string {
    return this.earlierOutput + this.output;
  }

  /** Sends a signal and waits for the exit code. */
  async signal(signal: NodeJS.Signals): Promise<number | null> {
    if (!this.child || this.child.exitCode !== null) return this.child?.exitCode ?? null;
    this.child.kill(signal);
    return (await this.exited) ?? null;
  }

  writeTaskDefinition(fileName: string, definition: unknown): void {
    writeFileSync(join(this.tasksDir, fileName), JSON.stringify(definition, null, 2));
  }

  removeTaskDefinition(fileName: string): void {
    rmSync(join(this.tasksDir, fileName), { force: true });
  }

  /** The tasks as `ecsd tasks --output json` shows them (read straight from the store file). */
  tasks(): TaskResponse[] {
    return readTaskResponses(this.dataDir) ?? [];
  }

  /** State changes not yet accepted by the reporter's sink (0 when there is no store yet). */
  outboxDepth(): number {
    const store = openStoreReadOnly({ dataDir: this.dataDir });
    if (!store) return 0;
    try {
      return store.outboxDepth();
    } finally {
      store.close();
    }
  }

  taskByFamily(family: string): TaskResponse | undefined {
    return (
      this.tasks().find((t) => t.Family === family && t.DesiredStatus !== 'STOPPED') ??
      this.tasks().find((t) => t.Family === family)
    );
  }

  async waitForTask(
    family: string,
    predicate: (task: TaskResponse) => boolean,
    timeoutMs = 60_000,
  ): Promise<TaskResponse> {
    let last: TaskResponse | undefined;
    await this.waitFor(
      () => {
        last = this.taskByFamily(family);
        return last !== undefined && predicate(last);
      },
      timeoutMs,
      `task ${family}`,
    );
    return last!;
  }

  async waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    await waitFor(what, () => condition(), {
      timeoutMs,
      intervalMs: 100,
      describe: () => `--- agent output (tail) ---\n${this.output.slice(-4000)}`,
    });
  }

  /** `docker` on the agent's engine (`-H` when `dockerHost` is set), trimmed stdout. */
  async docker(...args: string[]): Promise<string> {
    const host = this.options.dockerHost === undefined ? [] : ['-H', this.options.dockerHost];
    const { stdout } = await execFileAsync('docker', [...host, ...args]);
    return stdout.trim();
  }

  /** IDs of the Docker containers of this agent's cluster (running or not; only running ones with `running`). */
  async dockerContainerIds(options: { running?: boolean; family?: string } = {}): Promise<string[]> {
    const stdout = await this.docker(
      'ps',
      ...(options.running ? ['-q'] : ['-aq']),
      '--no-trunc',
      '--filter',
      `label=com.amazonaws.ecs.cluster=${this.cluster}`,
      ...(options.family === undefined
        ? []
        : ['--filter', `label=com.amazonaws.ecs.task-definition-family=${options.family}`]),
    );
    return stdout.split('\n').filter(Boolean);
  }

  async cleanup(): Promise<void> {
    await this.signal('SIGKILL');
    const ids = await this.dockerContainerIds().catch(() => []);
    if (ids.length > 0) await this.docker('rm', '-f', '-v', ...ids).catch(() => {});
    const stdout = await this.docker(
      'volume',
      'ls',
      '-q',
      '--filter',
      `label=com.amazonaws.ecs.cluster=${this.cluster}`,
    ).catch(() => '');
    const volumes = stdout.split('\n').filter(Boolean);
    if (volumes.length > 0) await this.docker('volume', 'rm', '-f', ...volumes).catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('docker', args);
  return stdout.trim();
}
