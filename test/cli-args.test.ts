/** Command-line parsing: Go `flag` spellings (single or double dash, `=value` or a separate value), commands, errors. */
import test from 'ava';
import { parseArgs, UsageError } from '../src/cli/args.js';

test('no arguments runs the agent with text output', (t) => {
  t.deepEqual(parseArgs([]), { command: { kind: 'run' }, output: 'text' });
  t.deepEqual(parseArgs(['run']).command, { kind: 'run' });
});

test('value flags accept -flag value, -flag=value, --flag value and --flag=value', (t) => {
  for (const argv of [['-loglevel', 'debug'], ['-loglevel=debug'], ['--loglevel', 'debug'], ['--loglevel=debug']]) {
    t.is(parseArgs(argv).logLevel, 'debug', argv.join(' '));
  }
});

test('every value flag lands in its own field', (t) => {
  const parsed = parseArgs([
    '-loglevel-driver',
    'warn',
    '-loglevel-on-instance=error',
    '--tasks-dir',
    '/srv/tasks',
    '--config-file=/tmp/ecs.config',
  ]);
  t.is(parsed.logLevelDriver, 'warn');
  t.is(parsed.logLevelOnInstance, 'error');
  t.is(parsed.tasksDir, '/srv/tasks');
  t.is(parsed.configFilePath, '/tmp/ecs.config');
  t.is(parsed.logLevel, undefined);
});

test('a value after = may contain further = signs and may be empty', (t) => {
  t.is(parseArgs(['--config-file=/a=b']).configFilePath, '/a=b');
  t.is(parseArgs(['-loglevel=']).logLevel, '');
});

test('boolean flags take no separate value and accept Go ParseBool spellings after =', (t) => {
  t.true(parseArgs(['-k']).acceptInsecureCert);
  for (const on of ['true', 'TRUE', 'True', '1', 't', 'T']) t.true(parseArgs([`-k=${on}`]).acceptInsecureCert, on);
  for (const off of ['false', 'FALSE', 'False', '0', 'f', 'F'])
    t.false(parseArgs([`-k=${off}`]).acceptInsecureCert, off);
  const error = t.throws(() => parseArgs(['-k=yes']), { instanceOf: UsageError });
  t.regex(error.message, /-k takes a boolean, got "yes"/);
});

test('a boolean flag followed by a word leaves the word as a positional (Go semantics)', (t) => {
  // `-k false` is `-k` plus the command "false" in Go's flag package, not `-k=false`.
  t.throws(() => parseArgs(['-k', 'false']), { instanceOf: UsageError, message: /unknown command: false/ });
});

test('-version and -healthcheck select their commands; =false leaves run', (t) => {
  t.deepEqual(parseArgs(['-version']).command, { kind: 'version' });
  t.deepEqual(parseArgs(['--version']).command, { kind: 'version' });
  t.deepEqual(parseArgs(['-healthcheck']).command, { kind: 'healthcheck' });
  t.deepEqual(parseArgs(['-version=false']).command, { kind: 'run' });
  t.deepEqual(parseArgs(['-h']).command, { kind: 'help' });
  t.deepEqual(parseArgs(['help']).command, { kind: 'help' });
});

test('a command flag with a positional argument is rejected', (t) => {
  t.throws(() => parseArgs(['-version', 'tasks']), { instanceOf: UsageError, message: /unexpected argument: tasks/ });
});

test('config print and tasks commands, with flags before or after them', (t) => {
  t.deepEqual(parseArgs(['config', 'print']), { command: { kind: 'config-print' }, output: 'text' });
  const tasks = parseArgs(['tasks', '--output', 'json']);
  t.deepEqual(tasks.command, { kind: 'tasks' });
  t.is(tasks.output, 'json');
  const printed = parseArgs(['-o=json', 'config', '--config-file', '/x', 'print']);
  t.deepEqual(printed.command, { kind: 'config-print' });
  t.is(printed.output, 'json');
  t.is(printed.configFilePath, '/x');
});

test('unknown commands and incomplete or extended commands are usage errors', (t) => {
  for (const argv of [['start'], ['config'], ['config', 'show'], ['config', 'print', 'extra'], ['tasks', 'all']]) {
    t.throws(() => parseArgs(argv), { instanceOf: UsageError, message: /unknown command/ }, argv.join(' '));
  }
});

test('unknown flags are usage errors naming the flag as given', (t) => {
  const error = t.throws(() => parseArgs(['--no-such-flag=1']), { instanceOf: UsageError });
  t.is(error.message, 'unknown flag: --no-such-flag=1');
  t.throws(() => parseArgs(['-K']), { instanceOf: UsageError, message: 'unknown flag: -K' });
});

test('a value flag at the end of argv is missing its value', (t) => {
  const error = t.throws(() => parseArgs(['tasks', '--tasks-dir']), { instanceOf: UsageError });
  t.is(error.message, 'flag -tasks-dir needs a value');
  t.is(error.name, 'UsageError');
});

test('--output accepts only text or json', (t) => {
  t.is(parseArgs(['-o', 'text']).output, 'text');
  t.throws(() => parseArgs(['--output', 'yaml']), { instanceOf: UsageError, message: /text or json, got "yaml"/ });
  t.throws(() => parseArgs(['--output=']), { instanceOf: UsageError });
});

test("upstream's -windows-service and -blackhole-ec2-metadata are accepted and change nothing", (t) => {
  const parsed = parseArgs(['-blackhole-ec2-metadata', '-windows-service=false', 'run']);
  t.deepEqual(parsed, parseArgs(['run']));
});

test('-ecs-attributes selects its command, in either spelling, with -k and config flags beside it', (t) => {
  t.deepEqual(parseArgs(['-ecs-attributes']).command, { kind: 'ecs-attributes' });
  const parsed = parseArgs(['--ecs-attributes=true', '-k', '--config-file', '/etc/ecs/other.config']);
  t.deepEqual(parsed.command, { kind: 'ecs-attributes' });
  t.true(parsed.acceptInsecureCert);
  t.is(parsed.configFilePath, '/etc/ecs/other.config');
  t.deepEqual(parseArgs(['-ecs-attributes=false']).command, { kind: 'run' });
  t.throws(() => parseArgs(['-ecs-attributes', 'tasks']), { message: /unexpected argument: tasks/ });
  t.throws(() => parseArgs(['-ecs-attributes=maybe']), { message: /-ecs-attributes takes a boolean/ });
});
