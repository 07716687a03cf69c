/**
 * Issue 10 §6: errors are one closed set. Every code has exactly one constructor (in src/errors.ts), its
 * instances are `instanceof` it, carry its code and classification, and map to the exit code a supervisor
 * expects (fact sheet 13: 5 terminal, ecs-init stops; 1 recoverable, ecs-init restarts with backoff).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import test from 'ava';
import { EXIT_POLICY, exitCodeFor } from '../src/agent/errors.js';
import {
  classifyError,
  EcsdError,
  ERROR_CODES,
  ERROR_CONSTRUCTORS,
  type ErrorClass,
  type ErrorCode,
} from '../src/errors.js';
import { REPO_ROOT } from './helpers/agent-process.js';

/** What each code is, written out here so a change to a default is a visible change to this table. */
const EXPECTED: Record<ErrorCode, { errorClass: ErrorClass; exitCode: 1 | 5 }> = {
  ConfigError: { errorClass: 'terminal', exitCode: 5 },
  AgentStartError: { errorClass: 'terminal', exitCode: 5 },
  StoreError: { errorClass: 'transient', exitCode: 1 },
  StoreCorruptError: { errorClass: 'terminal', exitCode: 5 },
  DockerTimeoutError: { errorClass: 'transient', exitCode: 1 },
  DockerApiError: { errorClass: 'transient', exitCode: 1 },
  CannotPullContainerError: { errorClass: 'terminal', exitCode: 1 },
  CannotPullECRContainerError: { errorClass: 'terminal', exitCode: 1 },
  CannotCreateContainerError: { errorClass: 'terminal', exitCode: 1 },
  CannotStartContainerError: { errorClass: 'terminal', exitCode: 1 },
  CannotStopContainerError: { errorClass: 'transient', exitCode: 1 },
  CannotInspectContainerError: { errorClass: 'transient', exitCode: 1 },
  ContainerVanishedError: { errorClass: 'terminal', exitCode: 1 },
  OutOfMemoryError: { errorClass: 'terminal', exitCode: 1 },
  TaskStateError: { errorClass: 'terminal', exitCode: 1 },
  TaskValidationError: { errorClass: 'terminal', exitCode: 1 },
  DependencyError: { errorClass: 'terminal', exitCode: 1 },
  DryRunMutationError: { errorClass: 'terminal', exitCode: 1 },
  QueueFullError: { errorClass: 'throttled', exitCode: 1 },
  EcsApiError: { errorClass: 'transient', exitCode: 1 },
  InternalError: { errorClass: 'transient', exitCode: 1 },
  AcsMessageError: { errorClass: 'terminal', exitCode: 1 },
  AcsConnectionError: { errorClass: 'transient', exitCode: 1 },
};

function construct(code: ErrorCode): EcsdError {
  const Ctor = ERROR_CONSTRUCTORS[code] as unknown as new (...args: unknown[]) => EcsdError;
  // AgentStartError says its kind; every other constructor takes (message, options).
  return code === 'AgentStartError' ? new Ctor('start failed', 'terminal') : new Ctor('something failed');
}

test('the constructor table and the expectations cover exactly the codes in ERROR_CODES', (t) => {
  t.deepEqual(Object.keys(ERROR_CONSTRUCTORS).sort(), [...ERROR_CODES].sort());
  t.deepEqual(Object.keys(EXPECTED).sort(), [...ERROR_CODES].sort());
  t.deepEqual(Object.keys(EXIT_POLICY).sort(), [...ERROR_CODES].sort());
});

for (const code of ERROR_CODES) {
  test(`${code}: one constructor, instanceof, classification and exit code`, (t) => {
    const error = construct(code);
    const Ctor = ERROR_CONSTRUCTORS[code];
    t.true(error instanceof Ctor);
    t.true(error instanceof EcsdError);
    t.is(error.code, code);
    t.is(error.name, code);
    t.is(error.errorClass, EXPECTED[code].errorClass);
    t.is(classifyError(error), EXPECTED[code].errorClass);
    t.is(exitCodeFor(error), EXPECTED[code].exitCode);
    // No other constructor claims it: `instanceof` picks exactly one code.
    for (const other of ERROR_CODES) {
      if (other !== code) t.false(error instanceof ERROR_CONSTRUCTORS[other], `not a ${other}`);
    }
    // The hand-built form lands on the same constructor with the same classification.
    const byHand = new EcsdError(code, 'built by hand', EXPECTED[code].errorClass);
    t.true(byHand instanceof Ctor, 'new EcsdError(code, …) is an instance of the code constructor');
    t.is(byHand.errorClass, EXPECTED[code].errorClass);
    t.is(exitCodeFor(byHand), EXPECTED[code].exitCode);
  });
}

test('recoverable and terminal start failures and store errors exit 1 and 5', (t) => {
  const { AgentStartError, StoreError } = ERROR_CONSTRUCTORS;
  t.is(exitCodeFor(new AgentStartError('Docker does not answer', 'recoverable')), 1);
  t.is(classifyError(new AgentStartError('Docker does not answer', 'recoverable')), 'transient');
  t.is(exitCodeFor(new AgentStartError('saved state of another cluster', 'terminal')), 5);
  t.is(exitCodeFor(new StoreError('database is busy')), 1);
  t.is(exitCodeFor(new StoreError('schema is newer than this ecsd', { errorClass: 'terminal' })), 5);
  t.is(exitCodeFor(new Error('a plain bug')), 1);
  t.is(exitCodeFor('not even an Error'), 1);
});

/**
 * Call sites in files other helpers own, still in the old form; the compatibility path in EcsdError's
 * constructor makes them right meanwhile. Each entry must go when its call site is converted (the test
 * below fails while a listed file no longer needs it), and no new file may join.
 */
const PENDING_CONVERSION: readonly string[] = [];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

test('no module outside src/errors.ts builds an error with new EcsdError(code, …)', (t) => {
  const offenders = [...sourceFiles(join(REPO_ROOT, 'src')), ...sourceFiles(join(REPO_ROOT, 'reconcilers'))]
    .map((path) => relative(REPO_ROOT, path))
    .filter((path) => path !== 'src/errors.ts')
    .filter((path) => /new EcsdError\(/.test(readFileSync(join(REPO_ROOT, path), 'utf8')));
  t.deepEqual(
    offenders.filter((path) => !PENDING_CONVERSION.includes(path)),
    [],
    'use the code constructor (new ConfigError(…), new StoreError(…), …)',
  );
  t.deepEqual(
    PENDING_CONVERSION.filter((path) => !offenders.includes(path)),
    [],
    'converted: remove it from PENDING_CONVERSION',
  );
});
