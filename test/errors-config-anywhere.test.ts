/**
 * Issue 10 §6: a configuration problem is a ConfigError wherever it is found — in config loading, in the
 * logger's options, in the local source's directory check at start-up — so the CLI exits 5 (terminal,
 * fact sheet 13) for every one of them instead of 1 (which a supervisor restarts forever).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { exitCodeFor } from '../src/agent/errors.js';
import { systemClock } from '../src/clock.js';
import { ConfigError as ConfigErrorFromConfig } from '../src/config/index.js';
import { ConfigError, EcsdError } from '../src/errors.js';
import { createLogger } from '../src/logging/index.js';
import { silentLogger } from '../src/logging/types.js';
import { LocalTaskSource } from '../src/sources/local/index.js';
import { openStore } from '../src/store/index.js';

test('a missing tasks directory is a ConfigError and exits 5, not 1', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ecsd-errors-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const { store } = openStore({ dataDir, checkpoint: false, logger: silentLogger });
  t.teardown(() => store.close());
  const source = new LocalTaskSource({
    dir: join(dataDir, 'no-such-tasks-dir'),
    store,
    logger: silentLogger,
    clock: systemClock,
    cluster: 'default',
    pollIntervalMs: 60_000,
  });
  const error = await t.throwsAsync(() => source.start());
  t.true(error instanceof ConfigError, 'instanceof the one ConfigError');
  t.true(error instanceof ConfigErrorFromConfig, 'config/ re-exports the same class');
  t.is(exitCodeFor(error), 5);
});

test('invalid logger options are a ConfigError and exit 5', (t) => {
  const error = t.throws(() =>
    createLogger({
      level: 'info',
      levelOnInstance: 'info',
      format: 'logfmt',
      rolloverType: 'size',
      maxFileSizeMB: -1,
      maxRollCount: 24,
    }),
  );
  t.true(error instanceof ConfigError);
  t.is(exitCodeFor(error), 5);
});

test('an EcsdError built by hand with a code is still an instance of that code constructor', (t) => {
  // The compatibility path for call sites not yet converted (src/docker/engine.ts transportTargetFor).
  const error = new EcsdError('ConfigError', 'unsupported Docker host "ftp://x"', 'terminal', {
    context: { dockerHost: 'ftp://x' },
  });
  t.true(error instanceof ConfigError);
  t.is(error.code, 'ConfigError');
  t.deepEqual(error.context, { dockerHost: 'ftp://x' });
  t.is(exitCodeFor(error), 5);
});
