// The manager's lifecycle contract: phase order, reverse stop, no half-started agent, one shutdown deadline
// that holds when a part hangs; and the sources-ready gate that holds every deletion back.
import test from 'ava';
import { MANAGER_PHASES, Manager, type ManagerPhase, type Runnable } from '../src/agent/manager.js';
import { SourcesReady } from '../src/agent/sources-ready.js';
import { systemClock } from '../src/clock.js';
import { createCapturingLogger } from '../src/logging/capture.js';
import { FakeClock, flushAsync } from './helpers/fake-clock.js';

function recordingPart(name: string, journal: string[], overrides: Partial<Runnable> = {}): Runnable {
  return {
    name,
    start: () => {
      journal.push(`start ${name}`);
    },
    stop: () => {
      journal.push(`stop ${name}`);
    },
    ...overrides,
  };
}

test('parts start in phase order whatever order they were added in, and stop in reverse', async (t) => {
  const journal: string[] = [];
  const manager = new Manager({
    logger: createCapturingLogger().logger,
    clock: systemClock,
    shutdownDeadlineMs: 1_000,
  });
  const added: ManagerPhase[] = ['servers', 'loops', 'store', 'reporter', 'sources', 'register', 'informer'];
  for (const phase of added) manager.add(phase, recordingPart(phase, journal));
  await manager.start();
  t.is(manager.state, 'running');
  await manager.stop();
  t.is(manager.state, 'stopped');
  t.deepEqual(journal, [
    ...MANAGER_PHASES.map((phase) => `start ${phase}`),
    ...[...MANAGER_PHASES].reverse().map((phase) => `stop ${phase}`),
  ]);
});

test('a part that fails to start stops the parts already started, and nothing after it starts', async (t) => {
  const journal: string[] = [];
  const manager = new Manager({
    logger: createCapturingLogger().logger,
    clock: systemClock,
    shutdownDeadlineMs: 1_000,
  });
  manager.add('store', recordingPart('store', journal));
  manager.add('informer', recordingPart('informer', journal));
  manager.add('sources', {
    ...recordingPart('sources', journal),
    start: () => {
      throw new Error('tasks directory unreadable');
    },
  });
  manager.add('loops', recordingPart('loops', journal));
  await t.throwsAsync(manager.start(), { message: 'tasks directory unreadable' });
  t.deepEqual(journal, ['start store', 'start informer', 'stop informer', 'stop store']);
  t.is(manager.state, 'stopped');
});

test('shutdown ends at its deadline even when a part never finishes stopping, and later parts still stop', async (t) => {
  const clock = new FakeClock();
  const journal: string[] = [];
  const capture = createCapturingLogger();
  const manager = new Manager({ logger: capture.logger, clock, shutdownDeadlineMs: 5_000 });
  const deadlines: number[] = [];
  manager.add('store', recordingPart('store', journal));
  // A loop whose in-flight Docker call hangs: its stop never resolves.
  manager.add('loops', {
    ...recordingPart('hung-loop', journal),
    stop: (deadlineMs) => {
      deadlines.push(deadlineMs);
      journal.push('stop hung-loop');
      return new Promise<void>(() => {});
    },
  });
  await manager.start();
  let done = false;
  const stopped = manager.stop().then(() => {
    done = true;
  });
  await flushAsync();
  t.false(done, 'still waiting for the hung part');
  t.deepEqual(deadlines, [5_000], 'the part is told how much of the deadline is left');
  await clock.advanceAsync(5_999);
  t.false(done);
  await clock.advanceAsync(1);
  await stopped;
  t.true(done);
  t.is(manager.state, 'stopped');
  const warning = capture.lines.find((line) => line.msg.startsWith('shutdown deadline passed'));
  t.deepEqual(warning?.fields['parts'], ['hung-loop', 'store']);
});

test('stop is idempotent and a part whose stop throws does not keep the others from stopping', async (t) => {
  const journal: string[] = [];
  const capture = createCapturingLogger();
  const manager = new Manager({ logger: capture.logger, clock: systemClock, shutdownDeadlineMs: 1_000 });
  manager.add('store', recordingPart('store', journal));
  manager.add('reporter', {
    ...recordingPart('reporter', journal),
    stop: () => {
      throw new Error('flush failed');
    },
  });
  await manager.start();
  await Promise.all([manager.stop(), manager.stop()]);
  t.deepEqual(journal, ['start store', 'start reporter', 'stop store']);
  t.true(capture.lines.some((line) => line.level === 'error' && line.fields['part'] === 'reporter'));
});

test('sources-ready opens only once every registered source delivered, and never with no source', (t) => {
  const gate = new SourcesReady();
  t.false(gate.allReady(), 'no source registered: nothing may be deleted yet');
  const local = gate.register('local');
  const acs = gate.register('acs');
  let opened = 0;
  gate.onReady(() => opened++);
  local.markReady();
  local.markReady();
  t.false(gate.allReady());
  t.deepEqual(gate.pending(), ['acs']);
  acs.markReady();
  t.true(gate.allReady());
  t.is(opened, 1);
  let late = 0;
  gate.onReady(() => late++);
  t.is(late, 1, 'a listener added after the gate opened is called at once');
  t.throws(() => gate.register('local'), { message: /already registered/ });
});
