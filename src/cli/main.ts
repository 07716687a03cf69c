#!/usr/bin/env -S node --no-memory-reducer --min-semi-space-size=8 --max-opt=1
/**
 * The `ecsd` command. This file is the one place that reads process.env/argv and owns signals and exit
 * codes (0 ok, 1 recoverable, 5 terminal — fact sheet 13).
 *
 * Node flags live in the shebang above (the test harness and the benchmark read them from there):
 * `--no-memory-reducer` because V8's memory reducer, built for idle browser tabs, answers every burst of
 * work (say 50 tasks starting) with up to three full GCs 10-30 s later to give back a few MiB of heap —
 * ~0.15 CPU-s each time, for an agent whose live heap is ~12 MiB and steady. Ordinary GCs still run.
 * `--min-semi-space-size=8` because the young generation otherwise starts at 1 MiB per semi-space and is
 * shrunk back to it after a burst, so starting and stopping 50 tasks (~14 MiB allocated, almost all of it
 * short-lived) ran ~14 scavenges of 2-8 ms each; with 8 MiB there are two. The price is ~6 MiB of peak RSS.
 * 32 MiB was tried: no CPU saving held up over alternated pairs, and every 50-task round ran its containers
 * slower against the direct baseline (all RUNNING 1.06-1.23x against 0.98-1.01x at 8 MiB).
 * `--max-opt=1` stops V8 at its baseline tier (Sparkplug): the agent's JavaScript is glue run in bursts
 * (a task's plan, a few Docker calls, a store write), and TurboFan's compiles of it, on the main thread
 * and its workers, were about a sixth of the agent's CPU in a `perf` profile of the 50-task round while
 * optimised code ran ~5 % of the samples. Measured in alternation: the 50-task start+stop 1.28-1.60 s ->
 * 1.12-1.14 s, the 200-task round 22.7 -> 21.0 ms a task, ECS mode 1.22 -> 1.14 s, peak RSS ~10 MiB
 * lower. Parsing (JSON, SQLite, hashing) is native code and unaffected.
 * (V8 reads these flags only at start-up; v8.setFlagsFromString is too late.)
 */
import { EXIT_RECOVERABLE, EXIT_SUCCESS, EXIT_TERMINAL, exitCodeFor } from '../agent/errors.js';
import { systemClock } from '../clock.js';
import { ConfigError, configPrintJson, formatConfigPrint, loadConfig } from '../config/index.js';
import { type ClosableLogger, createLogger } from '../logging/index.js';
import { versionText } from '../version.js';
import { type ParsedArgs, parseArgs, USAGE, UsageError } from './args.js';
import { runHealthcheck } from './healthcheck.js';
import { printTasks } from './tasks-command.js';

async function main(argv: string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`ecsd: ${error.message}\n\n${USAGE}`);
      return EXIT_TERMINAL;
    }
    throw error;
  }
  switch (args.command.kind) {
    case 'help':
      process.stdout.write(USAGE);
      return EXIT_SUCCESS;
    case 'version':
      process.stdout.write(versionText());
      return EXIT_SUCCESS;
  }

  if (args.command.kind === 'healthcheck') {
    // A configuration that does not load means no agent can be running on it: unhealthy, not terminal.
    const config = loadConfigOrExit(args)?.config;
    return config ? runHealthcheck(config.agentHealthcheckHost, config.introspectionAddress.port) : EXIT_RECOVERABLE;
  }

  const loaded = loadConfigOrExit(args);
  if (loaded === undefined) return EXIT_TERMINAL;
  if (args.command.kind === 'config-print') {
    process.stdout.write(
      args.output === 'json' ? `${JSON.stringify(configPrintJson(loaded), null, 2)}\n` : formatConfigPrint(loaded),
    );
    return EXIT_SUCCESS;
  }
  if (args.command.kind === 'tasks') {
    return printTasks(loaded.config, args.output, process.stdout);
  }
  if (args.command.kind === 'ecs-attributes') {
    return printAttributes(loaded.config);
  }
  return runAgent(loaded);
}

