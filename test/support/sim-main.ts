/**
 * `make sim`: the ECS backend simulator as a standalone process for local development. It listens on a
 * fixed loopback port, prints the environment that points an agent at it, and turns a directory of task
 * definition files into ACS payloads: a file added (or changed) starts a task, a file removed stops it.
 *
 *   node dist/test/support/sim-main.js [--port 4600] [--tasks-dir examples/tasks] [--cluster default]
 *                                      [--tls-cert cert.pem --tls-key key.pem]
 *
 * With a certificate and key it serves HTTPS and WSS (start the agent with `-k` for a self-signed one).
 * ECS_SIM_PORT, ECS_SIM_TASKS_DIR and ECS_SIM_CLUSTER are read when the flags are absent. Every API call,
 * ACS frame and connection is logged as one JSON line on stdout.
 */
import { createHash } from 'node:crypto';
import { readFileSync, watch } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { LogFields, Logger } from '../../src/logging/types.js';
import { parseTaskDefinitionFile } from '../../src/sources/local/parse-task-definition.js';
import { taskArn } from './ecs-sim/arns.js';
import { type AcsTask, buildAcsTask, type EcsSimulator, startEcsSimulator } from './ecs-sim/index.js';

/** A new rescan waits this long after the last directory event, so an editor's save is one change. */
const RESCAN_DEBOUNCE_MS = 200;

const lineLogger = (bindings: LogFields = {}): Logger => {
  const line =
    (level: string) =>
    (msg: string, fields?: LogFields): void => {
      process.stdout.write(
        `${JSON.stringify({ time: new Date().toISOString(), level, msg, ...bindings, ...fields })}\n`,
      );
    };
  return {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    crit: line('crit'),
    child: (more) => lineLogger({ ...bindings, ...more }),
    flush: async () => {},
  };
};

interface FileTask {
  hash: string;
  task: AcsTask;
}

class TaskDirectoryFeed {
  private readonly files = new Map<string, FileTask>();
  /** Tasks to send once an agent is connected, in order. */
  private readonly queue: AcsTask[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sim: EcsSimulator,
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  start(): void {
    watch(this.dir, () => this.scheduleRescan());
    this.scheduleRescan();
    void this.flushOnEveryConnection();
  }

  private scheduleRescan(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.rescan().catch((error: unknown) => this.logger.error('rescan failed', { error: String(error) }));
    }, RESCAN_DEBOUNCE_MS);
  }

  private async rescan(): Promise<void> {
    const names = (await readdir(this.dir)).filter((name) => name.endsWith('.json')).sort();
    const seen = new Set<string>();
    for (const name of names) {
      const path = join(this.dir, name);
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      seen.add(name);
      const hash = createHash('sha256').update(text).digest('hex');
      const previous = this.files.get(name);
      if (previous?.hash === hash) continue;
      let task: AcsTask;
      try {
        const definition = parseTaskDefinitionFile(name, text);
        const scope = { region: this.sim.settings.region, accountId: this.sim.settings.accountId };
        task = buildAcsTask(definition, { arn: taskArn(scope, this.sim.settings.clusters[0] ?? 'default') });
      } catch (error) {
        this.logger.warn('task definition refused', { file: name, error: String(error) });
        continue;
      }
      if (previous !== undefined) this.enqueue({ ...previous.task, desiredStatus: 'STOPPED' }, name, 'changed');
      this.files.set(name, { hash, task });
      this.enqueue(task, name, 'added');
    }
    for (const [name, file] of this.files) {
      if (seen.has(name)) continue;
      this.files.delete(name);
      this.enqueue({ ...file.task, desiredStatus: 'STOPPED' }, name, 'removed');
    }
    this.flush();
  }

  private enqueue(task: AcsTask, file: string, why: string): void {
    this.logger.info('task queued', { file, why, task: task.arn, desiredStatus: task.desiredStatus });
    this.queue.push(task);
  }

  /** One payload per change; it waits here until an agent has registered and connected. */
  private flush(): void {
    if (this.queue.length === 0 || this.sim.connections().every((c) => c.closedAtMs !== undefined)) return;
    for (const task of this.queue.splice(0)) {
      this.sim
        .sendPayload([task], { awaitAck: false })
        .then((messageId) => this.sim.waitForAck(messageId, 60_000).then(() => messageId))
        .then((messageId) => this.logger.info('payload acked', { messageId, task: task.arn }))
        .catch((error: unknown) => this.logger.warn('payload not acked', { task: task.arn, error: String(error) }));
    }
  }

  private async flushOnEveryConnection(): Promise<void> {
    for (let n = 1; ; n++) {
      try {
        await this.sim.waitForConnection(n, 24 * 3_600_000);
      } catch {
        return; // closed
      }
      this.flush();
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'tasks-dir': { type: 'string' },
      cluster: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
    },
  });
  const port = Number(values.port ?? process.env['ECS_SIM_PORT'] ?? 4600);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`--port must be 1-65535, got ${values.port}`);
  const tasksDir = resolve(values['tasks-dir'] ?? process.env['ECS_SIM_TASKS_DIR'] ?? 'examples/tasks');
  const cluster = values.cluster ?? process.env['ECS_SIM_CLUSTER'] ?? 'default';
  const logger = lineLogger({ component: 'ecs-sim' });
  const certFile = values['tls-cert'];
  const keyFile = values['tls-key'];
  if ((certFile === undefined) !== (keyFile === undefined)) throw new Error('--tls-cert and --tls-key go together');
  const tls =
    certFile === undefined || keyFile === undefined
      ? undefined
      : { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  const sim = await startEcsSimulator({ port, cluster, logger, ...(tls === undefined ? {} : { tls }) });

  const env = {
    ECS_BACKEND_HOST: sim.url,
    AWS_DEFAULT_REGION: sim.settings.region,
    AWS_ACCESS_KEY_ID: sim.settings.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sim.settings.secretAccessKey,
    ECS_CLUSTER: cluster,
    ECS_EXTERNAL: 'true',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  process.stderr.write(`ECS simulator on ${sim.url} (ACS ${sim.acsUrl}); tasks from ${tasksDir}\n`);
  process.stderr.write('Point an agent at it with:\n');
  for (const [key, value] of Object.entries(env)) process.stderr.write(`  export ${key}=${value}\n`);
  if (tls !== undefined) process.stderr.write('and start it with -k unless it trusts the certificate.\n');

  new TaskDirectoryFeed(sim, tasksDir, logger).start();
  const stop = (): void => {
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`ecs-sim: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
