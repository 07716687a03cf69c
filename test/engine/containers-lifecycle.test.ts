// The containers loop on the real engine, driven through the local task-definition source of a real
// `ecsd` process: dependencies over a shared volume, exit codes, OOM, essential exits, stop escalation.
import test from 'ava';
import { LATE_OOM_GRACE_MS } from '../../reconcilers/containers/plan-late-oom.js';
import { openStoreReadOnly } from '../../src/store/index.js';
import { AgentProcess, docker, TEST_IMAGE } from '../helpers/agent-process.js';

async function withAgent(t: { teardown(fn: () => Promise<void>): void }): Promise<AgentProcess> {
  const agent = new AgentProcess();
  t.teardown(() => agent.cleanup());
  await agent.start();
  return agent;
}

test('a dependent reads what its SUCCESS dependency wrote to a shared task volume', async (t) => {
  const agent = await withAgent(t);
  agent.writeTaskDefinition('share.json', {
    family: 'share',
    memory: '256',
    volumes: [{ name: 'scratch' }],
    containerDefinitions: [
      {
        name: 'writer',
        image: TEST_IMAGE,
        essential: false,
        command: ['sh', '-c', 'echo written-by-writer > /data/msg'],
        mountPoints: [{ sourceVolume: 'scratch', containerPath: '/data' }],
      },
      {
        name: 'reader',
        image: TEST_IMAGE,
        essential: true,
        command: ['sh', '-c', 'cat /data/msg; exec sleep 3600'],
        mountPoints: [{ sourceVolume: 'scratch', containerPath: '/data', readOnly: true }],
        dependsOn: [{ containerName: 'writer', condition: 'SUCCESS' }],
      },
    ],
  });
  const task = await agent.waitForTask('share', (task) => task.KnownStatus === 'RUNNING');
  const writer = task.Containers.find((c) => c.Name === 'writer')!;
  const reader = task.Containers.find((c) => c.Name === 'reader')!;
  t.is(writer.KnownStatus, 'STOPPED');
  t.is(writer.ExitCode, 0);
  t.is(reader.KnownStatus, 'RUNNING');
  t.is(await docker('logs', reader.DockerId), 'written-by-writer');
});

test('an essential container exit code is propagated and stops the task', async (t) => {
  const agent = await withAgent(t);
  agent.writeTaskDefinition('exit42.json', {
    family: 'exit42',
    memory: '256',
    containerDefinitions: [
      { name: 'main', image: TEST_IMAGE, essential: true, command: ['sh', '-c', 'sleep 1; exit 42'] },
      {
        name: 'sidecar',
        image: TEST_IMAGE,
        essential: false,
        command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
      },
    ],
  });
  const task = await agent.waitForTask('exit42', (task) => task.KnownStatus === 'STOPPED');
  const main = task.Containers.find((c) => c.Name === 'main')!;
  const sidecar = task.Containers.find((c) => c.Name === 'sidecar')!;
  t.is(main.ExitCode, 42);
  t.is(sidecar.KnownStatus, 'STOPPED', 'the essential exit stopped the non-essential sidecar too');
  t.is(task.DesiredStatus, 'STOPPED');
});

test('a non-essential container exiting leaves the task running', async (t) => {
  const agent = await withAgent(t);
  agent.writeTaskDefinition('nonessential.json', {
    family: 'nonessential',
    memory: '256',
    containerDefinitions: [
      { name: 'main', image: TEST_IMAGE, essential: true, command: ['sleep', '3600'] },
      { name: 'oneshot', image: TEST_IMAGE, essential: false, command: ['sh', '-c', 'exit 3'] },
    ],
  });
  const task = await agent.waitForTask('nonessential', (task) =>
    task.Containers.some((c) => c.Name === 'oneshot' && c.KnownStatus === 'STOPPED'),
  );
  t.is(task.KnownStatus, 'RUNNING');
  t.is(task.Containers.find((c) => c.Name === 'oneshot')?.ExitCode, 3);
  t.is(task.Containers.find((c) => c.Name === 'main')?.KnownStatus, 'RUNNING');
});

test('a container killed by the OOM killer is reported with OutOfMemoryError', async (t) => {
  const agent = await withAgent(t);
  agent.writeTaskDefinition('oom.json', {
    family: 'oom',
    memory: '256',
    containerDefinitions: [
      // `tail /dev/zero` buffers an endless line: memory grows until the 8 MiB limit kills it.
      { name: 'hog', image: TEST_IMAGE, essential: true, memory: 8, command: ['tail', '/dev/zero'] },
    ],
  });
  const task = await agent.waitForTask('oom', (task) => task.KnownStatus === 'STOPPED');
  const hog = task.Containers[0]!;
  t.regex(hog.Reason ?? '', /^OutOfMemoryError: Container killed due to memory usage/);
  t.is(hog.ExitCode, 137);
});

