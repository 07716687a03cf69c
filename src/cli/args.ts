/**
 * Command-line parsing. Upstream uses Go's `flag` package (single dash, `-flag value` or `-flag=value`);
 * ecsd accepts that and the double-dash spelling, so `-loglevel debug` and `--loglevel=debug` both work.
 * A bad flag is a terminal error (exit 5, fact sheet 13).
 */
import type { ConfigFlags } from '../config/types.js';

export type Command =
  | { kind: 'run' }
  | { kind: 'version' }
  | { kind: 'healthcheck' }
  | { kind: 'ecs-attributes' }
  | { kind: 'config-print' }
  | { kind: 'tasks' }
  | { kind: 'help' };

/** The command, its output format, and the flags that override configuration. */
export interface ParsedArgs extends ConfigFlags {
  command: Command;
  output: 'text' | 'json';
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const VALUE_FLAGS = new Set([
  'loglevel',
  'loglevel-driver',
  'loglevel-on-instance',
  'tasks-dir',
  'config-file',
  'output',
  'o',
]);
/**
 * Upstream flags that launchers pass and that change nothing here: `-windows-service` is Windows-only and
 * `-blackhole-ec2-metadata` concerns IMDS routing that ecsd never uses (it never calls IMDS). Accepting them
 * keeps a launcher written for the upstream agent from exiting 5.
 */
const ACCEPTED_NO_OP_FLAGS = new Set(['windows-service', 'blackhole-ec2-metadata']);
const BOOLEAN_FLAGS = new Set(['k', 'version', 'healthcheck', 'ecs-attributes', 'help', 'h', ...ACCEPTED_NO_OP_FLAGS]);

export const USAGE = `Usage: ecsd [command] [flags]

Commands:
  run (default)        run the agent
  config print         show the effective configuration and where each value came from
  tasks                list the tasks in the store (introspection TaskResponse fields)

Flags:
  -k                           accept insecure TLS certificates
  -loglevel LEVEL              debug|info|warn|error|crit|none (both outputs)
  -loglevel-driver LEVEL       stdout level
  -loglevel-on-instance LEVEL  log file level
  --tasks-dir DIR              run task definitions from DIR (local mode)
  --config-file PATH           ecs.config path (default /etc/ecs/ecs.config)
  -version                     print the version and exit
  -healthcheck                 probe the running agent's introspection endpoint (exit 0 healthy, 1 not)
  -ecs-attributes              print the capability attributes (name<TAB>value) and exit; needs the Docker engine
`;

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const parsed: ParsedArgs = { command: { kind: 'run' }, output: 'text' };
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (VALUE_FLAGS.has(name)) {
      if (value === undefined) {
        value = argv[++i];
        if (value === undefined) throw new UsageError(`flag -${name} needs a value`);
      }
      applyValueFlag(parsed, name, value);
    } else if (BOOLEAN_FLAGS.has(name)) {
      const on = value === undefined ? true : parseFlagBool(name, value);
      applyBooleanFlag(parsed, name, on);
    } else {
      throw new UsageError(`unknown flag: ${arg}`);
    }
  }
  if (parsed.command.kind === 'run') parsed.command = commandFrom(positionals);
  else if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  return parsed;
}

function commandFrom(positionals: string[]): Command {
  const [first, second, ...rest] = positionals;
  if (first === undefined || (first === 'run' && second === undefined)) return { kind: 'run' };
  if (first === 'config' && second === 'print' && rest.length === 0) return { kind: 'config-print' };
  if (first === 'tasks' && second === undefined) return { kind: 'tasks' };
  if (first === 'help' && second === undefined) return { kind: 'help' };
  throw new UsageError(`unknown command: ${positionals.join(' ')}`);
}

function applyValueFlag(parsed: ParsedArgs, name: string, value: string): void {
  switch (name) {
    case 'loglevel':
      parsed.logLevel = value;
      return;
    case 'loglevel-driver':
      parsed.logLevelDriver = value;
      return;
    case 'loglevel-on-instance':
      parsed.logLevelOnInstance = value;
      return;
    case 'tasks-dir':
      parsed.tasksDir = value;
      return;
    case 'config-file':
      parsed.configFilePath = value;
      return;
    case 'output':
    case 'o':
      if (value !== 'text' && value !== 'json') throw new UsageError(`--output must be text or json, got "${value}"`);
      parsed.output = value;
      return;
  }
}

function applyBooleanFlag(parsed: ParsedArgs, name: string, on: boolean): void {
  switch (name) {
    case 'k':
      parsed.acceptInsecureCert = on;
      return;
    case 'version':
      if (on) parsed.command = { kind: 'version' };
      return;
    case 'healthcheck':
      if (on) parsed.command = { kind: 'healthcheck' };
      return;
    case 'ecs-attributes':
      if (on) parsed.command = { kind: 'ecs-attributes' };
      return;
    case 'help':
    case 'h':
      if (on) parsed.command = { kind: 'help' };
      return;
  }
}

/** Go's strconv.ParseBool spellings, as the flag package accepts for `-flag=value`. */
function parseFlagBool(name: string, value: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new UsageError(`flag -${name} takes a boolean, got "${value}"`);
}