function loadConfigOrExit(args: ParsedArgs): ReturnType<typeof loadConfig> | undefined {
  // ParsedArgs is the ConfigFlags plus the command and its output format; parseArgs sets only given flags.
  const { command: _command, output: _output, ...flags } = args;
  try {
    return loadConfig({ env: process.env, flags });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`ecsd: invalid configuration:\n${error.message}\n`);
      return undefined;
    }
    throw error;
  }
}

async function runAgent(loaded: ReturnType<typeof loadConfig>): Promise<number> {
  const { config } = loaded;
  let logger: ClosableLogger;
  try {
    logger = openLogger(config);
  } catch (error) {
    // The log file's options are configuration too: a ConfigError here exits 5 like any other.
    process.stderr.write(`ecsd: cannot set up logging: ${error instanceof Error ? error.message : String(error)}\n`);
    return exitCodeFor(error);
  }
  for (const warning of loaded.warnings) logger.warn(warning);
  // ECS mode loads the AWS SDK, which warns at every start that its later releases need Node 22; the pinned
  // release runs on Node 20 (notes/toolchain.md), so the warning would only be noise in the agent's log.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const { startAgent } = await import('../agent/agent.js');
  let agent: Awaited<ReturnType<typeof startAgent>>;
  try {
    agent = await startAgent({ config, logger, clock: systemClock });
  } catch (error) {
    return exitFor(error, logger);
  }
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info('shutting down; task containers keep running', { signal });
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await agent.stop();
  logger.info('stopped');
  await logger.close();
  return EXIT_SUCCESS;
}

/** Loaded on demand: only this command and agent start need the Docker client. */
async function printAttributes(config: ReturnType<typeof loadConfig>['config']): Promise<number> {
  const [{ printEcsAttributes }, { createDockerEngine }, { cgroupRootUsable }, { silentLogger }] = await Promise.all([
    import('./ecs-attributes-command.js'),
    import('../docker/engine.js'),
    import('../host/task-cgroup.js'),
    import('../logging/types.js'),
  ]);
  return printEcsAttributes({
    config,
    // Silent: stdout is the attribute list, and a failure is reported once, on stderr, by the command.
    engine: createDockerEngine({ dockerHost: config.dockerHost, logger: silentLogger }),
    cgroupRootUsable,
    out: process.stdout,
    err: process.stderr,
  });
}

function openLogger(config: ReturnType<typeof loadConfig>['config']): ClosableLogger {
  return createLogger({
    level: config.logLevel,
    levelOnInstance: config.logLevelOnInstance,
    format: config.logOutputFormat,
    ...(config.logFile ? { file: config.logFile } : {}),
    rolloverType: config.logRolloverType,
    maxFileSizeMB: config.logMaxFileSizeMB,
    maxRollCount: config.logMaxRollCount,
  });
}

/** One mapping from error to exit code (agent/errors.ts `exitCodeFor`): 5 ends supervision, 1 restarts. */
async function exitFor(error: unknown, logger: ClosableLogger): Promise<number> {
  const code = exitCodeFor(error);
  if (error instanceof ConfigError) {
    logger.crit('invalid configuration', { error: error.message, ...error.context });
  } else if (error instanceof Error) {
    logger.crit('agent could not start', { error: error.message, cause: error.cause, exitCode: code });
  } else {
    logger.crit('agent could not start', { error, exitCode: code });
  }
  await logger.close();
  return code;
}

main(process.argv.slice(2)).then(
  (code) => {
    // Exit now rather than when the event loop drains: a Docker request the shutdown abandoned (an engine
    // that hangs) must not keep the process alive past its deadline. The logger was flushed and closed.
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(
      `ecsd: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    // Still the one mapping: a ConfigError that escapes from anywhere is terminal (5), anything else 1.
    process.exitCode = exitCodeFor(error);
  },
);