test('an exit 137 the OOM killer did not cause is reported without a reason once a late OOM report is ruled out', async (t) => {
  const agent = await withAgent(t);
  agent.writeTaskDefinition('sigkilled.json', {
    family: 'sigkilled',
    memory: '256',
    // Exit status 137 exactly as a SIGKILL leaves it, with Docker's OOMKilled false.
    containerDefinitions: [{ name: 'main', image: TEST_IMAGE, essential: true, command: ['sh', '-c', 'exit 137'] }],
  });
  const task = await agent.waitForTask('sigkilled', (task) => task.KnownStatus === 'STOPPED');
  const main = task.Containers[0]!;
  t.is(main.ExitCode, 137);
  t.falsy(main.Reason);
  // Recorded only from an inspect made after the grace: the plan that recorded the exit (and stamped the
  // task's executionStoppedAt with its own time) ran at least that long after Docker's FinishedAt.
  const store = openStoreReadOnly({ dataDir: agent.dataDir });
  t.truthy(store);
  try {
    const finishedAtMs = store?.listContainers(task.Arn)[0]?.finishedAtMs ?? Number.NaN;
    const executionStoppedAtMs = store?.getTask(task.Arn)?.executionStoppedAtMs ?? Number.NaN;
    t.true(
      executionStoppedAtMs >= finishedAtMs + LATE_OOM_GRACE_MS,
      `recorded ${executionStoppedAtMs - finishedAtMs} ms after the container finished`,
    );
  } finally {
    store?.close();
  }
});

test('removing the task file stops it; a container ignoring SIGTERM is killed after stopTimeout', async (t) => {
  const agent = await withAgent(t);
  agent.writeTaskDefinition('stubborn.json', {
    family: 'stubborn',
    memory: '256',
    containerDefinitions: [
      // busybox sleep as PID 1 ignores SIGTERM, so only the SIGKILL after the grace period ends it.
      { name: 'sleeper', image: TEST_IMAGE, essential: true, stopTimeout: 2, command: ['sleep', '3600'] },
    ],
  });
  const running = await agent.waitForTask('stubborn', (task) => task.KnownStatus === 'RUNNING');
  const started = Date.now();
  agent.removeTaskDefinition('stubborn.json');
  const stopped = await agent.waitForTask('stubborn', (task) => task.KnownStatus === 'STOPPED');
  t.is(stopped.Arn, running.Arn);
  t.is(stopped.Containers[0]?.ExitCode, 137, 'SIGKILL after the grace period');
  t.true(Date.now() - started >= 2_000, 'the grace period was honoured before SIGKILL');
  t.is(await docker('inspect', '--format', '{{.State.Status}}', running.Containers[0]!.DockerId), 'exited');
});

test('a HEALTHY dependency gates its dependent until Docker reports the health check passing', async (t) => {
  const agent = await withAgent(t);
  agent.writeTaskDefinition('healthy.json', {
    family: 'healthy',
    memory: '256',
    containerDefinitions: [
      {
        name: 'db',
        image: TEST_IMAGE,
        essential: true,
        // Healthy only once the marker exists, two seconds in: the first checks fail.
        command: ['sh', '-c', 'sleep 2; touch /tmp/ready; exec sleep 3600'],
        healthCheck: { command: ['CMD-SHELL', 'test -f /tmp/ready'], interval: 5, startPeriod: 1, retries: 3 },
      },
      {
        name: 'app',
        image: TEST_IMAGE,
        essential: true,
        command: ['sleep', '3600'],
        dependsOn: [{ containerName: 'db', condition: 'HEALTHY' }],
      },
    ],
  });
  // The view learns health from the health_status event (the periodic relist is minutes away).
  const task = await agent.waitForTask('healthy', (task) => task.KnownStatus === 'RUNNING', 60_000);
  const db = task.Containers.find((c) => c.Name === 'db')!;
  const app = task.Containers.find((c) => c.Name === 'app')!;
  t.is(await docker('inspect', '-f', '{{.State.Health.Status}}', db.DockerId), 'healthy');
  t.is(app.KnownStatus, 'RUNNING');
  const startedAt = (id: string) => docker('inspect', '-f', '{{.State.StartedAt}}', id);
  t.true(Date.parse(await startedAt(app.DockerId)) > Date.parse(await startedAt(db.DockerId)) + 1_500);
});
